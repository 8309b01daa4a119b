"""Replays the broken and hostile files of tests/data/bad/ through the API and the pages.

Each file gets a 4xx with a message a person can act on, or trains correctly (see the folder's
README.md and manifest.json); never a 500, never an experiment left running, never a
half-written row or file.
"""
import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from webapp.core import runs
from webapp.core.csvsafe import FORMULA_START
from webapp.core.models import Dataset, Experiment, ExperimentEvent, ModelResult
from tests.data.bad.make_corpus import generated_files
from tests.helpers import DATA, synthetic

pytestmark = pytest.mark.django_db
BAD = DATA / "bad"
MANIFEST = json.loads((BAD / "manifest.json").read_text())
FINISHED = ("succeeded", "failed", "cancelled")
_generated = {}


def content_of(name: str) -> bytes:
    if MANIFEST[name].get("generated"):
        if not _generated:
            _generated.update(generated_files(max_upload_mb=1))
        return _generated[name]
    return (BAD / name).read_bytes()


def stored_files() -> set[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(client, name: str):
    return client.post("/api/datasets/", {"file": SimpleUploadedFile(name, content_of(name))})


def start(client, dataset_id: int, target: str, max_models: int = 1):
    body = {"dataset": dataset_id, "target": target, "max_models": max_models, "nfolds": 2, "seed": 1}
    return client.post("/api/experiments/", json.dumps(body), content_type="application/json")


def assert_helpful(response, status: int, says: str):
    assert response.status_code == status, response.content[:300]
    message = response.json()["error"]
    assert says.lower() in message.lower(), message
    assert len(message) > 30 and "Traceback" not in message


def assert_spreadsheet_safe(csv_text: str):
    for cell in re.split(r"[,\n]", csv_text):
        cell = cell.strip('"')
        if cell.startswith(FORMULA_START):
            float(cell)  # only numbers may start with + or -


def test_the_corpus_has_at_least_30_files_and_the_readme_lists_them_all():
    on_disk = {p.name for p in BAD.iterdir()} - {"README.md", "manifest.json", "make_corpus.py"}
    listed = {n for n, spec in MANIFEST.items() if not spec.get("generated")}
    assert on_disk == listed
    assert len(MANIFEST) >= 30
    readme = (BAD / "README.md").read_text()
    assert all(f"| {name} |" in readme for name in MANIFEST)
    assert {spec["outcome"] for spec in MANIFEST.values()} == {"refused", "experiment_refused", "trains"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_bad_file_gets_a_helpful_4xx_or_trains(name, owner_api, settings, monkeypatch):
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda *a, **k: None)
    spec = MANIFEST[name]
    for key, value in spec.get("settings", {}).items():
        setattr(settings, key, value)
    files_before = stored_files()
    response = upload(owner_api, name)
    if spec["outcome"] == "refused":
        assert_helpful(response, spec["status"], spec["says"])
        assert not Dataset.objects.exists() and stored_files() == files_before
        return
    assert response.status_code == 201, response.content[:300]
    dataset_id = response.json()["id"]
    created = start(owner_api, dataset_id, spec["target"], spec.get("max_models", 1))
    if spec["outcome"] == "experiment_refused":
        assert_helpful(created, 400, spec["says"])
        assert not Experiment.objects.exists()
        return
    assert created.status_code == 201, created.content[:300]
    experiment_id = created.json()["id"]
    assert runs.run_experiment(experiment_id, "replay") == "succeeded"
    assert_trained(owner_api, experiment_id, spec)
    assert_scores(owner_api, experiment_id, name, spec)


def assert_trained(client, experiment_id: int, spec: dict):
    body = client.get(f"/api/experiments/{experiment_id}/").json()
    assert body["status"] == "succeeded" and body["task"] == spec["task"], body["error"]
    ids = [r["model_id"] for r in body["leaderboard"]]
    assert ids and len(ids) == len(set(ids)) == ModelResult.objects.filter(
        experiment_id=experiment_id, status="finished").count()
    seqs = list(ExperimentEvent.objects.filter(experiment_id=experiment_id).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    download = client.get(f"/api/experiments/{experiment_id}/leader/download/")
    assert download.status_code == 200 and len(b"".join(download.streaming_content)) > 100


def assert_scores(client, experiment_id: int, name: str, spec: dict):
    content = content_of(name)
    if spec.get("predict_without"):  # a file with only some of the training columns
        content = ("x,other\n" + "".join(f"{i / 10},a\n" for i in range(20))).encode()
    scored = client.post(f"/api/experiments/{experiment_id}/predict/", {"file": SimpleUploadedFile(name, content)})
    assert scored.status_code == 200, scored.content[:300]
    text = scored.content.decode()
    assert text.splitlines()[0].startswith("predict") and len(text.splitlines()) > 10
    assert_spreadsheet_safe(text)
    if spec.get("predict_without"):
        assert "\n" not in scored["X-Missing-Columns"]


def test_formula_labels_come_back_neutralised_in_the_predictions(owner_api, monkeypatch):
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda *a, **k: None)
    dataset_id = upload(owner_api, "formulas.csv").json()["id"]
    experiment_id = start(owner_api, dataset_id, "y").json()["id"]
    runs.run_experiment(experiment_id, "replay")
    scored = owner_api.post(f"/api/experiments/{experiment_id}/predict/",
                            {"file": SimpleUploadedFile("f.csv", content_of("formulas.csv"))})
    text = scored.content.decode()
    assert "'=HYPERLINK" in text and not re.search(r"(^|[,\n])\"?=HYPERLINK", text)


def test_scores_of_hostile_files_get_a_4xx_never_a_500(owner_api, monkeypatch):
    """Every refused file sent to the predict endpoint of a trained experiment."""
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda *a, **k: None)
    good = synthetic("binary", n=80).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("g.csv", good)}).json()["id"]
    experiment_id = start(owner_api, dataset_id, "y").json()["id"]
    assert runs.run_experiment(experiment_id, "replay") == "succeeded"
    owner_api.raise_request_exception = False
    for name, spec in sorted(MANIFEST.items()):
        if spec["outcome"] != "refused" or spec.get("settings"):
            continue
        scored = owner_api.post(f"/api/experiments/{experiment_id}/predict/",
                                {"file": SimpleUploadedFile(name, content_of(name))})
        assert 400 <= scored.status_code < 500, (name, scored.content[:200])
        assert scored.json()["error"], name


def test_the_predict_page_answers_every_bad_file_without_a_500(owner, owner_api, settings, monkeypatch):
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda *a, **k: None)
    settings.MAX_UPLOAD_MB = 1
    good = synthetic("binary", n=80).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("g.csv", good)}).json()["id"]
    experiment_id = start(owner_api, dataset_id, "y").json()["id"]
    assert runs.run_experiment(experiment_id, "replay") == "succeeded"
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    leader = Experiment.objects.get(pk=experiment_id).leader_model_id
    for name in sorted(MANIFEST):
        response = client.post(f"/experiments/{experiment_id}/predict/",
                                {"file": SimpleUploadedFile(name, content_of(name)), "model": leader})
        assert response.status_code in (200, 400, 413), (name, response.status_code)


def test_the_upload_page_answers_every_bad_file_without_a_500(owner, settings):
    settings.MAX_UPLOAD_MB = 1
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    for name, spec in sorted(MANIFEST.items()):
        response = client.post("/", {"file": SimpleUploadedFile(name, content_of(name))})
        if spec["outcome"] == "refused" and not spec.get("settings", {}).get("MAX_ROWS"):
            assert response.status_code == spec["status"], name
            assert b'role="alert"' in response.content, name
        else:
            assert response.status_code in (302, 413), (name, response.status_code)


def test_markup_from_a_file_is_shown_escaped_on_the_pages(owner, owner_api, monkeypatch):
    monkeypatch.setattr("webapp.core.services.enqueue_experiment", lambda *a, **k: None)
    dataset_id = upload(owner_api, "html_in_cells.csv").json()["id"]
    experiment_id = start(owner_api, dataset_id, "y").json()["id"]
    client = Client()
    client.force_login(owner)
    for url in [f"/datasets/{dataset_id}/", f"/experiments/{experiment_id}/", "/"]:
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page and "<img src=x onerror" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/datasets/{dataset_id}/").content.decode()
