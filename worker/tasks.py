"""One Celery task per experiment: claim the row, run the engine, turn its events into rows.

Each worker also runs a recovery pass at start-up and every RECOVERY_SECS (webapp.core.recovery):
runs whose worker died are marked failed, keeping their models, and experiments the broker never
received are sent again.
"""
from __future__ import annotations

import logging
import os
import socket

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
django.setup()

from celery import bootsteps  # noqa: E402
from celery.signals import worker_process_init  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import InterfaceError, OperationalError, close_old_connections  # noqa: E402

from webapp.core import batch, recovery, runs  # noqa: E402
from .celery_app import RUN_EXPERIMENT, SCORE_FILE, app  # noqa: E402

log = logging.getLogger(__name__)


@app.task(name=RUN_EXPERIMENT, bind=True, autoretry_for=(OperationalError, InterfaceError),
          retry_backoff=5, retry_backoff_max=60, max_retries=5)
def run_experiment(self, experiment_id: int) -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return runs.run_experiment(experiment_id, worker)


@app.task(name=SCORE_FILE, autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=5)
def score_file(job_id: int) -> str:
    try:
        return batch.run_job(job_id)
    finally:
        close_old_connections()


def recover() -> None:
    try:
        done = recovery.recover()
        if any(done.values()):
            log.warning("recovery: %(failed)s lost runs marked failed, %(sent)s experiments sent, "
                        "%(jobs_requeued)s scoring jobs started again, %(jobs_failed)s failed", done)
    except Exception:  # the database or broker may be away; the next pass tries again
        log.warning("recovery pass failed", exc_info=True)
    finally:
        close_old_connections()


class Recovery(bootsteps.StartStopStep):
    """The recovery pass, in the worker's main process, on its timer."""
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        log.info("recovery pass now and every %s s (stale after %s s)", settings.RECOVERY_SECS,
                 settings.EXPERIMENT_STALE_SECS)
        recover()
        self.tref = worker.timer.call_repeatedly(settings.RECOVERY_SECS, recover, priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()


app.steps["worker"].add(Recovery)


@worker_process_init.connect
def load_model_libraries(**_) -> None:
    """Each process that runs experiments loads the model libraries once, not within a run's clock."""
    from automl_engine import load_libraries

    load_libraries()
