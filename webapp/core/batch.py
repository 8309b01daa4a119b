"""Scoring a large file in the background: the web request stores it and answers at once, a worker
reads it in chunks of rows (memory stays flat however long the file), writes the predictions as it
goes, and keeps the job's progress on its row for the page and the API to show."""
from __future__ import annotations

import logging
import os
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from automl_engine import DataError
from automl_engine.io import read_csv_chunks

from . import services
from .csvsafe import spreadsheet_safe
from .models import Experiment, ModelResult, PredictionJob
from .scoring import known_values, column_notes, importance_of
from .wording import plain_error

log = logging.getLogger(__name__)
CHUNK_ROWS = 50_000


def is_large(content: bytes) -> bool:
    """More rows than BATCH_SCORING_ROWS (counted as lines: cheap, and close enough to choose the path)."""
    return content.count(b"\n") > settings.BATCH_SCORING_ROWS


def start_job(user, experiment: Experiment, result: ModelResult, name: str, content: bytes) -> PredictionJob:
    with transaction.atomic():
        job = PredictionJob.objects.create(owner=user, experiment=experiment, model_id=result.model_id,
                                           file_name=(name or "rows.csv")[:255], n_rows=max(0, content.count(b"\n") - 1))
        job.input_file.save(f"experiment_{experiment.pk}/job_{job.pk}_input.csv", ContentFile(content), save=True)
        transaction.on_commit(lambda: send_job(job.pk))
    return job


def send_job(job_id: int) -> None:
    from worker.celery_app import enqueue_scoring

    try:
        enqueue_scoring(job_id)
    except Exception:  # the queue is away: say so on the job rather than leave it waiting forever
        log.warning("could not send scoring job %s to the queue", job_id, exc_info=True)
        PredictionJob.objects.filter(pk=job_id, status=PredictionJob.Status.QUEUED).update(
            status=PredictionJob.Status.FAILED, finished_at=timezone.now(),
            error="The job queue could not be reached. Try again in a minute.")


def run_job(job_id: int) -> str:
    """Claim the job (queued -> running), score its file chunk by chunk, store the predictions."""
    claimed = PredictionJob.objects.filter(pk=job_id, status=PredictionJob.Status.QUEUED).update(
        status=PredictionJob.Status.RUNNING, heartbeat_at=timezone.now(), attempts=F("attempts") + 1, rows_done=0)
    if not claimed:
        return "skipped"
    job = PredictionJob.objects.select_related("experiment").get(pk=job_id)
    try:
        rows = _score(job)
    except (DataError, services.InputError) as exc:
        return _fail(job, str(exc))
    except Exception as exc:  # a message, never a job stuck as running
        log.warning("scoring job %s failed", job_id, exc_info=True)
        return _fail(job, "The file could not be scored: " + plain_error(str(exc)))
    PredictionJob.objects.filter(pk=job_id).update(status=PredictionJob.Status.SUCCEEDED, rows_done=rows, n_rows=rows,
                                                   finished_at=timezone.now())
    return "succeeded"


def _fail(job: PredictionJob, message: str) -> str:
    PredictionJob.objects.filter(pk=job.pk).update(status=PredictionJob.Status.FAILED, error=message,
                                                   finished_at=timezone.now())
    return "failed"


def _score(job: PredictionJob) -> int:
    result = ModelResult.objects.get(experiment=job.experiment, model_id=job.model_id)
    model = services.load_result_model(result)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "input.csv")
        with default_storage.open(job.input_file.name, "rb") as fh, open(source, "wb") as out:
            for block in iter(lambda: fh.read(1 << 20), b""):
                out.write(block)
        _, chunks = read_csv_chunks(source, CHUNK_ROWS)
        target = os.path.join(tmp, "predictions.csv")
        rows = 0
        with open(target, "w", newline="", encoding="utf-8") as out:
            for chunk in chunks:
                if rows == 0:  # what the file's columns say, from its first rows
                    notes = column_notes(chunk, model, known_values(job.experiment, model), importance_of(result))
                    PredictionJob.objects.filter(pk=job.pk).update(notes=notes)
                preds = model.predict(chunk)
                spreadsheet_safe(preds).to_csv(out, index=False, header=rows == 0)
                rows += len(preds)
                PredictionJob.objects.filter(pk=job.pk).update(rows_done=rows, heartbeat_at=timezone.now())
        if rows == 0:
            raise DataError("The file has a header but no rows of data.")
        with open(target, "rb") as fh:
            name = default_storage.save(f"predictions/experiment_{job.experiment_id}/job_{job.pk}_predictions.csv",
                                        File(fh))
    PredictionJob.objects.filter(pk=job.pk).update(output_file=name)
    return rows


MAX_ATTEMPTS = 2  # a job whose worker died is started again once; a second loss fails it with the reason


def recover_lost_jobs() -> dict:
    """Running jobs whose worker stopped beating: queued again (their file is kept), or failed after
    MAX_ATTEMPTS. Returns how many of each."""
    from .recovery import stale_cutoff

    requeued = failed = 0
    lost = PredictionJob.objects.filter(status=PredictionJob.Status.RUNNING).exclude(heartbeat_at__gte=stale_cutoff())
    for job in lost:
        if job.attempts < MAX_ATTEMPTS:
            if PredictionJob.objects.filter(pk=job.pk, status=PredictionJob.Status.RUNNING,
                                            attempts=job.attempts).update(status=PredictionJob.Status.QUEUED,
                                                                          rows_done=0):
                log.warning("scoring job %s lost its worker: queued again", job.pk)
                send_job(job.pk)
                requeued += 1
        elif PredictionJob.objects.filter(pk=job.pk, status=PredictionJob.Status.RUNNING).update(
                status=PredictionJob.Status.FAILED, finished_at=timezone.now(),
                error="The worker scoring this file stopped unexpectedly, twice. The file may be too large for "
                      "the worker's memory: try it in smaller parts, or ask the administrator to look at the "
                      "worker's log."):
            failed += 1
    return {"requeued": requeued, "failed": failed}
