"""Drift, in words: rows being scored compared with the rows the model learnt from."""
import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core import drift
from tests.helpers import DATA

KINDS = {"alcohol": "numeric", "density": "numeric", "type": "categorical", "pH": "numeric"}


def training():
    return pd.read_csv(DATA / "wine_quality_train.csv")


def test_a_copy_of_the_training_rows_looks_like_them():
    frame = training()
    report = drift.compare(drift.training_profile(frame, KINDS), frame.sample(600, random_state=1))
    assert report["different"] == [] and "look like the training data" in report["summary"]
    assert all(r["psi"] < 0.1 for r in report["columns"])


def test_a_shifted_copy_names_the_columns_that_moved_and_why():
    frame = training()
    shifted = frame.sample(600, random_state=2).reset_index(drop=True)
    shifted["alcohol"] = shifted["alcohol"] + 3  # stronger wines than any seen
    shifted["type"] = np.where(np.arange(len(shifted)) % 3 == 0, "rosé", shifted["type"])  # a new kind
    shifted.loc[: len(shifted) // 2, "pH"] = np.nan  # a sensor that stopped reporting
    report = drift.compare(drift.training_profile(frame, KINDS), shifted)
    assert report["different"] == ["alcohol", "type", "pH"] or set(report["different"]) == {"alcohol", "type", "pH"}
    by = {r["column"]: r for r in report["columns"]}
    assert by["alcohol"]["psi"] > 1 and by["alcohol"]["outside_range"] > 0.1
    assert "outside the training range" in "; ".join(by["alcohol"]["reasons"])
    assert by["type"]["unseen"] == pytest.approx(1 / 3, abs=0.01) and "never seen" in by["type"]["reasons"][-1]
    assert "missing" in by["pH"]["reasons"][-1] and not by["density"]["different"]
    assert report["summary"].startswith("3 columns look different from the training data")


def test_too_few_rows_say_nothing():
    frame = training()
    assert drift.compare(drift.training_profile(frame, KINDS), frame.head(10)) is None


@pytest.mark.django_db
def test_the_predict_page_and_the_json_endpoint_report_drift(owner_api, client, owner):
    import json

    from webapp.core import runs

    train = training()
    content = train.to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("wine.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "quality", "max_models": 1, "nfolds": 2, "include_algos": ["GLM"]}
    experiment_id = owner_api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    shifted = train.drop(columns=["quality"]).sample(200, random_state=3)
    shifted["alcohol"] += 3
    client.force_login(owner)
    leader = owner_api.get(f"/api/experiments/{experiment_id}/").json()["leader"]
    page = client.post(f"/experiments/{experiment_id}/predict/", {
        "model": leader, "file": SimpleUploadedFile("new.csv", shifted.to_csv(index=False).encode())}).content.decode()
    assert 'id="drift-summary"' in page and "1 column looks different from the training data (alcohol)" in page
    rows = json.loads(shifted.to_json(orient="records"))
    answer = owner_api.post(f"/api/experiments/{experiment_id}/models/{leader}/predict/", json.dumps({"rows": rows}),
                            content_type="application/json").json()
    assert answer["drift"]["different"] == ["alcohol"] and len(answer["predictions"]) == 200
    few = owner_api.post(f"/api/experiments/{experiment_id}/models/{leader}/predict/",
                         json.dumps({"rows": rows[:3]}), content_type="application/json").json()
    assert few["drift"] is None
