"""The one way the app fetches a URL: http(s) only, public addresses only, timeout and size cap.

The address check happens where the socket is opened: the host name is resolved once, every
address it resolves to is checked, and the connection goes to a checked address. So a name that
resolves to a public address for the check and to an internal one for the connection (DNS
rebinding) cannot get through, and every redirect hop is checked the same way. Proxies from the
environment are not used (they would hide the real destination).

Private, loopback and shared addresses are allowed with URL_IMPORT_ALLOW_PRIVATE (local use) or
per network with URL_IMPORT_ALLOWED_NETWORKS. Link-local addresses, where cloud metadata
services live (169.254.169.254, fd00:ec2::254), are never allowed.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlparse

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, NewConnectionError

MAX_REDIRECTS = 5
METADATA = [ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")]


class FetchError(Exception):
    """The URL could not be fetched; the message says why in plain words."""


class BlockedAddress(FetchError):
    pass


# IPv6 forms that carry an IPv4 address in their low 32 bits: NAT64 (well-known and local-use
# prefixes) and the deprecated IPv4-compatible form. The IPv4 address inside is what gets reached.
IPV4_IN_LOW_BITS = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96")]
SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still routed inside some sites


def embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to: mapped, 6to4, Teredo (the client), NAT64 or compatible."""
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr.sixtofour:
        return addr.sixtofour
    if addr.teredo:
        return addr.teredo[1]
    if any(addr in net for net in IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def address_allowed(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        inner = embedded_ipv4(addr)
        if inner is not None:
            return address_allowed(inner)
    if any(addr in net for net in METADATA) or addr.is_multicast or addr.is_unspecified:
        return False
    if addr.is_global and not (isinstance(addr, ipaddress.IPv6Address) and addr in SITE_LOCAL):
        return True
    if settings.URL_IMPORT_ALLOW_PRIVATE:
        return True
    return any(addr in ipaddress.ip_network(n, strict=False) for n in settings.URL_IMPORT_ALLOWED_NETWORKS)


def checked_addresses(host: str, port: int) -> list[tuple]:
    """getaddrinfo for the host, refusing it if any address it resolves to is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host '{host}' could not be found.") from exc
    for info in infos:
        if not address_allowed(ipaddress.ip_address(info[4][0].split("%")[0])):
            raise BlockedAddress("That link points to a private or local network address, which is not allowed.")
    return infos


class _CheckedConnectionMixin:
    def _new_conn(self):
        infos = checked_addresses(self._dns_host, self.port)
        last = None
        for family, socktype, proto, _, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            sock.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
            try:
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class CheckedAdapter(HTTPAdapter):
    """Pools whose connections go only to checked addresses."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": CheckedHTTPConnection}),
            "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": CheckedHTTPSConnection}),
        }


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise FetchError("Only http:// and https:// links can be imported.")
    if not parsed.hostname:
        raise FetchError("That link has no host name.")
    try:
        parsed.port
    except ValueError as exc:
        raise FetchError("That link has an invalid port number.") from exc


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"The file at that link is larger than {max_bytes // (1024 * 1024)} MB.")


def _read_body(response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    while chunk := response.raw.read1(64 * 1024, decode_content=True):  # whatever has arrived
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        if time.monotonic() > deadline:
            raise FetchError(f"Downloading that link took longer than {settings.URL_IMPORT_TIMEOUT} seconds.")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(url: str, max_bytes: int) -> tuple[bytes, str]:
    """Return (content, final URL). Redirects are followed by hand so each hop is checked."""
    current = url.strip()
    deadline = time.monotonic() + settings.URL_IMPORT_TIMEOUT
    with _session() as session:
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(current)
            try:
                response = session.get(current, stream=True, allow_redirects=False,
                                       timeout=settings.URL_IMPORT_TIMEOUT, headers={"User-Agent": "automl-app"})
            except requests.Timeout as exc:
                raise FetchError(f"The server at that link did not answer within {settings.URL_IMPORT_TIMEOUT} "
                                 "seconds.") from exc
            except requests.RequestException as exc:
                raise FetchError(f"The link could not be downloaded ({exc.__class__.__name__}).") from exc
            with response:
                if response.is_redirect:
                    current = urljoin(current, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise FetchError(f"The server answered {response.status_code} for that link.")
                try:
                    return _read_body(response, max_bytes, deadline), current
                except (HTTPError, OSError) as exc:
                    raise FetchError("The download from that link was cut off or timed out.") from exc
    raise FetchError("That link redirects too many times.")
