"""URL import safety: schemes, private and metadata addresses, redirects, DNS rebinding, time and
size caps. Everything is served by local servers; nothing reaches the internet (names that would
resolve elsewhere are refused before any connection, or resolved by a patched getaddrinfo)."""
import gzip
import http.server
import socket
import threading
import time

import pytest

from webapp.core import fetch as fetch_module
from webapp.core.models import Dataset
from tests.helpers import DATA

pytestmark = pytest.mark.django_db
WINE = (DATA / "wine_quality_test.csv").read_bytes()
SECRET = b"secret,y\n" + b"1,2\n" * 20


class Handler(http.server.BaseHTTPRequestHandler):
    hits: list = []
    body = WINE

    def do_GET(self):
        self.hits.append(self.path)
        route = getattr(self, "route_" + self.path.strip("/").split("?")[0].replace("-", "_"), None)
        if route is None:
            return self._send(self.body)
        return route()

    def _send(self, body: bytes, headers=()):
        self.send_response(200)
        for key, value in headers or [("Content-Length", str(len(body)))]:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def route_loop(self):
        self.send_response(302)
        self.send_header("Location", "/loop")
        self.end_headers()

    def route_big(self):
        self._send(b"x,y\n" + b"1,2\n" * 600_000)

    def route_big_unannounced(self):  # no Content-Length: the cap must hold while streaming
        self.send_response(200)
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"1,2\n" * 10_000)

    def route_gzip_bomb(self):
        self._send(gzip.compress(b"1,2\n" * 2_000_000), [("Content-Encoding", "gzip")])

    def route_drip(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"1,2\n" * 25)
            self.wfile.flush()
            time.sleep(0.2)

    def route_silent(self):
        time.sleep(5)

    def log_message(self, *args):
        pass


def serve(host: str, handler=Handler, port: int = 0):
    server = http.server.ThreadingHTTPServer((host, port), type("H", (handler,), {"hits": []}))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def public_server():
    """A server on 127.0.0.1 that the tests allow as if it were public."""
    server = serve("127.0.0.1")
    yield server
    server.shutdown()


@pytest.fixture
def internal_server(public_server):
    """A server standing for an internal service: 127.0.0.2, never allowed, on the same port."""
    server = serve("127.0.0.2", type("Internal", (Handler,), {"body": SECRET}), port=public_server.server_address[1])
    yield server
    server.shutdown()


@pytest.fixture
def allow_public_server(settings):
    settings.URL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def base(server) -> str:
    return f"http://{server.server_address[0]}:{server.server_address[1]}"


def import_url(client, url):
    return client.post("/api/datasets/", {"url": url})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/data.csv", "http://localhost/data.csv", "http://[::1]/data.csv", "http://0.0.0.0/",
    "http://10.1.2.3/data.csv", "http://192.168.0.1/", "http://172.16.5.4/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://0x7f.0.0.1/", "http://127.1/",
    # IPv6 forms that lead to an IPv4 address inside: NAT64, 6to4, IPv4-compatible, Teredo; site-local
    "http://[64:ff9b::a9fe:a9fe]/latest/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b:1::a00:1]/",
    "http://[2002:a9fe:a9fe::1]/", "http://[2002:7f00:1::]/", "http://[::127.0.0.1]/", "http://[::a9fe:a9fe]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "http://[fec0::1]/",
])
def test_private_loopback_link_local_and_metadata_addresses_are_refused(owner_api, url):
    response = import_url(owner_api, url)
    assert response.status_code == 400 and "private or local" in response.json()["error"]
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/x",
                                 "http://[fe80::1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/"])
def test_metadata_addresses_stay_refused_when_private_ones_are_allowed(owner_api, settings, url):
    settings.URL_IMPORT_ALLOW_PRIVATE = True
    assert "private or local" in import_url(owner_api, url).json()["error"]


@pytest.mark.parametrize("url", ["ftp://example.org/a.csv", "file:///etc/passwd", "gopher://x/",
                                 "javascript:alert(1)", "data:text/csv,a,b", "http:///nohost", "http://x:99999/"])
def test_only_http_and_https_links_with_a_host_are_accepted(owner_api, url):
    response = import_url(owner_api, url)
    assert response.status_code == 400 and response.json()["error"]


def test_a_name_resolving_to_any_private_address_is_refused(owner_api, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", resolve)
    response = import_url(owner_api, "http://mixed.example.test/data.csv")
    assert response.status_code == 400 and "private or local" in response.json()["error"]


def test_an_allowed_network_setting_lets_an_internal_server_through(owner_api, public_server, allow_public_server):
    response = import_url(owner_api, f"{base(public_server)}/wine.csv")
    assert response.status_code == 201 and response.json()["n_rows"] == 1292


def test_a_redirect_to_a_private_address_is_refused(owner_api, public_server, internal_server,
                                                    allow_public_server):
    target = f"{base(internal_server)}/secret.csv"

    class Redirecting(Handler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

    redirector = serve("127.0.0.1", Redirecting)
    try:
        response = import_url(owner_api, f"{base(redirector)}/go")
    finally:
        redirector.shutdown()
    assert response.status_code == 400 and "private or local" in response.json()["error"]
    assert internal_server.RequestHandlerClass.hits == []


def test_dns_rebinding_cannot_reach_an_internal_address(owner_api, public_server, internal_server,
                                                        allow_public_server, monkeypatch):
    """The name resolves to the allowed address first and to the internal one afterwards: the
    connection goes to the address that was checked, never to the internal one."""
    real, answers = socket.getaddrinfo, []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example.test":
            return real(host, port, *args, **kwargs)
        answers.append(host)
        address = "127.0.0.1" if len(answers) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", rebinding)
    response = import_url(owner_api, f"http://rebind.example.test:{public_server.server_address[1]}/wine.csv")
    assert internal_server.RequestHandlerClass.hits == []
    assert response.status_code == 201 and response.json()["n_rows"] == 1292


def test_proxies_from_the_environment_are_not_used(owner_api, public_server, allow_public_server, monkeypatch):
    proxy = serve("127.0.0.1")
    monkeypatch.setenv("HTTP_PROXY", base(proxy))
    monkeypatch.setenv("http_proxy", base(proxy))
    try:
        assert import_url(owner_api, f"{base(public_server)}/wine.csv").status_code == 201
    finally:
        proxy.shutdown()
    assert proxy.RequestHandlerClass.hits == [] and public_server.RequestHandlerClass.hits == ["/wine.csv"]


@pytest.mark.parametrize("path", ["/big", "/big-unannounced", "/gzip-bomb"])
def test_downloads_over_the_size_cap_are_refused(owner_api, public_server, allow_public_server, settings, path):
    settings.MAX_UPLOAD_MB = 1
    response = import_url(owner_api, f"{base(public_server)}{path}")
    assert response.status_code == 400 and "larger than 1 MB" in response.json()["error"]
    assert not Dataset.objects.exists()


def test_a_server_that_drips_its_answer_is_cut_off_at_the_time_limit(owner_api, public_server,
                                                                     allow_public_server, settings):
    settings.URL_IMPORT_TIMEOUT = 1
    response = import_url(owner_api, f"{base(public_server)}/drip")
    assert response.status_code == 400 and "longer than 1 seconds" in response.json()["error"]


def test_a_server_that_never_answers_times_out(owner_api, public_server, allow_public_server, settings):
    settings.URL_IMPORT_TIMEOUT = 1
    response = import_url(owner_api, f"{base(public_server)}/silent")
    assert response.status_code == 400 and "did not answer within 1 seconds" in response.json()["error"]


def test_redirect_loops_stop(owner_api, public_server, allow_public_server):
    response = import_url(owner_api, f"{base(public_server)}/loop")
    assert response.status_code == 400 and "redirects too many times" in response.json()["error"]
    assert len(public_server.RequestHandlerClass.hits) == fetch_module.MAX_REDIRECTS + 1


def test_ipv6_addresses_are_judged_by_the_ipv4_address_they_lead_to():
    import ipaddress

    allowed = fetch_module.address_allowed
    assert allowed(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 to 8.8.8.8: public
    assert allowed(ipaddress.ip_address("2002:808:808::1"))  # 6to4 from 8.8.8.8
    assert not allowed(ipaddress.ip_address("64:ff9b::a00:1"))  # NAT64 to 10.0.0.1
    assert allowed(ipaddress.ip_address("2606:4700:4700::1111"))  # plain public IPv6
