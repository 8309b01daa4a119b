"""Static files as a browser gets them without DEBUG: hashed names, compressed, cached for a year;
plotly.js (about 5 MB) only on the pages that draw charts."""
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.helpers import ROOT, synthetic, wait_for

pytestmark = pytest.mark.django_db
YEAR = 365 * 24 * 3600
PLOTLY = re.compile(r'src="(/static/vendor/plotly/plotly\.min\.[0-9a-f]{12}\.js)"')


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def dataset_page(client) -> str:
    csv = synthetic("regression", n=60).to_csv(index=False).encode()
    response = client.post("/", {"file": SimpleUploadedFile("data.csv", csv, "text/csv")})
    assert response.status_code == 302
    page = client.get(response.url)
    assert page.status_code == 200
    return page.content.decode()


def fetched(client, url: str, encoding: str):
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    assert response.status_code == 200, url
    return response, b"".join(response.streaming_content)


def max_age(response) -> int:
    return int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))


def test_plotly_on_a_chart_page_is_hashed_compressed_and_cached_for_a_year(owner_client):
    url = PLOTLY.search(dataset_page(owner_client)).group(1)
    response, body = fetched(owner_client, url, "gzip")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    assert max_age(response) >= YEAR and "immutable" in response["Cache-Control"]
    script = gzip.decompress(body)
    assert len(body) < len(script) / 2 and b"plotly" in script[:2000].lower()
    brotli, _ = fetched(owner_client, url, "gzip, deflate, br")
    assert brotli["Content-Encoding"] == "br" and max_age(brotli) >= YEAR


def test_the_pages_own_scripts_and_styles_are_hashed_and_cached_for_a_year(owner_client):
    html = dataset_page(owner_client)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {a.rsplit(".", 1)[1] for a in assets} >= {"js", "css", "svg"}
    for url in assets:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        response, _ = fetched(owner_client, url, "gzip")
        assert max_age(response) >= YEAR, url


@pytest.mark.parametrize("url", ["/", "/login/", "/signup/", "/account/tokens/"])
def test_pages_without_charts_do_not_load_plotly(owner_client, url):
    client = owner_client if url in ("/", "/account/tokens/") else Client()
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and re.search(r"/static/css/app\.[0-9a-f]{12}\.css", html)
    assert "plotly" not in html


def test_the_run_command_collects_the_static_files_and_gunicorn_serves_them_compressed(tmp_path):
    """`make run`'s path: `manage.py serve` on a fresh data folder, asked for plotly.js over HTTP."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "STATIC_ROOT")}
    env.update(DATA_DIR=str(tmp_path), WEB_WORKERS="1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*manage, "serve", "--no-worker", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), timeout=120, message="the server to answer")
        manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())["paths"]
        login = urllib.request.urlopen(f"{base}/login/").read().decode()
        assert f'/static/{manifest["css/app.css"]}' in login
        request = urllib.request.Request(f'{base}/static/{manifest["vendor/plotly/plotly.min.js"]}',
                                         headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            body = response.read()
            assert response.headers["Content-Encoding"] == "gzip"
            assert int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1)) >= YEAR
        assert len(body) < 2_000_000 and len(gzip.decompress(body)) > 4_000_000
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert "AutoML is running" in output


def _answers(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=5).status == 200
    except OSError:
        return False
