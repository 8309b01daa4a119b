"""The Celery app. It imports nothing of the web app, so the web side can enqueue by task name.

Broker: ``CELERY_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``). Unset, it is Celery's
filesystem transport under ``$DATA_DIR/broker``, which needs no server.
"""
import os
from pathlib import Path

from celery import Celery

RUN_EXPERIMENT = "worker.tasks.run_experiment"
SCORE_FILE = "worker.tasks.score_file"
QUEUE = os.environ.get("EXPERIMENT_QUEUE", "experiments")


def _data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR", Path(__file__).resolve().parent.parent / "data")).resolve()


def broker_settings() -> dict:
    url = os.environ.get("CELERY_BROKER_URL", "").strip()
    if url and not url.startswith("filesystem"):
        # Redis redelivers an unacknowledged task after the visibility timeout; the task's claim
        # makes a second delivery harmless, and the timeout outlasts the longest allowed run.
        return {"broker_url": url, "broker_transport_options": {"visibility_timeout": 4 * 3600}}
    folder = _data_dir() / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"broker_url": "filesystem://", "broker_transport_options": {
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
        "store_processed": False, "polling_interval": 0.5}}


app = Celery("automl", include=["worker.tasks"])
app.conf.update(
    **broker_settings(),
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_routes={RUN_EXPERIMENT: {"queue": QUEUE}, SCORE_FILE: {"queue": QUEUE}},
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=3,
    worker_hijack_root_logger=False,
)


# A broker that is away for a moment is retried briefly; longer, the caller keeps the experiment
# waiting and a worker's recovery pass sends it later (webapp.core.services.send_experiment).
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def enqueue_scoring(job_id: int) -> None:
    app.send_task(SCORE_FILE, args=[job_id], queue=QUEUE, retry=True, retry_policy=PUBLISH_RETRY)


def enqueue_experiment(experiment_id: int, countdown: int = 0) -> None:
    app.send_task(RUN_EXPERIMENT, args=[experiment_id], queue=QUEUE, countdown=countdown or None,
                  retry=True, retry_policy=PUBLISH_RETRY)
