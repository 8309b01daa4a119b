"""Riding out a database that is away for a moment (a restart, a failover, a dropped connection).

The worker wraps each write of a run in :func:`retry_db`: on a connection error it drops the
broken connection, waits, and tries again for up to DB_RETRY_SECS, so a short outage delays a run
instead of losing it. Longer outages raise, and the task's own retry (worker/tasks.py) or the
stale-run recovery takes over.
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError)


def retry_db(fn, *args, **kwargs):
    deadline = time.monotonic() + settings.DB_RETRY_SECS
    delay = 0.5
    while True:
        try:
            return fn(*args, **kwargs)
        except TRANSIENT as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable (%s); retrying in %.1f s", exc.__class__.__name__, delay)
            _drop_connection()
            time.sleep(delay)
            delay = min(2 * delay, 5.0)


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # closing a dead connection may fail too; a new one is opened on next use
        pass
