"""What the results pages show, read from the stored rows: the run's notes, the leader's score in
words, each model's charts and the charts across models."""
from __future__ import annotations

from django.urls import reverse

from . import charts
from .models import Experiment, ModelResult
from .status import leaderboard_rows, run_info
from .wording import METRIC_HELP, METRIC_NAMES, algo_name, metric_name, number, score_in_words


def _baseline(explanation: dict) -> tuple[float | None, float | None]:
    """How far off always guessing the average would be (mean absolute deviation of the actual values)."""
    actual = ((explanation or {}).get("residuals") or {}).get("actual") or []
    values = [v for v in actual if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    return sum(abs(v - mean) for v in values) / len(values), mean


def class_labels(explanation: dict | None) -> list | None:
    return ((explanation or {}).get("confusion_matrix") or {}).get("labels")


def score_sentences(experiment: Experiment, result: ModelResult) -> list[str]:
    baseline_mae, baseline_mean = _baseline(result.explanation)
    return score_in_words(experiment.task, result.metrics, experiment.target, labels=class_labels(result.explanation),
                          baseline_mae=baseline_mae, baseline_mean=baseline_mean)


def model_summary(experiment: Experiment, result: ModelResult) -> dict:
    metric = experiment.sort_metric
    return {"model_id": result.model_id, "algo": result.algo, "algo_name": algo_name(result.algo),
            "sentences": score_sentences(experiment, result), "metric": metric_name(metric),
            "value": number(result.metrics.get(metric), 4), "explained": bool(result.explanation),
            "url": reverse("model", args=[experiment.pk, result.model_id]),
            "download_url": reverse("model-download", args=[experiment.pk, result.model_id])}


def model_features(experiment: Experiment, result: ModelResult) -> list[str]:
    """The columns the model uses, most important first when that is known."""
    importance = (result.explanation or {}).get("variable_importance")
    if importance:
        return [r["feature"] for r in importance]
    dropped = {d["name"] for d in run_info(experiment)["dropped_columns"]}
    return [c["name"] for c in experiment.dataset.columns if c["name"] != experiment.target and c["name"] not in dropped]


def model_chart_payload(experiment: Experiment, result: ModelResult) -> dict:
    """Everything the page needs to draw one model's charts (as JSON)."""
    explanation = result.explanation
    pdp = charts.pdp_charts(explanation, experiment.task, experiment.target)
    payload = {"model_id": result.model_id, "algo_name": algo_name(result.algo),
               "charts": charts.model_charts(explanation, experiment.task, experiment.target),
               "pdp": pdp, "pdp_features": model_features(experiment, result),
               "pdp_default": next(iter(pdp), None),
               "pdp_url": reverse("model-pdp", args=[experiment.pk, result.model_id]),
               "url": reverse("model", args=[experiment.pk, result.model_id]),
               "sentences": score_sentences(experiment, result)}
    if not explanation:
        payload["note"] = ("The charts for this model could not be computed. Partial dependence can still be "
                           "computed below.")
    return payload


def results_context(experiment: Experiment) -> dict:
    """The results section of a finished experiment."""
    rows = leaderboard_rows(experiment)
    if not rows:
        return {"has_results": False}
    results = {r.model_id: r for r in experiment.results.filter(status=ModelResult.Status.FINISHED)}
    leader = results.get(experiment.leader_model_id) or results.get(rows[0]["model_id"])
    across = charts.experiment_charts(experiment.explanation, rows, experiment.sort_metric, leader.model_id)
    models = [{"model_id": r["model_id"], "algo_name": algo_name(r["algo"]),
               "explained": bool(results[r["model_id"]].explanation) if r["model_id"] in results else False}
              for r in rows]
    return {"has_results": True, "leader": model_summary(experiment, leader), "across_charts": across,
            "models": models,
            "charts_url_template": reverse("model-charts", args=[experiment.pk, "MODEL_ID"])}


def experiment_context(experiment: Experiment) -> dict:
    """Extra context for the experiment page: metric explanations, and the results once it has ended."""
    context = {"metric_help": {k: {"name": METRIC_NAMES[k], "help": METRIC_HELP.get(k, "")} for k in METRIC_NAMES}}
    if experiment.is_finished:
        context.update(results_context(experiment))
    return context
