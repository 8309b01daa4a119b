"""Deleting data: an experiment or a dataset with every file and row it had; the retention command."""
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from webapp.core import runs
from webapp.core.models import Dataset, Experiment, ExperimentEvent, ModelResult
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_media(settings, tmp_path):
    """A storage folder of this test's own: what it finds there is what the test made."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def finished_experiment(api, dataset_id=None) -> tuple[int, int]:
    if dataset_id is None:
        content = synthetic("binary", n=120).to_csv(index=False).encode()
        dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 2, "nfolds": 2}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    api.post(f"/api/experiments/{experiment_id}/predict/",
             {"file": SimpleUploadedFile("new.csv", synthetic("binary", n=20).to_csv(index=False).encode())})
    return dataset_id, experiment_id


def test_deleting_an_experiment_removes_its_rows_and_files_and_keeps_the_dataset(owner_api, other_api):
    before = stored_files()
    dataset_id, experiment_id = finished_experiment(owner_api)
    made = stored_files() - before
    assert any(f"experiment_{experiment_id}/" in f for f in made)  # models, out-of-fold predictions
    assert other_api.delete(f"/api/experiments/{experiment_id}/").status_code == 404
    response = owner_api.delete(f"/api/experiments/{experiment_id}/")
    assert response.status_code == 200 and response.json() == {"deleted": True, "id": experiment_id}
    assert not Experiment.objects.filter(pk=experiment_id).exists()
    assert not ModelResult.objects.filter(experiment_id=experiment_id).exists()
    assert not ExperimentEvent.objects.filter(experiment_id=experiment_id).exists()
    assert not any(f"experiment_{experiment_id}/" in f for f in stored_files())
    assert Dataset.objects.filter(pk=dataset_id).exists()
    assert owner_api.get(f"/api/experiments/{experiment_id}/").status_code == 404


def test_deleting_a_dataset_removes_its_experiments_and_every_file(owner_api):
    before = stored_files()
    dataset_id, first = finished_experiment(owner_api)
    _, second = finished_experiment(owner_api, dataset_id)
    assert owner_api.delete(f"/api/datasets/{dataset_id}/").status_code == 200
    assert not Dataset.objects.exists() and not Experiment.objects.exists() and not ModelResult.objects.exists()
    assert stored_files() == before  # the upload, models, predictions: nothing left on disk


def test_a_running_experiment_is_not_deleted_but_explained(owner_api, monkeypatch):
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda pk, countdown=0: None)
    content = synthetic("binary", n=60).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 1}
    experiment_id = owner_api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    response = owner_api.delete(f"/api/experiments/{experiment_id}/")
    assert response.status_code == 409 and "Stop it first" in response.json()["error"]
    assert owner_api.delete(f"/api/datasets/{dataset_id}/").status_code == 409
    assert Experiment.objects.filter(pk=experiment_id).exists()


def test_the_pages_delete_with_a_message(owner_api, client, owner):
    dataset_id, experiment_id = finished_experiment(owner_api)
    client.force_login(owner)
    assert b'id="delete-experiment"' in client.get(f"/experiments/{experiment_id}/").content
    response = client.post(f"/experiments/{experiment_id}/delete/", follow=True)
    assert "Deleted" in response.content.decode() and not Experiment.objects.exists()
    assert b'id="delete-dataset"' in client.get(f"/datasets/{dataset_id}/").content
    client.post(f"/datasets/{dataset_id}/delete/")
    assert not Dataset.objects.exists()


def test_the_retention_command_deletes_only_old_finished_data(owner_api, capsys):
    old_dataset, old_experiment = finished_experiment(owner_api)
    new_dataset, new_experiment = finished_experiment(owner_api)
    long_ago = timezone.now() - timedelta(days=40)
    Dataset.objects.filter(pk=old_dataset).update(created_at=long_ago)
    Experiment.objects.filter(pk=old_experiment).update(created_at=long_ago)
    call_command("delete_old_data", "--days", "30")
    assert "Deleted 1 datasets and 1 experiments" in capsys.readouterr().out
    assert list(Dataset.objects.values_list("pk", flat=True)) == [new_dataset]
    assert list(Experiment.objects.values_list("pk", flat=True)) == [new_experiment]
