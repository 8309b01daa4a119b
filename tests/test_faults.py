"""Fault injection with real Celery worker processes on the real broker and database.

Workers are killed with SIGKILL in the middle of a run (the whole worker, or only the pool process
running the task), tasks are delivered twice, runs are stopped, two workers serve several users at
once, and (on PostgreSQL) the database refuses connections for a few seconds mid-run. Each test's
workers listen on a queue of their own and use small heartbeat and staleness settings.
"""
import json
import os
import signal
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from automl_engine import load_model
from webapp.core.models import ApiToken, Experiment, ExperimentEvent, ModelResult
from tests.helpers import DATA, WorkerProcess, synthetic, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
STALE_SECS = 4
FAST = {"HEARTBEAT_SECS": "1", "EXPERIMENT_STALE_SECS": str(STALE_SECS), "RECOVERY_SECS": "2", "DEFER_SECS": "1"}
FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture
def queue(monkeypatch, settings):
    """A queue for this test's workers only; the app under test sends there too."""
    name = f"faults-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr("worker.celery_app.QUEUE", name)
    settings.EXPERIMENT_STALE_SECS = STALE_SECS
    return name


@pytest.fixture
def workers(queue):
    started = []

    def start(name, **env):
        worker = WorkerProcess(f"{name}-{queue}", env={**FAST, "EXPERIMENT_QUEUE": queue,
                                                       **{k: str(v) for k, v in env.items()}})
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()


def api_for(user) -> Client:
    _, key = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def create(api, content: bytes, target: str, **options) -> int:
    dataset = api.post("/api/datasets/", {"file": SimpleUploadedFile("data.csv", content)})
    assert dataset.status_code == 201, dataset.content
    body = {"dataset": dataset.json()["id"], "target": target, "seed": 1, **options}
    created = api.post("/api/experiments/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    return created.json()["id"]


def long_run(api, max_models=30) -> int:
    """An experiment that trains for a while: many models on the wine data."""
    return create(api, (DATA / "wine_quality_train.csv").read_bytes(), "quality", max_models=max_models, nfolds=3)


def small_run(api, seed=0) -> int:
    content = synthetic("binary", n=150, seed=seed).to_csv(index=False).encode()
    return create(api, content, "y", max_models=2, nfolds=2, include_algos=["GLM", "DRF"])


def finished_rows(experiment_id) -> list[str]:
    return list(ModelResult.objects.filter(experiment_id=experiment_id, status="finished")
                .values_list("model_id", flat=True))


def wait_until_models_finish(experiment_id, n=1, timeout=180):
    def ready():
        experiment = Experiment.objects.get(pk=experiment_id)
        assert experiment.status in ("queued", "running"), (experiment.status, experiment.error)
        return experiment.status == "running" and len(finished_rows(experiment_id)) >= n
    wait_for(ready, timeout=timeout, message=f"{n} model(s) of experiment {experiment_id} to finish")


def row(experiment_id) -> Experiment:
    return Experiment.objects.get(pk=experiment_id)


def assert_no_duplicates(experiment_id):
    ids = list(ModelResult.objects.filter(experiment_id=experiment_id).values_list("model_id", flat=True))
    assert len(ids) == len(set(ids))
    seqs = list(ExperimentEvent.objects.filter(experiment_id=experiment_id).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert ExperimentEvent.objects.filter(experiment_id=experiment_id, kind="run_started").count() <= 1


def assert_leader_downloads_and_predicts(api, experiment_id, tmp_path):
    response = api.get(f"/api/experiments/{experiment_id}/leader/download/")
    assert response.status_code == 200
    path = tmp_path / f"leader_{experiment_id}.automl"
    path.write_bytes(b"".join(response.streaming_content))
    test = __import__("pandas").read_csv(DATA / "wine_quality_test.csv").head(20)
    assert len(load_model(path).predict(test)) == 20


def test_a_worker_killed_mid_run_is_detected_and_its_finished_models_stay_downloadable(
        owner, workers, tmp_path):
    api = api_for(owner)
    worker = workers("victim")
    experiment_id = long_run(api)
    wait_until_models_finish(experiment_id)
    worker.kill()  # SIGKILL to the worker and its pool process: no clean-up code runs
    kept = finished_rows(experiment_id)
    assert row(experiment_id).status == "running"  # nobody told the database

    body = wait_for(lambda: (lambda b: b if b["status"] != "running" else None)(
        api.get(f"/api/experiments/{experiment_id}/").json()), timeout=60, message="the lost run to be detected")
    assert body["status"] == "failed" and "stopped unexpectedly" in body["error"]
    assert sorted(r["model_id"] for r in body["leaderboard"]) == sorted(kept)
    assert body["leader"] == body["leaderboard"][0]["model_id"]
    assert_leader_downloads_and_predicts(api, experiment_id, tmp_path)
    assert_no_duplicates(experiment_id)


def test_a_new_worker_closes_the_runs_of_a_killed_one_when_it_starts(owner, workers, tmp_path):
    api = api_for(owner)
    victim = workers("victim", EXPERIMENT_STALE_SECS=3600, RECOVERY_SECS=3600)
    experiment_id = long_run(api)
    wait_until_models_finish(experiment_id)
    victim.kill()
    kept = finished_rows(experiment_id)
    heartbeat = row(experiment_id).heartbeat_at
    wait_for(lambda: (timezone.now() - heartbeat).total_seconds() > STALE_SECS + 1, timeout=30,
             message="the heartbeat to go stale")
    workers("rescuer")  # reads nothing through the API: its start-up recovery does the work
    wait_for(lambda: row(experiment_id).status != "running", timeout=60, message="start-up recovery")
    experiment = row(experiment_id)
    assert experiment.status == "failed" and "stopped unexpectedly" in experiment.error
    assert experiment.leader_model_id in kept and sorted(finished_rows(experiment_id)) == sorted(kept)
    assert_leader_downloads_and_predicts(api, experiment_id, tmp_path)


def test_a_killed_pool_process_is_redelivered_and_the_redelivery_closes_the_run(owner, workers, tmp_path,
                                                                                settings):
    settings.EXPERIMENT_STALE_SECS = 3600  # only the redelivered task may close the run here
    api = api_for(owner)
    worker = workers("victim", EXPERIMENT_STALE_SECS=3600, RECOVERY_SECS=3600)
    experiment_id = long_run(api)
    wait_until_models_finish(experiment_id)
    claimant = int(row(experiment_id).worker.rsplit(":", 1)[1])
    assert claimant in worker.pool_pids()
    os.kill(claimant, signal.SIGKILL)
    wait_for(lambda: row(experiment_id).status != "running", timeout=90, message="the redelivered task")
    experiment = row(experiment_id)
    assert experiment.status == "failed" and "stopped unexpectedly" in experiment.error
    assert experiment.leader_model_id in finished_rows(experiment_id)
    assert worker.proc.poll() is None  # the worker itself lives on
    assert worker.log().count("] received") >= 2  # it was handed out again
    assert_leader_downloads_and_predicts(api, experiment_id, tmp_path)
    assert_no_duplicates(experiment_id)


def test_a_redelivered_task_does_not_touch_a_finished_experiment(owner, workers, queue):
    from worker.celery_app import enqueue_experiment

    api = api_for(owner)
    worker = workers("solo")
    experiment_id = small_run(api)
    wait_for(lambda: row(experiment_id).status in FINISHED, timeout=120, message="the run")
    before = row(experiment_id)
    rows = list(ModelResult.objects.filter(experiment_id=experiment_id).values_list("pk", "model_id", "file"))
    events = ExperimentEvent.objects.filter(experiment_id=experiment_id).count()
    enqueue_experiment(experiment_id)
    enqueue_experiment(experiment_id)
    wait_for(lambda: worker.log().count("'skipped'") >= 2, timeout=60, message="both redeliveries")
    after = row(experiment_id)
    assert before.status == after.status == "succeeded"
    assert (after.finished_at, after.leader_model_id, after.worker) == (before.finished_at, before.leader_model_id,
                                                                         before.worker)
    assert list(ModelResult.objects.filter(experiment_id=experiment_id).values_list("pk", "model_id", "file")) == rows
    assert ExperimentEvent.objects.filter(experiment_id=experiment_id).count() == events


def test_an_experiment_made_while_the_broker_was_away_is_sent_and_run_by_a_worker(owner, workers, monkeypatch,
                                                                                   worker_process):
    from kombu.exceptions import OperationalError as BrokerError

    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to the broker. Connection refused.")

    # The session's worker shares the database and makes its own recovery passes (every minute): now
    # and then one of them comes first and sends the experiment to its queue. Either is the recovery.
    sent_before = worker_process.log().count("experiments sent")
    api = api_for(owner)
    with monkeypatch.context() as patch:
        patch.setattr("worker.celery_app.app.send_task", broker_down)
        experiment_id = small_run(api)
    assert row(experiment_id).status == "queued" and row(experiment_id).enqueued_at is None
    worker = workers("rescuer")  # its recovery pass sends it, then it runs it
    wait_for(lambda: row(experiment_id).status in FINISHED, timeout=120, message="the run")
    assert row(experiment_id).status == "succeeded" and row(experiment_id).enqueued_at is not None
    assert "experiments sent" in worker.log() or worker_process.log().count("experiments sent") > sent_before
    assert_no_duplicates(experiment_id)


def test_stop_keeps_the_models_trained_so_far_and_the_leader_downloads(owner, workers, tmp_path):
    api = api_for(owner)
    workers("solo")
    experiment_id = long_run(api)
    wait_until_models_finish(experiment_id)
    assert api.post(f"/api/experiments/{experiment_id}/cancel/").status_code == 200
    wait_for(lambda: row(experiment_id).status in FINISHED, timeout=180, message="the run to stop")
    body = api.get(f"/api/experiments/{experiment_id}/").json()
    assert body["status"] == "cancelled" and body["leader"]
    assert len(body["leaderboard"]) == len(finished_rows(experiment_id)) >= 1
    assert body["progress"]["models_done"] < 30
    assert_leader_downloads_and_predicts(api, experiment_id, tmp_path)
    assert_no_duplicates(experiment_id)


def test_several_users_on_two_workers_all_finish_and_none_is_starved(django_user_model, workers, queue):
    from worker.celery_app import enqueue_experiment

    users = [django_user_model.objects.create_user(n, password="pass-word-123") for n in ("alice", "bob", "carol")]
    apis = {u.username: api_for(u) for u in users}
    w1, w2 = workers("w1", MAX_RUNNING_PER_USER=1), workers("w2", MAX_RUNNING_PER_USER=1)
    alice = [small_run(apis["alice"], seed=i) for i in range(3)]
    bob, carol = small_run(apis["bob"], seed=5), small_run(apis["carol"], seed=6)
    everyone = alice + [bob, carol]
    for experiment_id in everyone:  # every task delivered twice
        enqueue_experiment(experiment_id)
    wait_for(lambda: all(row(pk).status in FINISHED for pk in everyone), timeout=400, message="all runs")

    for pk in everyone:
        experiment = row(pk)
        assert experiment.status == "succeeded", (pk, experiment.error)
        assert experiment.leader_model_id and len(finished_rows(pk)) >= 2
        assert_no_duplicates(pk)
        assert ExperimentEvent.objects.filter(experiment_id=pk, kind="run_started").count() == 1
    runs = sorted((row(pk) for pk in alice), key=lambda e: e.started_at)
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at  # alice never had two running at once
    assert row(bob).started_at < runs[-1].started_at and row(carol).started_at < runs[-1].started_at
    pids = {int(row(pk).worker.rsplit(":", 1)[1]) for pk in everyone}
    assert pids & set(w1.pool_pids()) and pids & set(w2.pool_pids())  # both workers took a share


@pytest.fixture
def database_outage():
    """(begin, end): make the test database refuse connections and drop every open one, this
    test's included; then let connections in again. Done from the server's 'postgres' database."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL, where connections to one database can be refused")
    import psycopg

    name, s = connection.settings_dict["NAME"], connection.settings_dict

    def admin(sql):
        with psycopg.connect(dbname="postgres", host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                             user=s["USER"], password=s["PASSWORD"] or None, autocommit=True) as conn:
            conn.execute(sql)

    def begin():
        connection.close()
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    def end():
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    yield begin, end
    end()


def test_a_database_outage_mid_run_is_ridden_out_and_the_web_app_answers_503(owner, workers, database_outage):
    begin, end = database_outage
    api = api_for(owner)
    browser = Client(raise_request_exception=False)
    browser.force_login(owner)
    # Its heartbeat pauses with the database; the outage (about 3 s) must not read as a dead worker, as it
    # would with the other tests' 4 s on a busy machine (production waits EXPERIMENT_STALE_SECS = 300 s).
    worker = workers("patient", DB_RETRY_SECS=60, EXPERIMENT_STALE_SECS=30)
    content = synthetic("regression", n=2000).to_csv(index=False).encode()
    experiment_id = create(api, content, "y", max_models=3, nfolds=3)
    wait_until_models_finish(experiment_id)
    begin()  # this test's own connection goes too, so the web app under test sees the outage
    api.raise_request_exception = False
    page, answer = browser.get("/"), api.get(f"/api/experiments/{experiment_id}/")
    time.sleep(3)  # the outage lasts a few seconds
    end()
    assert page.status_code == 503 and b"Briefly unavailable" in page.content
    assert answer.status_code == 503 and "try again" in answer.json()["error"]

    wait_for(lambda: row(experiment_id).status in FINISHED, timeout=240, message="the run to finish")
    experiment = row(experiment_id)
    assert experiment.status == "succeeded", experiment.error
    assert "database unavailable" in worker.log()
    assert_no_duplicates(experiment_id)
    assert api.get(f"/api/experiments/{experiment_id}/").status_code == 200
