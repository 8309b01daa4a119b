"""Importing a dataset from an http(s) link, served here by a local server (no internet)."""
import http.server
import threading

import pytest

from tests.helpers import DATA

pytestmark = pytest.mark.django_db


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/wine.csv":
            body = (DATA / "wine_quality_test.csv").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/wine.csv")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def csv_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_link_to_a_csv_becomes_a_dataset(owner_api, csv_server, settings):
    settings.URL_IMPORT_ALLOW_PRIVATE = True
    response = owner_api.post("/api/datasets/", {"url": f"{csv_server}/moved"})
    assert response.status_code == 201, response.content
    assert response.json()["n_rows"] == 1292 and response.json()["name"] == "wine.csv"


def test_private_addresses_are_refused_by_default(owner_api, csv_server):
    response = owner_api.post("/api/datasets/", {"url": f"{csv_server}/wine.csv"})
    assert response.status_code == 400
    assert "private or local" in response.json()["error"]


@pytest.mark.parametrize("url, words", [("ftp://example.org/a.csv", "only http"),
                                        ("file:///etc/passwd", "only http")])
def test_other_schemes_are_refused(owner_api, url, words):
    response = owner_api.post("/api/datasets/", {"url": url})
    assert response.status_code == 400 and words in response.json()["error"].lower()


def test_a_missing_file_at_the_link_is_a_clear_error(owner_api, csv_server, settings):
    settings.URL_IMPORT_ALLOW_PRIVATE = True
    response = owner_api.post("/api/datasets/", {"url": f"{csv_server}/nothing.csv"})
    assert response.status_code == 400 and "404" in response.json()["error"]


def test_the_home_page_imports_a_link(client, owner, csv_server, settings):
    settings.URL_IMPORT_ALLOW_PRIVATE = True
    client.force_login(owner)
    response = client.post("/", {"url": f"{csv_server}/wine.csv"})
    assert response.status_code == 302 and "/datasets/" in response["Location"]
