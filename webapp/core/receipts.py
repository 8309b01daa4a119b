"""An experiment's receipt: what it ran on and with, so that it can be checked and run again."""
from __future__ import annotations

import hashlib

from django.core.files.storage import default_storage

from .models import Experiment
from .options import ExperimentOptions
from .status import run_info

REPRODUCIBLE = ("A number of models and a seed: the same data, settings and library versions give the same "
                "leaderboard, on any machine.")
TIMED = ("A time budget: how many models fit in it depends on the machine's speed and load, so another run "
         "(here or elsewhere) may train a different number of models. For an exact repeat, give a number of models.")


def file_sha256(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def settings_of(experiment: Experiment) -> dict:
    """Every setting of the run, the ones left at their defaults included."""
    opts = ExperimentOptions.from_stored(experiment.options)
    return {"target": experiment.target, "task": experiment.task, "sort_metric": experiment.sort_metric or None,
            "max_models": opts.max_models, "max_runtime_secs": opts.max_runtime_secs, "nfolds": opts.nfolds,
            "seed": opts.seed, "include_algos": opts.include_algos or "all", "exclude_algos": opts.exclude_algos or [],
            "test_split": opts.test_split, "ignore_columns": opts.ignore_columns or [],
            "keep_columns": opts.keep_columns or []}


def receipt(experiment: Experiment) -> dict:
    info = run_info(experiment)
    dataset = experiment.dataset
    timed = bool(experiment.options.get("max_runtime_secs"))
    wall = None
    if experiment.started_at and experiment.finished_at:
        wall = round((experiment.finished_at - experiment.started_at).total_seconds(), 1)
    return {
        "experiment": experiment.pk, "name": str(experiment), "status": experiment.status,
        "data": {"dataset": dataset.pk, "file_name": dataset.name, "sha256": file_sha256(dataset.file.name),
                 "rows": dataset.n_rows, "columns": dataset.n_cols, "rows_used": info.get("n_rows"),
                 "feature_columns_used": info.get("n_features"),
                 "columns_not_used": {d["name"]: d["reason"] for d in info.get("dropped_columns", [])}},
        "settings": settings_of(experiment),
        "split": {"validation": info.get("validation") or None, "why": info.get("validation_reason") or None,
                  "test_rows_share": experiment.options.get("test_split") or 0,
                  "seed": experiment.options.get("seed", 1)},
        "library_versions": info.get("library_versions") or {},
        "machine": info.get("machine") or {},
        "times": {"created": experiment.created_at.isoformat(),
                  "started": experiment.started_at.isoformat() if experiment.started_at else None,
                  "finished": experiment.finished_at.isoformat() if experiment.finished_at else None,
                  "wall_secs": wall},
        "result": {"leader": experiment.leader_model_id or None, "models": experiment.models_done},
        # Each time the search was continued: its budget and how many models there were before it.
        "continued": [{k: c.get(k) for k in ("max_runtime_secs", "max_models", "models_before", "requested_at")}
                      for c in experiment.options.get("continued") or []],
        "reproducible": not timed, "reproducible_because": (TIMED if timed else REPRODUCIBLE) + _continued_note(experiment),
    }


def _continued_note(experiment: Experiment) -> str:
    n = len(experiment.options.get("continued") or [])
    return (f" This experiment was then continued {n} time{'s' * (n != 1)}: running it again repeats the first run, "
            "and continuing that with the same budgets gives the rest.") if n else ""


def run_again(experiment: Experiment, user) -> Experiment:
    """A new experiment with exactly the settings of this one, on the same dataset."""
    from .services import start_experiment

    return start_experiment(user, experiment.dataset, target=experiment.target, task=experiment.task,
                            options=ExperimentOptions.from_stored(experiment.options),
                            name=f"{experiment} (again)"[:255])
