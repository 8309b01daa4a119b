"""Faults handled in process: lost runs, redelivery, the per-user limit, database and broker blips.

The same faults with real worker processes killed for real are in test_faults.py.
"""
import json
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError, connection, connections
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from webapp.core import claims, recovery, runs
from webapp.core.models import Experiment, ExperimentEvent, ModelResult
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db
SMALL = {"max_models": 2, "nfolds": 2, "include_algos": ["GLM", "DRF"]}


class WorkerKilled(BaseException):
    """Stands for SIGKILL inside the process: nothing after it runs, no except clause sees it."""


@pytest.fixture
def sent(monkeypatch):
    """The experiment ids handed to the broker (nothing is really sent)."""
    calls = []
    monkeypatch.setattr("webapp.core.services.enqueue_experiment",
                        lambda pk, countdown=0: calls.append((pk, countdown)))
    return calls


def new_experiment(api, task="binary", n=80, **options) -> int:
    content = synthetic(task, n=n).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", **SMALL, **options}
    response = api.post("/api/experiments/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def crash_after_models(monkeypatch, n: int):
    """The worker process dies right after its n-th model is written."""
    original = runs.Recorder.on_model_finished
    done = []

    def finished_then_die(self, event):
        message = original(self, event)
        done.append(event.model_id)
        if len(done) >= n:
            raise WorkerKilled()
        return message

    monkeypatch.setattr(runs.Recorder, "on_model_finished", finished_then_die)


def run_until_killed(experiment_id, worker) -> None:
    with pytest.raises(WorkerKilled):
        runs.run_experiment(experiment_id, worker)


def age_heartbeat(experiment_id, seconds):
    Experiment.objects.filter(pk=experiment_id).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_a_run_whose_worker_died_is_marked_failed_when_read_and_keeps_its_models(owner_api, sent, monkeypatch,
                                                                                   settings):
    settings.EXPERIMENT_STALE_SECS = 30
    experiment_id = new_experiment(owner_api)
    crash_after_models(monkeypatch, 1)
    run_until_killed(experiment_id, f"{socket.gethostname()}:{dead_pid()}")
    assert owner_api.get(f"/api/experiments/{experiment_id}/").json()["status"] == "running"  # beats are recent
    age_heartbeat(experiment_id, 31)
    body = owner_api.get(f"/api/experiments/{experiment_id}/").json()
    assert body["status"] == "failed" and "stopped unexpectedly" in body["error"]
    assert "1 model it finished" in body["error"]
    finished = ModelResult.objects.get(experiment_id=experiment_id)
    assert body["leader"] == finished.model_id and [r["model_id"] for r in body["leaderboard"]] == [finished.model_id]
    download = owner_api.get(f"/api/experiments/{experiment_id}/leader/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content)


def test_a_redelivered_task_whose_claimant_is_dead_marks_the_run_failed_at_once(owner_api, sent, monkeypatch):
    experiment_id = new_experiment(owner_api)
    crash_after_models(monkeypatch, 1)
    run_until_killed(experiment_id, f"{socket.gethostname()}:{dead_pid()}")
    rows = ModelResult.objects.filter(experiment_id=experiment_id).count()
    assert runs.run_experiment(experiment_id, f"{socket.gethostname()}:99") == "skipped"  # the redelivery
    experiment = Experiment.objects.get(pk=experiment_id)
    assert experiment.status == "failed" and "stopped unexpectedly" in experiment.error
    assert experiment.leader_model_id and ModelResult.objects.filter(experiment_id=experiment_id).count() == rows


def test_a_redelivered_task_leaves_a_live_run_alone(owner_api, sent, monkeypatch):
    experiment_id = new_experiment(owner_api)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        crash_after_models(monkeypatch, 1)
        run_until_killed(experiment_id, f"{socket.gethostname()}:{alive.pid}")
        assert runs.run_experiment(experiment_id, "elsewhere:1") == "skipped"
        assert Experiment.objects.get(pk=experiment_id).status == "running"
        # a claim from another host is judged by its heartbeat alone
        Experiment.objects.filter(pk=experiment_id).update(worker="other-host:1")
        assert runs.run_experiment(experiment_id, "elsewhere:1") == "skipped"
        assert Experiment.objects.get(pk=experiment_id).status == "running"
    finally:
        alive.kill()
        alive.wait()


def test_the_recover_command_marks_only_stale_runs_failed(owner_api, sent, monkeypatch, settings):
    settings.EXPERIMENT_STALE_SECS = 30
    crash_after_models(monkeypatch, 1)
    stale, live = new_experiment(owner_api), new_experiment(owner_api)
    run_until_killed(stale, "other-host:1")
    run_until_killed(live, "other-host:2")
    age_heartbeat(stale, 60)
    call_command("recover_experiments", stdout=open("/dev/null", "w"))
    assert Experiment.objects.get(pk=stale).status == "failed"
    assert Experiment.objects.get(pk=stale).leader_model_id
    assert Experiment.objects.get(pk=live).status == "running"


def test_a_run_marked_lost_while_its_worker_was_only_slow_stays_failed(owner_api, sent, monkeypatch):
    experiment_id = new_experiment(owner_api, max_models=4, include_algos=["GLM", "DRF", "XRT", "GBM"])
    original = runs.Recorder.on_model_finished

    def finished_then_reaped(self, event):
        message = original(self, event)
        experiment = Experiment.objects.get(pk=self.experiment.pk)
        if experiment.status == "running":
            assert recovery.fail_lost_run(experiment, "Test: marked lost.")
        return message

    monkeypatch.setattr(runs.Recorder, "on_model_finished", finished_then_reaped)
    runs.run_experiment(experiment_id, "slow-host:1")
    experiment = Experiment.objects.get(pk=experiment_id)
    assert experiment.status == "failed" and "marked lost" in experiment.error
    # the engine was asked to stop after the model it was on
    assert ModelResult.objects.filter(experiment_id=experiment_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_recorder_rides_out_a_database_blip(owner_api, sent, monkeypatch, settings):
    settings.DB_RETRY_SECS = 20
    experiment_id = new_experiment(owner_api)
    original = ModelResult.objects.update_or_create
    failures = []

    def flaky(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("server closed the connection unexpectedly")
        return original(*args, **kwargs)

    monkeypatch.setattr(ModelResult.objects, "update_or_create", flaky)
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    assert len(failures) == 2
    ids = list(ModelResult.objects.filter(experiment_id=experiment_id).values_list("model_id", flat=True))
    assert len(ids) == len(set(ids)) >= 2
    seqs = list(ExperimentEvent.objects.filter(experiment_id=experiment_id).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_task_retries_when_the_database_is_away_at_claim_time(owner_api, sent, monkeypatch):
    from worker.tasks import run_experiment as task

    experiment_id = new_experiment(owner_api)
    original, calls = claims.claim, []

    def claim_once_unavailable(*args):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return original(*args)

    monkeypatch.setattr(claims, "claim", claim_once_unavailable)
    task.apply(args=[experiment_id])
    assert len(calls) == 2
    assert Experiment.objects.get(pk=experiment_id).status == "succeeded"


@pytest.mark.django_db(transaction=True)  # the experiment is sent when its transaction commits
def test_an_experiment_the_broker_could_not_take_waits_and_is_sent_by_the_recovery(owner_api, monkeypatch):
    sent = []
    monkeypatch.setattr("worker.celery_app.app.send_task", lambda *a, **k: sent.append(k["args"]))
    content = synthetic("binary", n=60).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = json.dumps({"dataset": dataset_id, "target": "y", **SMALL})
    response = owner_api.post("/api/experiments/", body, content_type="application/json")
    assert response.status_code == 201 and "message" not in response.json()
    assert sent == [[response.json()["id"]]]

    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("worker.celery_app.app.send_task", broker_down)
    response = owner_api.post("/api/experiments/", body, content_type="application/json")
    assert response.status_code == 201 and "will start as soon as the queue is back" in response.json()["message"]
    experiment = Experiment.objects.get(pk=response.json()["id"])
    assert experiment.status == "queued" and experiment.enqueued_at is None
    assert recovery.send_unqueued() == 0  # still down, and too new anyway
    Experiment.objects.filter(pk=experiment.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert recovery.send_unqueued() == 0
    sent.clear()
    monkeypatch.setattr("worker.celery_app.app.send_task", lambda *a, **k: sent.append(k["args"]))
    assert recovery.recover() == {"failed": 0, "sent": 1, "jobs_requeued": 0, "jobs_failed": 0}
    assert sent == [[experiment.pk]] and Experiment.objects.get(pk=experiment.pk).enqueued_at is not None
    assert recovery.send_unqueued() == 0  # sent once, not again
    Experiment.objects.filter(pk=experiment.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert recovery.send_unqueued() == 1 and sent[-1] == [experiment.pk]  # waiting too long: sent again


def test_the_web_app_answers_503_while_the_database_is_unreachable(owner, owner_api, monkeypatch):
    browser = Client(raise_request_exception=False)
    browser.force_login(owner)
    api = owner_api
    api.raise_request_exception = False

    def unreachable(self):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(type(connections["default"]), "ensure_connection", unreachable)
    page = browser.get("/")
    assert page.status_code == 503 and b"Briefly unavailable" in page.content
    assert b"try again in a minute" in page.content and page["Retry-After"]
    response = api.get("/api/datasets/")
    assert response.status_code == 503 and "try again" in response.json()["error"]
    monkeypatch.undo()
    assert browser.get("/").status_code == 200


def test_a_user_over_the_running_limit_waits_and_other_users_go_ahead(owner_api, other_api, sent, settings):
    settings.MAX_RUNNING_PER_USER = 1
    first, second = new_experiment(owner_api), new_experiment(owner_api)
    theirs = new_experiment(other_api)
    assert claims.claim(first, "w1:1") == claims.CLAIMED
    assert runs.run_experiment(second, "w2:1") == "deferred"
    assert Experiment.objects.get(pk=second).status == "queued"
    waiting = owner_api.get(f"/api/experiments/{second}/").json()["progress"]["waiting"]
    assert waiting.startswith("waiting: you already have 1 experiment running (at most 1 at once)")
    assert other_api.get(f"/api/experiments/{theirs}/").json()["progress"]["waiting"] == "waiting for a free worker…"
    assert sent[-1] == (second, settings.DEFER_SECS)
    assert claims.claim(theirs, "w2:1") == claims.CLAIMED
    Experiment.objects.filter(pk=first).update(status="succeeded")
    assert claims.claim(second, "w2:1") == claims.CLAIMED


def test_a_dead_run_does_not_count_against_the_limit(owner_api, sent, settings):
    settings.MAX_RUNNING_PER_USER = 1
    settings.EXPERIMENT_STALE_SECS = 30
    first, second = new_experiment(owner_api), new_experiment(owner_api)
    assert claims.claim(first, "gone-host:1") == claims.CLAIMED
    age_heartbeat(first, 60)
    assert claims.claim(second, "w1:1") == claims.CLAIMED
    assert Experiment.objects.get(pk=first).status == "failed"


def test_too_many_waiting_experiments_for_one_user_get_a_429(owner_api, other_api, sent, settings):
    settings.MAX_ACTIVE_PER_USER = 2
    new_experiment(owner_api), new_experiment(owner_api)
    content = synthetic("binary", n=60).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    response = owner_api.post("/api/experiments/", json.dumps({"dataset": dataset_id, "target": "y"}),
                              content_type="application/json")
    assert response.status_code == 429 and "Wait for one to finish" in response.json()["error"]
    assert Experiment.objects.filter(owner__username="owner").count() == 2
    new_experiment(other_api)  # other people are not affected


@pytest.mark.django_db(transaction=True)
def test_racing_claims_never_give_one_user_more_runs_than_the_limit(owner_api, sent, settings):
    settings.MAX_RUNNING_PER_USER = 2
    settings.MAX_ACTIVE_PER_USER = 10
    ids = [new_experiment(owner_api) for _ in range(5)]
    outcomes, barrier = {}, threading.Barrier(len(ids))

    def race(pk):
        barrier.wait()
        try:
            outcomes[pk] = claims.claim(pk, f"w{pk}:1")
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(pk,)) for pk in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == [claims.CLAIMED] * 2 + [claims.DEFERRED] * 3
    assert Experiment.objects.filter(status="running").count() == 2
