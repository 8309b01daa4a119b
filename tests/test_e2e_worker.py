"""End to end through the API with a real Celery worker process on the real broker and database."""
import io
import json

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automl_engine import load_model
from webapp.core.models import ModelResult
from tests.helpers import DATA, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_small_experiment_runs_in_the_worker_and_its_leader_predicts(owner_api, worker_process, tmp_path, settings):
    content = (DATA / "wine_quality_train.csv").read_bytes()
    dataset = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("wine.csv", content, "text/csv")})
    assert dataset.status_code == 201
    created = owner_api.post("/api/experiments/", json.dumps(
        {"dataset": dataset.json()["id"], "target": "quality", "max_models": 3, "nfolds": 3, "seed": 1}),
        content_type="application/json")
    assert created.status_code == 201 and created.json()["status"] == "queued"
    url = f"/api/experiments/{created.json()['id']}/"

    body = wait_for(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        owner_api.get(url).json()), timeout=240, message="the experiment to finish")
    assert body["status"] == "succeeded", body["error"]
    assert body["task"] == "regression" and body["progress"]["fraction"] == 1.0
    algos = {r["algo"] for r in body["leaderboard"]}
    assert {"GLM", "DRF", "GBM", "StackedEnsemble"} <= algos
    for row in body["leaderboard"]:
        assert {"rmse", "mse", "mae", "rmsle", "mean_residual_deviance"} <= set(row)
    ids = [r["model_id"] for r in body["leaderboard"]]
    assert len(ids) == len(set(ids)) == ModelResult.objects.filter(experiment_id=body["id"]).count()
    assert body["leader"] == ids[0]
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"

    download = owner_api.get(f"{url}leader/download/")
    assert download.status_code == 200
    path = tmp_path / "leader.automl"
    path.write_bytes(b"".join(download.streaming_content))
    model = load_model(path)
    test = pd.read_csv(DATA / "wine_quality_test.csv")
    preds = model.predict(test)
    rmse = float(np.sqrt(np.mean((preds["predict"] - test["quality"]) ** 2)))
    assert len(preds) == len(test) and rmse < 0.8  # predicting the mean scores about 0.87

    scored = owner_api.post(f"{url}predict/", {"file": SimpleUploadedFile(
        "new.csv", (DATA / "wine_quality_test.csv").read_bytes(), "text/csv")})
    assert scored.status_code == 200
    api_preds = pd.read_csv(io.BytesIO(scored.content))
    np.testing.assert_allclose(api_preds["predict"], preds["predict"], rtol=1e-9)

    # A file over the batch threshold is scored by the worker in the background: 202, a job to poll, its CSV.
    settings.BATCH_SCORING_ROWS = 50  # the fixture's settings: put back after the test
    job = owner_api.post(f"{url}predict/", {"file": SimpleUploadedFile(
        "many.csv", (DATA / "wine_quality_test.csv").read_bytes(), "text/csv")})
    assert job.status_code == 202 and job.json()["status"] == "queued"
    done = wait_for(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        owner_api.get(job.json()["url"]).json()), timeout=120, message="the scoring job to finish")
    assert done["status"] == "succeeded" and done["rows"] == len(test) and done["progress"] == 1.0
    batch_preds = pd.read_csv(io.BytesIO(b"".join(owner_api.get(done["csv_url"]).streaming_content)))
    np.testing.assert_allclose(batch_preds["predict"], preds["predict"], rtol=1e-9)
