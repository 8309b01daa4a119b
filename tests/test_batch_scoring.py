"""Large files are scored in the background, a chunk of rows at a time, with progress and a CSV at the end."""
import io
import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automl_engine import read_csv
from automl_engine.io import read_csv_chunks
from webapp.core import batch, runs
from webapp.core.models import PredictionJob
from tests.helpers import synthetic


def test_a_file_read_in_chunks_is_the_file_read_whole(tmp_path):
    frame = synthetic("regression", n=1000)
    path = tmp_path / "rows.csv"
    path.write_text(frame.to_csv(index=False, sep=";", decimal=","), encoding="latin-1")
    columns, chunks = read_csv_chunks(path, chunk_rows=300)
    parts = list(chunks)
    assert [len(p) for p in parts] == [300, 300, 300, 100] and columns == list(frame.columns)
    whole = read_csv(path)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_dtype=False)


def experiment_with_a_model(api) -> tuple[int, str]:
    content = synthetic("regression", n=300).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 1, "nfolds": 2, "include_algos": ["GLM"]}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id, api.get(f"/api/experiments/{experiment_id}/").json()["leader"]


@pytest.mark.django_db
def test_a_large_file_answers_202_and_its_job_gives_the_same_predictions(owner_api, other_api, settings, monkeypatch):
    sent = []  # the jobs to run here (no worker in these tests; the end-to-end test has one)
    settings.BATCH_SCORING_ROWS = 100
    experiment_id, leader = experiment_with_a_model(owner_api)
    rows = synthetic("regression", n=400, seed=5).drop(columns=["y", "x2"])  # x2 missing: noted
    response = owner_api.post(f"/api/experiments/{experiment_id}/predict/", {
        "file": SimpleUploadedFile("rows.csv", rows.to_csv(index=False).encode(), "text/csv")})
    assert response.status_code == 202 and response.json()["status"] == "queued"
    sent.append(response.json()["id"])
    url = response.json()["url"]
    assert owner_api.get(f"{url}download/").status_code == 409  # not ready yet
    assert other_api.get(url).status_code == 404
    assert batch.run_job(sent[0]) == "succeeded"
    assert batch.run_job(sent[0]) == "skipped"  # a second delivery changes nothing
    job = owner_api.get(url).json()
    assert job["status"] == "succeeded" and job["rows"] == 400 and job["progress"] == 1.0
    assert any("Missing columns: 'x2'" in n for n in job["notes"])
    scored = pd.read_csv(io.BytesIO(b"".join(owner_api.get(job["csv_url"]).streaming_content)))
    small = owner_api.post(f"/api/experiments/{experiment_id}/models/{leader}/predict/",
                           json.dumps({"rows": json.loads(rows.head(5).to_json(orient="records"))}),
                           content_type="application/json").json()
    np.testing.assert_allclose(scored["predict"].head(5), [p["predict"] for p in small["predictions"]], rtol=1e-9)
    assert other_api.get(job["csv_url"]).status_code == 404


@pytest.mark.django_db
def test_a_bad_large_file_fails_its_job_with_a_message(owner_api, settings, monkeypatch):
    sent = []  # the jobs to run here (no worker in these tests; the end-to-end test has one)
    settings.BATCH_SCORING_ROWS = 10
    experiment_id, _ = experiment_with_a_model(owner_api)
    content = b"just one column\n" + b"x\n" * 50
    response = owner_api.post(f"/api/experiments/{experiment_id}/predict/", {
        "file": SimpleUploadedFile("bad.csv", content, "text/csv")})
    assert response.status_code == 202
    sent.append(response.json()["id"])
    assert batch.run_job(sent[0]) == "failed"
    job = PredictionJob.objects.get(pk=sent[0])
    assert job.status == "failed" and job.error and job.finished_at is not None


@pytest.mark.django_db
def test_a_million_rows_score_with_flat_memory(owner_api, client, owner, settings, monkeypatch):
    sent = []  # the jobs to run here (no worker in these tests; the end-to-end test has one)
    experiment_id, leader = experiment_with_a_model(owner_api)
    rng = np.random.default_rng(0)
    n = 1_000_000
    big = pd.DataFrame({"x1": rng.normal(size=n).round(4), "x2": rng.normal(size=n).round(4),
                        "colour": rng.choice(["red", "green", "blue"], size=n)})
    whole_mb = big.memory_usage(deep=True).sum() / 2**20
    content = big.to_csv(index=False).encode()
    del big
    client.force_login(owner)
    page = client.post(f"/experiments/{experiment_id}/predict/", {
        "model": leader, "file": SimpleUploadedFile("big.csv", content, "text/csv")})
    job_id = PredictionJob.objects.get().pk
    assert page.status_code == 302 and page["Location"] == f"/predictions/{job_id}/"
    sent.append(job_id)
    del content
    tracemalloc.start()
    assert batch.run_job(sent[0]) == "succeeded"
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    job = PredictionJob.objects.get(pk=sent[0])
    assert job.rows_done == n == job.n_rows
    print(f"\n1,000,000 rows scored: peak traced memory {peak / 2**20:.0f} MB; the whole table would be "
          f"{whole_mb:.0f} MB in memory")
    assert peak < whole_mb * 2**20 / 2  # a chunk at a time, never the whole file
    html = client.get(f"/predictions/{sent[0]}/").content.decode()
    assert 'id="job-download"' in html and "succeeded" in html


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_started_again_then_failed_with_the_reason(owner_api, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from webapp.core import recovery

    sent = []
    monkeypatch.setattr(batch, "send_job", sent.append)
    settings.BATCH_SCORING_ROWS = 100
    experiment_id, _ = experiment_with_a_model(owner_api)
    rows = synthetic("regression", n=300, seed=6).drop(columns=["y"])
    response = owner_api.post(f"/api/experiments/{experiment_id}/predict/", {
        "file": SimpleUploadedFile("rows.csv", rows.to_csv(index=False).encode(), "text/csv")})
    job_id = response.json()["id"]
    long_ago = timezone.now() - timedelta(seconds=settings.EXPERIMENT_STALE_SECS + 60)
    # a worker claimed it, scored some rows and was killed: its beats stopped
    PredictionJob.objects.filter(pk=job_id).update(status="running", attempts=1, rows_done=100, heartbeat_at=long_ago)
    assert recovery.recover()["jobs_requeued"] == 1 and sent == [job_id]
    job = PredictionJob.objects.get(pk=job_id)
    assert job.status == "queued" and job.rows_done == 0 and not job.error
    assert batch.recover_lost_jobs() == {"requeued": 0, "failed": 0}  # queued again once, not twice
    assert batch.run_job(job_id) == "succeeded"  # the next worker scores the whole file
    job = PredictionJob.objects.get(pk=job_id)
    assert job.attempts == 2 and job.n_rows == 300 and job.output_file
    # lost a second time: failed, with what to do about it
    PredictionJob.objects.filter(pk=job_id).update(status="running", heartbeat_at=long_ago)
    assert batch.recover_lost_jobs() == {"requeued": 0, "failed": 1}
    job = PredictionJob.objects.get(pk=job_id)
    assert job.status == "failed" and "stopped unexpectedly" in job.error and job.finished_at is not None
    # a job that beats recently is left alone
    PredictionJob.objects.filter(pk=job_id).update(status="running", heartbeat_at=timezone.now(), attempts=0)
    assert batch.recover_lost_jobs() == {"requeued": 0, "failed": 0}
