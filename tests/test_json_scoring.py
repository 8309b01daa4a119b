"""Scoring JSON rows with one model: predictions, probabilities, notes, a bounded model cache."""
import io
import json

import pandas as pd

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core import json_scoring, runs
from webapp.core.models import ModelResult
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


def finished(api, task="binary") -> tuple[int, str]:
    content = synthetic(task, n=150).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 1, "nfolds": 2}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id, api.get(f"/api/experiments/{experiment_id}/").json()["leader"]


def score(api, experiment_id, model_id, body):
    return api.post(f"/api/experiments/{experiment_id}/models/{model_id}/predict/", json.dumps(body),
                    content_type="application/json")


def test_rows_get_predictions_probabilities_and_notes(owner_api, other_api):
    experiment_id, leader = finished(owner_api)
    rows = synthetic("binary", n=50).head(5).drop(columns=["y"]).to_dict(orient="records")
    rows[0]["x1"] = None
    rows[1]["colour"] = "ultraviolet"  # never seen in training
    rows[2]["extra"] = 1
    response = score(owner_api, experiment_id, leader, {"rows": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_id"] == leader and len(body["predictions"]) == 5
    for p in body["predictions"]:
        assert p["predict"] in ("yes", "no") and sum(p["probabilities"].values()) == pytest.approx(1.0)
    notes = " ".join(body["notes"])
    assert "ultraviolet" in notes and "extra" in notes
    # the same rows through the CSV route give the same classes
    csv = owner_api.post(f"/api/experiments/{experiment_id}/predict/", {"file": SimpleUploadedFile(
        "n.csv", synthetic("binary", n=50).head(5).drop(columns=["y"]).to_csv(index=False).encode())})
    assert csv.status_code == 200
    from_csv = pd.read_csv(io.StringIO(csv.content.decode()))
    clean = score(owner_api, experiment_id, leader, {"rows": synthetic("binary", n=50).head(5).drop(
        columns=["y"]).to_dict(orient="records")}).json()["predictions"]
    assert [p["predict"] for p in clean] == from_csv["predict"].tolist()
    assert [p["probabilities"]["yes"] for p in clean] == pytest.approx(from_csv["yes"].tolist())
    assert score(other_api, experiment_id, leader, {"rows": rows}).status_code == 404


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_small_calls_are_answered_through_onnx_with_the_python_models_answers(owner_api, task):
    experiment_id, leader = finished(owner_api, task)
    rows = synthetic(task, n=60, seed=5).drop(columns=["y"])
    rows.loc[0, "x1"] = None
    rows.loc[1, "colour"] = "ultraviolet"
    answer = score(owner_api, experiment_id, leader, {"rows": rows.to_dict(orient="records")}).json()
    result = ModelResult.objects.get(experiment_id=experiment_id, model_id=leader)
    loaded = json_scoring.MODELS.get(result)
    assert loaded.session is not None  # the ONNX form was written, checked and kept loaded
    python = loaded.model.predict(rows.replace({None: float("nan")}))
    got = [p["predict"] for p in answer["predictions"]]
    if task == "regression":
        assert got == pytest.approx(python["predict"].tolist(), rel=1e-6)
    else:
        assert got == python["predict"].tolist()
        for p, (_, row) in zip(answer["predictions"], python.iterrows()):
            assert p["probabilities"] == pytest.approx({c: row[c] for c in p["probabilities"]}, rel=1e-5)


@pytest.mark.parametrize("body, words", [
    ({}, "Send the rows"), ({"rows": []}, "Send the rows"), ({"rows": [1, 2]}, "Row 1 must be an object"),
    ({"rows": [{"x1": [1, 2]}]}, "single values"), ({"rows": [{"nothing": 1}]}, "None of the columns"),
])
def test_bad_rows_get_a_400_with_a_message(owner_api, body, words):
    experiment_id, leader = finished(owner_api, "regression")
    response = score(owner_api, experiment_id, leader, body)
    assert response.status_code == 400 and words in response.json()["error"]


def test_too_many_rows_are_sent_to_the_csv_route(owner_api, monkeypatch):
    monkeypatch.setattr(json_scoring, "MAX_ROWS", 3)
    experiment_id, leader = finished(owner_api, "regression")
    response = score(owner_api, experiment_id, leader, {"rows": [{"x1": 1}] * 4})
    assert response.status_code == 400 and "as a CSV file" in response.json()["error"]


def test_the_model_cache_keeps_a_few_models_and_drops_the_oldest(owner_api, monkeypatch):
    loads = []
    monkeypatch.setattr(json_scoring, "load", lambda r: loads.append(r.file.name) or object())

    class Result:
        def __init__(self, name):
            self.file = type("F", (), {"name": name, "size": 10})()

    cache = json_scoring.ModelCache(items=2)
    a, b, c = Result("a"), Result("b"), Result("c")
    first = cache.get(a)
    assert cache.get(a) is first and loads == ["a"]  # kept loaded
    cache.get(b), cache.get(c)
    assert len(cache) == 2 and loads == ["a", "b", "c"]
    cache.get(a)  # was dropped, loaded again
    assert loads[-1] == "a"


def test_rows_without_the_most_important_column_get_a_plain_warning(owner_api):
    experiment_id, leader = finished(owner_api, "regression")
    rows = synthetic("regression", n=50).head(3).drop(columns=["y", "x1"]).to_dict(orient="records")
    notes = " ".join(score(owner_api, experiment_id, leader, {"rows": rows}).json()["notes"])
    assert "Missing columns: 'x1'" in notes and "Expect clearly worse predictions" in notes
    rows = synthetic("regression", n=50).head(3).drop(columns=["y", "colour"]).to_dict(orient="records")
    notes = " ".join(score(owner_api, experiment_id, leader, {"rows": rows}).json()["notes"])
    assert "Missing columns" in notes
