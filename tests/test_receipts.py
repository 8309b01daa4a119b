"""An experiment's receipt, and running it again exactly."""
import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core import runs
from webapp.core.models import Experiment
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


def finished(api, **options) -> tuple[int, bytes]:
    content = synthetic("binary", n=200).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "nfolds": 3, "seed": 7, **options}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id, content


def test_the_receipt_says_what_the_run_used(owner_api, other_api):
    experiment_id, content = finished(owner_api, max_models=2)
    receipt = owner_api.get(f"/api/experiments/{experiment_id}/receipt/").json()
    assert receipt["data"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert receipt["data"]["rows"] == 200 and receipt["data"]["rows_used"] == 200
    assert receipt["settings"] == {"target": "y", "task": "binary", "sort_metric": "auc", "max_models": 2,
                                   "max_runtime_secs": None, "nfolds": 3, "seed": 7, "include_algos": "all",
                                   "exclude_algos": [], "test_split": 0, "ignore_columns": [], "keep_columns": []}
    assert receipt["split"]["validation"] == "3-fold CV"
    assert {"python", "automl-engine", "scikit-learn", "lightgbm", "pandas", "numpy"} <= set(receipt["library_versions"])
    assert receipt["machine"]["cpus"] >= 1 and receipt["times"]["wall_secs"] >= 0
    assert receipt["reproducible"] is True
    assert other_api.get(f"/api/experiments/{experiment_id}/receipt/").status_code == 404


def test_a_timed_run_says_it_may_not_repeat_exactly(owner_api, client, owner):
    experiment_id, _ = finished(owner_api, max_runtime_secs=10)
    receipt = owner_api.get(f"/api/experiments/{experiment_id}/receipt/").json()
    assert receipt["reproducible"] is False and "time budget" in receipt["reproducible_because"]
    client.force_login(owner)
    page = client.get(f"/experiments/{experiment_id}/").content.decode()
    assert 'id="receipt"' in page and "Not exactly." in page and receipt["data"]["sha256"] in page


def test_running_again_exactly_gives_the_same_leaderboard(owner_api, other_api):
    experiment_id, _ = finished(owner_api, max_models=3, test_split=None)
    assert other_api.post(f"/api/experiments/{experiment_id}/rerun/").status_code == 404
    response = owner_api.post(f"/api/experiments/{experiment_id}/rerun/")
    assert response.status_code == 201
    again = response.json()["id"]
    assert Experiment.objects.get(pk=again).options == Experiment.objects.get(pk=experiment_id).options
    assert runs.run_experiment(again, "test") == "succeeded"

    def board(pk):
        rows = owner_api.get(f"/api/experiments/{pk}/").json()["leaderboard"]
        return [(r["model_id"], round(r["auc"], 10), round(r["logloss"], 10)) for r in rows]

    assert board(again) == board(experiment_id)


def test_the_page_runs_it_again(owner_api, client, owner):
    experiment_id, _ = finished(owner_api, max_models=1)
    client.force_login(owner)
    response = client.post(f"/experiments/{experiment_id}/rerun/")
    again = Experiment.objects.exclude(pk=experiment_id).get()
    assert response.status_code == 302 and response["Location"] == f"/experiments/{again.pk}/"
    assert again.name.endswith("(again)") and again.options == Experiment.objects.get(pk=experiment_id).options
