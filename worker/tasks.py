"""One Celery task per experiment: claim the row, run the engine, turn its events into rows."""
from __future__ import annotations

import logging
import os
import socket

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
django.setup()

from django.db import OperationalError, InterfaceError  # noqa: E402

from webapp.core import runs  # noqa: E402
from .celery_app import RUN_EXPERIMENT, app  # noqa: E402

log = logging.getLogger(__name__)


@app.task(name=RUN_EXPERIMENT, bind=True, autoretry_for=(OperationalError, InterfaceError),
          retry_backoff=5, retry_backoff_max=60, max_retries=5)
def run_experiment(self, experiment_id: int) -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return runs.run_experiment(experiment_id, worker)
