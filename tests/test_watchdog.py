"""A run that hangs while its worker lives (its heartbeat thread keeps going) is found and marked failed."""
import dataclasses
import json
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from sklearn.base import BaseEstimator

from automl_engine.families import FAMILIES
from webapp.core import runs
from webapp.core.models import Experiment
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db(transaction=True)
SLEEP_SECS = 8


class Sleeper(BaseEstimator):
    """A model whose fit hangs (for a while): no event comes from the engine meanwhile."""

    def fit(self, X, y):
        time.sleep(SLEEP_SECS)
        raise RuntimeError("woke up too late")


def start_run(api, monkeypatch, glm, max_models: int) -> tuple[int, threading.Thread, list]:
    """A run in a thread of its own, GBM first and then a GLM replaced by ``glm``: (id, thread, outcome)."""
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda pk, countdown=0: None)
    monkeypatch.setitem(FAMILIES, "GLM", dataclasses.replace(FAMILIES["GLM"], make_model=lambda ctx, c: glm()))
    content = synthetic("regression", n=80).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": max_models, "nfolds": 2,
            "include_algos": ["GBM", "GLM"]}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    outcome = []

    def work():
        try:
            outcome.append(runs.run_experiment(experiment_id, "test"))
        finally:
            connection.close()

    run = threading.Thread(target=work)
    run.start()
    return experiment_id, run, outcome


def test_a_model_that_sleeps_is_caught_by_the_watchdog(owner_api, settings, monkeypatch):
    settings.HEARTBEAT_SECS, settings.WATCHDOG_MIN_SECS, settings.WATCHDOG_FACTOR = 1, 2, 1
    started = time.time()
    experiment_id, run, outcome = start_run(owner_api, monkeypatch, Sleeper, max_models=2)
    while time.time() - started < SLEEP_SECS - 1:
        experiment = Experiment.objects.get(pk=experiment_id)
        if experiment.status == "failed":
            break
        time.sleep(0.3)
    caught_after = time.time() - started
    assert experiment.status == "failed" and "stopped making progress" in experiment.error
    assert caught_after < SLEEP_SECS - 1  # while the model was still asleep
    assert experiment.leader_model_id == "GBM_1"  # the model trained before the hang is kept
    run.join(timeout=60)
    final = Experiment.objects.get(pk=experiment_id)
    assert final.status == "failed" and "stopped making progress" in final.error  # the late end changes nothing


class Slow(BaseEstimator):
    """A model that takes a while and then fits like any other: a Stop arrives while it trains."""

    def fit(self, X, y):
        time.sleep(SLEEP_SECS)
        self.mean_ = float(y.mean())
        return self

    def predict(self, X):
        import numpy as np

        return np.full(len(X), self.mean_)


def test_stop_ends_the_run_at_once_keeping_the_models_so_far(owner_api, monkeypatch):
    experiment_id, run, outcome = start_run(owner_api, monkeypatch, Slow, max_models=3)
    while Experiment.objects.get(pk=experiment_id).current_model != "GLM_1":  # GBM_1 done, the slow one going
        time.sleep(0.1)
    owner_api.post(f"/api/experiments/{experiment_id}/cancel/")
    clicked = time.time()
    while Experiment.objects.get(pk=experiment_id).status == "running" and time.time() - clicked < SLEEP_SECS:
        time.sleep(0.1)
    experiment = Experiment.objects.get(pk=experiment_id)
    assert experiment.status == "cancelled" and time.time() - clicked < SLEEP_SECS - 2  # before the model ended
    assert experiment.leader_model_id == "GBM_1" and experiment.finished_at is not None
    run.join(timeout=60)
    assert outcome == ["cancelled"]
    final = Experiment.objects.get(pk=experiment_id)
    assert list(final.results.values_list("model_id", flat=True)) == ["GBM_1"]  # the model stopped is not kept
    assert final.status == "cancelled" and final.leader_model_id == "GBM_1"
    assert final.events.filter(message__startswith="Stopped by you").exists()
