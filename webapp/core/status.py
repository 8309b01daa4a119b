"""The experiment's state as JSON: shared by the live page's polling and the API."""
from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from .continuation import current_pass
from .models import Experiment, ModelResult
from .wording import algo_name, plain_error, without_exception_names


def leaderboard_rows(experiment: Experiment) -> list[dict]:
    task = experiment.task
    rows = []
    for rank, result in enumerate(experiment.leaderboard(), start=1):
        row = result.to_api(task)
        row["rank"] = rank
        row["is_leader"] = result.model_id == experiment.leader_model_id
        row["download_url"] = reverse("api-model-download", args=[experiment.pk, result.model_id])
        row["url"] = reverse("model", args=[experiment.pk, result.model_id])
        row["algo_name"] = algo_name(result.algo)
        rows.append(row)
    return rows


def failed_rows(experiment: Experiment) -> list[dict]:
    rows = []
    for result in experiment.results.filter(status=ModelResult.Status.FAILED):
        row = result.to_api(experiment.task)
        row["algo_name"] = algo_name(result.algo)
        row["reason"] = plain_error(result.error)
        rows.append(row)
    return rows


def run_info(experiment: Experiment) -> dict:
    """What the engine said when the run started: warnings, and the columns and rows left out."""
    event = experiment.events.filter(kind="run_started").order_by("-seq").first()
    data = event.data if event else {}
    dropped = data.get("dropped_columns") or {}
    return {"warnings": list(data.get("warnings") or []),
            "dropped_columns": [{"name": k, "reason": v} for k, v in dropped.items()],
            "dropped_rows": data.get("dropped_rows") or 0, "n_rows": data.get("n_rows"),
            "n_features": data.get("n_features"), "validation": data.get("validation") or "",
            "library_versions": data.get("library_versions") or {}, "machine": data.get("machine") or {},
            "forecast": _forecast_vs_actual(experiment, data.get("forecast") or {}),
            "validation_reason": data.get("validation_reason") or ""}


def waiting_reason(experiment: Experiment) -> str:
    """Why a queued experiment has not started, in words: the owner's running limit, or a busy worker."""
    if experiment.status != Experiment.Status.QUEUED:
        return ""
    running = Experiment.objects.filter(owner_id=experiment.owner_id, status=Experiment.Status.RUNNING).count()
    if running >= settings.MAX_RUNNING_PER_USER:
        return (f"waiting: you already have {running} experiment{'s' * (running != 1)} running (at most "
                f"{settings.MAX_RUNNING_PER_USER} at once); this one starts when one of them ends")
    return "waiting for a free worker…"


def _forecast_vs_actual(experiment: Experiment, forecast: dict) -> dict:
    """What the cost model expected when the run started, beside what happened (once it is known)."""
    if not forecast:
        return {}
    out = {k: forecast.get(k) for k in ("expected_models", "first_model_secs", "peak_memory_mb", "seconds_per_model")}
    out["validation"] = (forecast.get("validation") or {}).get("description")
    if experiment.is_finished and experiment.started_at and experiment.finished_at:
        out["actual_models"] = experiment.models_done - current_pass(experiment)["models_before"]
        out["actual_wall_secs"] = round((experiment.finished_at - experiment.started_at).total_seconds(), 1)
    return out


def experiment_payload(experiment: Experiment, since: int = 0) -> dict:
    budget = current_pass(experiment)  # a continued experiment shows the budget of its latest pass
    failed = failed_rows(experiment)
    events = [{"seq": e.seq, "kind": e.kind, "message": without_exception_names(e.message),
               "at": e.created_at.isoformat()}
              for e in experiment.events.filter(seq__gt=since)]
    payload = {
        "id": experiment.pk,
        "name": str(experiment),
        "dataset": experiment.dataset_id,
        "target": experiment.target,
        "task": experiment.task,
        "task_reason": experiment.task_reason,
        "sort_metric": experiment.sort_metric,
        "status": experiment.status,
        "cancel_requested": experiment.cancel_requested,
        "progress": {"fraction": 1.0 if experiment.is_finished else experiment.progress,
                     "models_done": experiment.models_done, "current_model": experiment.current_model,
                     "max_models": budget["max_models"], "max_runtime_secs": budget["max_runtime_secs"],
                     "models_before": budget["models_before"], "continued": budget["continued"],
                     "waiting": waiting_reason(experiment)},
        "leaderboard": leaderboard_rows(experiment),
        "failed_models": failed,
        "leader": experiment.leader_model_id or None,
        "error": experiment.error or None,
        "events": events,
        "run_info": run_info(experiment),
        "created_at": experiment.created_at.isoformat(),
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
        "finished_at": experiment.finished_at.isoformat() if experiment.finished_at else None,
    }
    if experiment.leader_model_id:
        payload["leader_download_url"] = reverse("api-leader-download", args=[experiment.pk])
    return payload
