"""Experiments side by side through the API."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core import runs
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


def run(api, dataset_id, **options) -> int:
    body = {"dataset": dataset_id, "target": "y", "nfolds": 2, **options}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id


def test_two_experiments_side_by_side(owner_api, other_api):
    content = synthetic("regression", n=150).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    first = run(owner_api, dataset_id, max_models=1, seed=1)
    second = run(owner_api, dataset_id, max_models=2, seed=2)
    body = owner_api.get(f"/api/compare/?experiments={first},{second}").json()
    assert body["sort_metric"] == "rmse" and body["experiments"] == [first, second]
    assert body["settings_that_differ"] == {"max_models": {str(first): 1, str(second): 2},
                                            "seed": {str(first): 1, str(second): 2}}
    rmse = [r["rmse"] for r in body["leaderboard"]]
    assert rmse == sorted(rmse) and [r["rank"] for r in body["leaderboard"]] == list(range(1, len(rmse) + 1))
    assert {r["experiment"] for r in body["leaderboard"]} == {first, second}
    assert [l["experiment"] for l in body["leaders"]] == [first, second] and all(l["leader"] for l in body["leaders"])
    assert set(body["leader_importance"][str(first)]) == {"x1", "x2", "colour"}
    assert other_api.get(f"/api/compare/?experiments={first},{second}").status_code == 404
    assert owner_api.get(f"/api/compare/?experiments={first}").status_code == 400
    assert owner_api.get("/api/compare/?experiments=a,b").status_code == 400


def test_only_the_same_question_is_compared(owner_api):
    content = synthetic("regression", n=150).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    first = run(owner_api, dataset_id, max_models=1)
    other = run(owner_api, dataset_id, max_models=1, target="x1")
    response = owner_api.get(f"/api/compare/?experiments={first},{other}")
    assert response.status_code == 400 and "same column" in response.json()["error"]
