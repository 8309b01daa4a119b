"""Finding runs whose worker died, and experiments the queue never received.

A running experiment's worker touches ``heartbeat_at`` every HEARTBEAT_SECS. When a worker is
killed (SIGKILL, out of memory, the machine going away) the beats stop; once one is older than
EXPERIMENT_STALE_SECS the run is marked failed with the reason, and the best model it finished
becomes the leader, so everything trained before the crash stays on the leaderboard and
downloadable. This is checked when a worker starts and every RECOVERY_SECS in each worker, when
someone reads the experiment, when a redelivered task finds the run, and by
``manage.py recover_experiments``.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Experiment

log = logging.getLogger(__name__)
SEND_GRACE_SECS = 5  # a new experiment is being sent by the request that created it


def stale_cutoff():
    return timezone.now() - timedelta(seconds=settings.EXPERIMENT_STALE_SECS)


def is_stale(experiment: Experiment) -> bool:
    return (experiment.status == Experiment.Status.RUNNING
            and (experiment.heartbeat_at is None or experiment.heartbeat_at < stale_cutoff()))


def claimant_is_gone(experiment: Experiment, me: str) -> bool:
    """True when the process that claimed this run is known to be dead: it is this very process
    (which is not running it, since it is asking), or a process on this host that no longer
    exists. Claims by other hosts are judged by their heartbeat alone."""
    if experiment.worker == me:
        return True
    host, _, pid = experiment.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _lost_message(n_models: int, why: str) -> str:
    if n_models:
        kept = f"The {n_models} model{'s' if n_models != 1 else ''} it finished before that are kept"
        return f"{why} {kept}; the best one is the leader. Start a new experiment to train more."
    return f"{why} No model had finished yet; start the experiment again."


def fail_lost_run(experiment: Experiment, why: str) -> bool:
    """running -> failed, keeping the finished models. False when the run is no longer running
    (it finished, or someone else marked it) or is no longer claimed by the same worker."""
    leaderboard = experiment.leaderboard()
    leader = leaderboard[0].model_id if leaderboard else ""
    updated = Experiment.objects.filter(pk=experiment.pk, status=Experiment.Status.RUNNING,
                                        worker=experiment.worker).update(
        status=Experiment.Status.FAILED, finished_at=timezone.now(), current_model="",
        leader_model_id=leader, error=_lost_message(len(leaderboard), why))
    if updated:
        log.warning("experiment %s: run by %s lost (%s)", experiment.pk, experiment.worker, why)
    return bool(updated)


def stale_reason() -> str:
    return (f"The worker running this experiment stopped unexpectedly (no sign of life for more than "
            f"{settings.EXPERIMENT_STALE_SECS} seconds).")


def reap_if_stale(experiment: Experiment) -> Experiment:
    """Called when an experiment is read: a dead run is marked failed before it is shown."""
    if is_stale(experiment) and fail_lost_run(experiment, stale_reason()):
        experiment.refresh_from_db()
    return experiment


def reap_stale(queryset=None) -> int:
    """Mark every stale run (in the queryset, default all) failed. Returns how many."""
    queryset = Experiment.objects.all() if queryset is None else queryset
    stale = queryset.filter(status=Experiment.Status.RUNNING).exclude(heartbeat_at__gte=stale_cutoff())
    return sum(fail_lost_run(e, stale_reason()) for e in stale)


def send_unqueued() -> int:
    """Send the experiments whose sending failed (the broker was away), and those waiting since
    longer than QUEUED_RESEND_SECS (their message may have been lost with a worker or a broker
    that kept no copy; a second one is harmless, the claim runs it once). Returns how many."""
    from .services import send_experiment

    now = timezone.now()
    waiting = Experiment.objects.filter(status=Experiment.Status.QUEUED, cancel_requested=False)
    unsent = Q(enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=SEND_GRACE_SECS))
    forgotten = Q(enqueued_at__lt=now - timedelta(seconds=settings.QUEUED_RESEND_SECS))
    ids = list(waiting.filter(unsent | forgotten).values_list("pk", flat=True))
    return sum(send_experiment(pk) for pk in ids)


def recover() -> dict:
    """One recovery pass: stale runs marked failed, unsent or forgotten experiments sent, scoring jobs
    whose worker died started again."""
    from .batch import recover_lost_jobs

    jobs = recover_lost_jobs()
    return {"failed": reap_stale(), "sent": send_unqueued(), "jobs_requeued": jobs["requeued"],
            "jobs_failed": jobs["failed"]}
