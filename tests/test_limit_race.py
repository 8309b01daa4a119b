"""The per-user limit holds under simultaneous requests: the count and the insert are one step."""
import json
import threading

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from webapp.core.models import ApiToken, Experiment
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT = 5
REQUESTS = 40


def test_forty_simultaneous_creates_stop_exactly_at_the_limit(live_server, owner, settings, monkeypatch):
    settings.MAX_ACTIVE_PER_USER = LIMIT
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda pk, countdown=0: None)
    client = Client()
    client.force_login(owner)
    content = synthetic("binary", n=60).to_csv(index=False).encode()
    dataset_id = client.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    _, key = ApiToken.issue(owner)
    body = json.dumps({"dataset": dataset_id, "target": "y", "max_models": 1})
    start = threading.Barrier(REQUESTS)
    statuses = []

    def create():
        start.wait()  # all at once
        response = requests.post(f"{live_server.url}/api/experiments/", data=body, timeout=120,
                                 headers={"Authorization": f"Token {key}", "Content-Type": "application/json"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(REQUESTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Experiment.objects.filter(owner=owner).count() == LIMIT
    assert sorted(statuses) == [201] * LIMIT + [429] * (REQUESTS - LIMIT)
