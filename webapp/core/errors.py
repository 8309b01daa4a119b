"""The answer when something behind the app is away: a clear 503 instead of a bare 500.

Django calls ``handler500`` for any exception no view handled, from inside the ``except`` block,
so the exception is still at hand. A database or broker that cannot be reached gets a 503 that
says to try again (JSON for the API, a page that needs no database for people); anything else is
a plain 500. Neither touches the database: it may be the thing that is down.
"""
from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from kombu.exceptions import OperationalError as BrokerError

UNAVAILABLE = (OperationalError, InterfaceError, BrokerError)
RETRY_AFTER_SECS = 30


def is_unavailable(exc) -> bool:
    return isinstance(exc, UNAVAILABLE)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]
    unavailable = is_unavailable(exc)
    status = 503 if unavailable else 500
    message = ("The service is briefly unavailable (its database or job queue is not answering). Nothing you "
               "saved is lost: try again in a minute." if unavailable else
               "Something went wrong on our side. Try again; if it keeps happening, tell the people who run this site.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=status)
    else:
        html = render_to_string("error.html", {"status": status, "message": message})
        response = HttpResponse(html, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECS)
    return response
