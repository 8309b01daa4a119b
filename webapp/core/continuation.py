"""Continuing a finished experiment: the search goes on where it stopped, on the same folds.

A continuation is a new pass of the same experiment. It is asked with a budget of its own (minutes
or a number of new models), kept in ``options["continued"]`` beside the first run's settings (which
stay as they were, for the receipt), and run by a worker like any experiment: the engine gets the
models trained so far with their out-of-fold predictions, skips the models already tried, trains
new ones on the same validation, and rebuilds the stacked ensembles over all of them.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from automl_engine.families import ENSEMBLE_ALGO

from .models import Experiment, ModelResult

CONTINUABLE = (Experiment.Status.SUCCEEDED, Experiment.Status.CANCELLED, Experiment.Status.FAILED)


def current_pass(experiment: Experiment) -> dict:
    """The budget of the run that is going (or went) last: the latest continuation, else the first run."""
    opts = experiment.options
    passes = opts.get("continued") or []
    source = passes[-1] if passes else opts
    return {"max_models": source.get("max_models"), "max_runtime_secs": source.get("max_runtime_secs"),
            "models_before": source.get("models_before", 0) if passes else 0, "continued": bool(passes)}


def _base_models(experiment: Experiment):
    return experiment.results.filter(status=ModelResult.Status.FINISHED).exclude(algo=ENSEMBLE_ALGO).exclude(file="")


def can_continue(experiment: Experiment) -> bool:
    return experiment.status in CONTINUABLE and _base_models(experiment).exists()


def continue_experiment(experiment: Experiment, user, *, max_runtime_secs=None, max_models=None) -> Experiment:
    """Queue a new pass of a finished experiment with this budget. InputError when it cannot go on."""
    from .services import InputError, reserve_active_slot, send_experiment

    if max_runtime_secs is None and max_models is None:
        raise InputError("Say how much longer to search: 'max_runtime_secs' (seconds) or 'max_models' (new models).")
    if experiment.status not in CONTINUABLE:
        raise InputError("This experiment is still running; it can be continued once it has finished.")
    if not _base_models(experiment).exists():
        raise InputError("This experiment has no trained models to go on from. Run it again instead.")
    if not experiment.events.filter(kind="run_started").exists():
        raise InputError("This experiment never started, so there is nothing to go on from. Run it again instead.")
    with transaction.atomic():
        reserve_active_slot(user)
        row = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if row.status not in CONTINUABLE:
            raise InputError("This experiment is already being continued.")
        options = dict(row.options)
        options["continued"] = list(options.get("continued") or []) + [{
            "max_runtime_secs": max_runtime_secs, "max_models": max_models,
            "models_before": _base_models(row).count(), "requested_at": timezone.now().isoformat(),
            "previous_status": row.status,
            "previous_started_at": row.started_at.isoformat() if row.started_at else None,
            "previous_finished_at": row.finished_at.isoformat() if row.finished_at else None}]
        Experiment.objects.filter(pk=row.pk).update(
            options=options, status=Experiment.Status.QUEUED, cancel_requested=False, error="", traceback="",
            progress=0.0, current_model="", finished_at=None, enqueued_at=None)
        transaction.on_commit(lambda: send_experiment(row.pk))
    experiment.refresh_from_db()
    return experiment


def first_validation(experiment: Experiment) -> dict | None:
    """The validation the first run used (k-fold, holdout or sample), as the engine stated it."""
    event = experiment.events.filter(kind="run_started").order_by("seq").first()
    return ((event.data or {}).get("forecast") or {}).get("validation") if event else None


def earlier_models(experiment: Experiment) -> tuple[list, list[str]]:
    """The models trained so far with their out-of-fold predictions, and the ids of every model tried."""
    from .explanations import load_oof
    from .services import load_result_model

    previous = []
    for result in _base_models(experiment):
        oof = load_oof(result)
        if oof is not None:
            previous.append((load_result_model(result), oof))
    tried = list(experiment.results.values_list("model_id", flat=True))
    return previous, tried
