"""Upload limits from settings, checked while the upload streams in, and hostile requests:
each gets a 4xx with a message, never a 500 and never a half-written row."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client, RequestFactory

from webapp.core import uploads
from webapp.core.models import Dataset, Experiment
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


def csv_of_size(n_bytes: int) -> bytes:
    line = b"0.123456,red,yes\n"
    return b"x,colour,y\n" + line * (n_bytes // len(line) + 1)


def upload(client, content: bytes, name="data.csv"):
    return client.post("/api/datasets/", {"file": SimpleUploadedFile(name, content, "text/csv")})


@pytest.fixture
def bytes_kept(monkeypatch):
    """How many bytes of uploads reached the handlers that keep them (memory or temporary file)."""
    seen = {"bytes": 0}
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original = handler.receive_data_chunk

        def counting(self, raw_data, start, original=original):
            kept = original(self, raw_data, start)
            if kept is None:  # this handler kept the chunk (the memory handler passes large files on)
                seen["bytes"] += len(raw_data)
            return kept

        monkeypatch.setattr(handler, "receive_data_chunk", counting)
    return seen


@pytest.fixture
def undeclared(monkeypatch):
    """As if the body's size were not declared: only the check while it streams can stop it."""
    monkeypatch.setattr(uploads, "MULTIPART_SLACK", 10**12)


def test_an_upload_over_the_size_limit_is_stopped_while_it_streams(owner_api, settings, bytes_kept, undeclared):
    settings.MAX_UPLOAD_MB = 1
    response = upload(owner_api, csv_of_size(5 * MB))
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.json()["error"]
    assert bytes_kept["bytes"] <= 1 * MB  # the rest of the 5 MB was never kept
    assert not Dataset.objects.exists()


def test_an_upload_under_the_limit_goes_through(owner_api, settings):
    settings.MAX_UPLOAD_MB = 1
    frame = synthetic("binary", n=5000)
    content = frame.to_csv(index=False).encode()
    assert len(content) < MB
    assert upload(owner_api, content).status_code == 201


def test_the_upload_page_shows_the_size_limit_message(owner, settings, bytes_kept, undeclared):
    settings.MAX_UPLOAD_MB = 1
    client = Client()
    client.force_login(owner)
    response = client.post("/", {"file": SimpleUploadedFile("big.csv", csv_of_size(3 * MB))})
    assert response.status_code == 413 and b"larger than the 1 MB limit" in response.content
    assert bytes_kept["bytes"] <= 1 * MB and not Dataset.objects.exists()


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("path", ["/api/datasets/", "/"])
def test_a_declared_size_over_the_limit_is_refused_before_the_body_is_read(owner, settings, path):
    settings.MAX_UPLOAD_MB = 1
    request = RequestFactory().post(path, data=b"", content_type="multipart/form-data; boundary=x")
    request.META.update({"CONTENT_LENGTH": str(200 * MB), "wsgi.input": Unreadable()})
    response = uploads.DeclaredSizeLimitMiddleware(lambda r: pytest.fail("the view was called"))(request)
    assert response.status_code == 413 and b"larger than the 1 MB limit" in response.content
    assert response["Connection"] == "close"
    client = Client()
    client.force_login(owner)
    assert client.post(path, {"file": SimpleUploadedFile("big.csv", csv_of_size(3 * MB))}).status_code == 413
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("setting, value, content, words", [
    ("MAX_ROWS", 100, synthetic("binary", n=101).to_csv(index=False).encode(), "more than 100 rows"),
    ("MAX_COLUMNS", 5, b"a,b,c,d,e,f\n" + b"1,2,3,4,5,6\n" * 20, "6 columns; the limit is 5"),
])
def test_row_and_column_limits_come_from_settings(owner_api, settings, setting, value, content, words):
    setattr(settings, setting, value)
    response = upload(owner_api, content)
    assert response.status_code == 413 and words in response.json()["error"]
    assert not Dataset.objects.exists()


def test_exactly_at_the_row_limit_is_accepted(owner_api, settings):
    settings.MAX_ROWS = 100
    assert upload(owner_api, synthetic("binary", n=100).to_csv(index=False).encode()).status_code == 201


def raw_multipart(filename: str, content: bytes) -> bytes:
    """A multipart body with the file name exactly as given (the test client would clean it)."""
    return (b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename.encode() + b"\"\r\n"
            b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--XYZ--\r\n")


def test_hostile_file_names_are_stored_safely(owner_api):
    content = synthetic("binary", n=30).to_csv(index=False).encode()
    names = ["../../../etc/passwd", "..\\..\\windows\\win.ini", "x" * 5000 + ".csv", "é" * 300 + ".csv",
             "y" * 400, "a\x00b.csv",
             "<script>.csv", "..", ".", "", "con.csv", "   ", "\u202egnp.csv"]
    for name in names:
        response = owner_api.post("/api/datasets/", raw_multipart(name, content),
                                  content_type="multipart/form-data; boundary=XYZ")
        assert response.status_code in (201, 400), (name[:40], response.content[:200])
    for dataset in Dataset.objects.all():
        assert ".." not in dataset.file.name and len(dataset.file.name) <= 500 and len(dataset.name) <= 255


def post_json(client, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/experiments/", data, content_type="application/json", **extra)


@pytest.fixture
def dataset_id(owner_api):
    return upload(owner_api, synthetic("binary", n=60).to_csv(index=False).encode()).json()["id"]


@pytest.mark.parametrize("body, status, words", [
    ('{"dataset": 1, "max_models": NaN}', 400, "whole number"),
    ('{"dataset": 1, "max_models": Infinity}', 400, "whole number"),
    ('{"dataset": 1, "max_models": 1e999}', 400, "whole number"),
    ('{"dataset": 1, "max_models": -1}', 400, "between"),
    ('{"dataset": 1, "max_runtime_secs": 1e12}', 400, "between"),
    ('{"dataset": 1, "seed": 1.5}', 400, "whole number"),
    ('{"dataset": 1, "nfolds": 1}', 400, "at least 2"),
    ('{"dataset": 1, "target": ["y"]}', 400, "name the column"),
    ('{"dataset": 1, "sort_metric": "accuracy"}', 400, "unknown sort metric"),
    ('{"dataset": 1, "sort_metric": {"a": 1}}', 400, "must be text"),
    ('{"dataset": 1, "name": ["x"]}', 400, "must be text"),
    ('{"dataset": 1, "include_algos": {"GLM": 1}}', 400, "list of algorithm names"),
    ('{"dataset": 1, "exclude_algos": "GLM,Quantum"}', 400, "unknown algorithm"),
    ('{"dataset": 1, "task": 7}', 400, "'task' must be one of"),
    ('{"dataset": "1"}', 400, "id of one of your datasets"),
    ('{"dataset": true}', 400, "id of one of your datasets"),
    ('{"dataset": 99999999999999999999999999}', 404, "not found"),
    ('{"dataset": -5}', 404, "not found"),
    ('[1, 2, 3]', 400, "json object"),
    ('"just a string"', 400, "json object"),
    ('{"dataset": 1, ', 400, "not valid json"),
    (b'\xff\xfe\x00junk', 400, "not valid json"),
])
def test_hostile_experiment_requests_get_a_4xx_with_a_message(owner_api, dataset_id, body, status, words):
    if isinstance(body, str):
        body = body.replace('"dataset": 1', f'"dataset": {dataset_id}')
        if '"target"' not in body and body.startswith("{") and body.endswith("}"):
            body = body[:-1] + ', "target": "y"}'
    owner_api.raise_request_exception = False
    response = post_json(owner_api, body)
    assert response.status_code == status, response.content[:300]
    assert words in response.json()["error"].lower()
    assert not Experiment.objects.exists()


def test_a_json_body_over_the_memory_limit_gets_a_413(owner_api, dataset_id, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_json(owner_api, {"dataset": dataset_id, "target": "y", "name": "x" * 5000})
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_a_malformed_multipart_body_gets_a_400(owner_api):
    owner_api.raise_request_exception = False
    body = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nx,y\r\n"
    response = owner_api.post("/api/datasets/", body, content_type="multipart/form-data; boundary=")
    assert response.status_code == 400 and response.json()["error"]
    response = owner_api.post("/api/datasets/", body, content_type="multipart/form-data")
    assert response.status_code == 400 and response.json()["error"]


def test_too_many_form_fields_get_a_400(owner_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    owner_api.raise_request_exception = False
    response = owner_api.post("/api/datasets/", {f"f{i}": "x" for i in range(50)})
    assert response.status_code == 400 and response.json()["error"]


def test_wrong_methods_and_missing_files_are_explained(owner_api, dataset_id):
    assert owner_api.delete("/api/datasets/").status_code == 405
    assert owner_api.put(f"/api/experiments/{dataset_id}/").status_code == 405
    response = owner_api.post("/api/datasets/", {})
    assert response.status_code == 400 and "'file'" in response.json()["error"]
    assert owner_api.get("/api/experiments/99999999999999999999999/").status_code == 404
    assert owner_api.get("/api/experiments/1/models/..%2F..%2Fsecret/download/").status_code == 404
