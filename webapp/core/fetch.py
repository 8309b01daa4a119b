"""The one way the app fetches a URL: http(s) only, public addresses only, timeout and size cap."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlparse

import requests
from django.conf import settings

MAX_REDIRECTS = 5


class FetchError(Exception):
    """The URL could not be fetched; the message says why in plain words."""


def _check_host(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise FetchError("Only http:// and https:// links can be imported.")
    if not parsed.hostname:
        raise FetchError("That link has no host name.")
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise FetchError(f"The host '{parsed.hostname}' could not be found.") from exc
    if settings.URL_IMPORT_ALLOW_PRIVATE:
        return
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not addr.is_global or addr.is_multicast:
            raise FetchError("That link points to a private or local network address, which is not allowed.")


def fetch(url: str, max_bytes: int) -> tuple[bytes, str]:
    """Return (content, final URL). Redirects are followed by hand so each hop is checked."""
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        _check_host(current)
        try:
            response = requests.get(current, stream=True, allow_redirects=False,
                                    timeout=settings.URL_IMPORT_TIMEOUT, headers={"User-Agent": "automl-app"})
        except requests.RequestException as exc:
            raise FetchError(f"The link could not be downloaded ({exc.__class__.__name__}).") from exc
        with response:
            if response.is_redirect:
                current = urljoin(current, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                raise FetchError(f"The server answered {response.status_code} for that link.")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"The file at that link is larger than {max_bytes // (1024 * 1024)} MB.")
                chunks.append(chunk)
            return b"".join(chunks), current
    raise FetchError("That link redirects too many times.")
