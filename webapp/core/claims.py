"""Who runs an experiment: the claim, the per-user limit, and what a redelivered task does.

A task claims its experiment with a conditional UPDATE (queued -> running); 0 rows updated means
it is gone, finished, cancelled or someone else's. Claims by one user are serialized by locking
the user's row, so no user ever has more than MAX_RUNNING_PER_USER experiments running: a task
over the limit leaves the experiment queued and sends it again after DEFER_SECS, and the
workers go on with other people's experiments meanwhile.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import recovery
from .models import Experiment

log = logging.getLogger(__name__)
CLAIMED, DEFERRED, SKIPPED = "claimed", "deferred", "skipped"


def claim(experiment_id: int, worker: str) -> str:
    owner_id = Experiment.objects.filter(pk=experiment_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return SKIPPED
    # A dead run of this user's must not count against the limit.
    recovery.reap_stale(Experiment.objects.filter(owner_id=owner_id))
    waiting = Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.QUEUED, cancel_requested=False)
    with transaction.atomic():
        list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk", flat=True))
        running = Experiment.objects.filter(owner_id=owner_id, status=Experiment.Status.RUNNING).count()
        if running >= settings.MAX_RUNNING_PER_USER and waiting.exists():
            return DEFERRED
        now = timezone.now()
        updated = waiting.update(status=Experiment.Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker)
    if updated:
        return CLAIMED
    Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.QUEUED, cancel_requested=True).update(
        status=Experiment.Status.CANCELLED, finished_at=timezone.now(), error="Stopped before it started.")
    return SKIPPED


def defer(experiment_id: int) -> None:
    """Offer the experiment to the workers again later. enqueued_at is cleared first, so that if
    the broker cannot take it now the recovery pass sends it."""
    from .services import send_experiment

    Experiment.objects.filter(pk=experiment_id).update(enqueued_at=None)
    send_experiment(experiment_id, countdown=settings.DEFER_SECS)


def settle_redelivery(experiment_id: int, worker: str) -> None:
    """A task that could not claim its experiment: if the run is marked running by a worker that
    is known to be dead (a killed pool process whose task Celery handed out again) or has gone
    silent, mark it failed now rather than leave it running."""
    experiment = Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.RUNNING).first()
    if experiment is None:
        return
    if recovery.claimant_is_gone(experiment, worker):
        recovery.fail_lost_run(experiment, "The worker running this experiment stopped unexpectedly.")
    else:
        recovery.reap_if_stale(experiment)
