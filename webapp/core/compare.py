"""Experiments side by side: the settings that differ, their leaders, one merged leaderboard ranked on
one metric, and the leaders' variable importance next to each other."""
from __future__ import annotations

from automl_engine.metrics import sort_key

from .access import get_experiment_for_user
from .models import Experiment
from .receipts import settings_of
from .services import InputError
from .status import leaderboard_rows

MAX_COMPARED = 6


def experiments_to_compare(user, ids_text: str) -> list[Experiment]:
    try:
        ids = [int(part) for part in (ids_text or "").split(",") if part.strip()]
    except ValueError:
        raise InputError("'experiments' must be experiment ids separated by commas, e.g. experiments=3,5.")
    ids = list(dict.fromkeys(ids))
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise InputError(f"Compare between 2 and {MAX_COMPARED} experiments: experiments=3,5.")
    experiments = [get_experiment_for_user(user, pk) for pk in ids]  # someone else's: 404
    tasks = {e.task for e in experiments}
    targets = {e.target for e in experiments}
    if len(tasks) > 1 or len(targets) > 1:
        raise InputError("Only experiments that predict the same column, with the same kind of prediction, can be "
                         f"compared (these predict {', '.join(sorted(targets))} as {', '.join(sorted(tasks))}).")
    return experiments


def comparison(experiments: list[Experiment]) -> dict:
    metric = experiments[0].sort_metric or "rmse"
    settings = {e.pk: {**settings_of(e), "dataset": e.dataset.name} for e in experiments}
    keys = list(next(iter(settings.values())))
    differ = {k: {pk: s[k] for pk, s in settings.items()} for k in keys
              if len({repr(s[k]) for s in settings.values()}) > 1}
    merged = []
    for e in experiments:
        for row in leaderboard_rows(e):
            merged.append({"experiment": e.pk, "experiment_name": str(e), **{
                k: row.get(k) for k in ("model_id", "algo", "algo_name", metric, "training_time_ms",
                                        "predict_time_per_row_ms", "is_leader")}})
    merged.sort(key=lambda r: sort_key(metric, r.get(metric)))
    for rank, row in enumerate(merged, start=1):
        row["rank"] = rank
    leaders, importance = [], {}
    for e in experiments:
        leader = e.results.filter(model_id=e.leader_model_id).first() if e.leader_model_id else None
        leaders.append({"experiment": e.pk, "name": str(e), "status": e.status, "leader": e.leader_model_id or None,
                        metric: (leader.metrics or {}).get(metric) if leader else None})
        rows = ((leader.explanation or {}).get("variable_importance") or []) if leader else []
        importance[e.pk] = {r["feature"]: r["importance"] for r in rows}
    return {"task": experiments[0].task, "target": experiments[0].target, "sort_metric": metric,
            "experiments": [e.pk for e in experiments], "settings_that_differ": differ, "leaders": leaders,
            "leaderboard": merged, "leader_importance": importance}
