"""Pages after a run: the results section, one model's page, its charts, partial dependence on demand."""
from __future__ import annotations

import hashlib
import logging

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from automl_engine.explain import partial_dependence
from automl_engine.model import PIP_NAMES, library_versions

from . import charts, insights, model_card, profiling, services
from .access import get_experiment_for_user, get_result_for_user
from .explanations import explain_on_demand, needs_explaining
from .models import ModelResult
from .status import run_info
from .wording import algo_name, metric_columns, metric_name, number, METRIC_HELP

log = logging.getLogger(__name__)
PDP_CACHE_SECS = 24 * 3600


@login_required
@require_GET
def results_fragment(request, pk):
    """The results section alone, inserted by the live page when a run ends."""
    experiment = get_experiment_for_user(request.user, pk)
    return render(request, "_results.html", {"experiment": experiment, "with_leader": True,
                                             **insights.results_context(experiment)})


@login_required
@require_GET
def model_charts(request, pk, model_id):
    """One model's charts; a finished model the run had no time to explain is explained now and kept."""
    experiment = get_experiment_for_user(request.user, pk)
    result = _explained(experiment, get_result_for_user(request.user, pk, model_id))
    return JsonResponse(insights.model_chart_payload(experiment, result))


def _explained(experiment, result: ModelResult) -> ModelResult:
    """The result with its explanation, computed now (and kept) when the run had no time for it or
    explained one class of a multiclass model only."""
    if needs_explaining(experiment, result) and experiment.is_finished and result.file:
        try:
            result.explanation = explain_on_demand(experiment, result)
        except Exception:  # asked for from the page: the charts are missing, the page still works
            log.warning("explaining %s on demand failed", result.model_id, exc_info=True)
    return result


def _metric_rows(task: str, metrics: dict | None) -> list[dict]:
    return [{"key": m, "name": metric_name(m), "value": number((metrics or {}).get(m), 4), "help": METRIC_HELP.get(m, "")}
            for m in metric_columns(task)]


def _params(result: ModelResult) -> list[dict]:
    out = []
    for key, value in sorted((result.params or {}).items()):
        out.append({"name": key, "value": _param_value(value)})
    return out


def _param_value(value):
    """A parameter as a person reads it: lists and mappings (an ensemble's weights) as plain text."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_param_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return number(value, 4)
    return value


@login_required
@require_GET
def model_page(request, pk, model_id):
    experiment = get_experiment_for_user(request.user, pk)
    result = _explained(experiment, get_result_for_user(request.user, pk, model_id))
    info = run_info(experiment)
    return render(request, "model.html", {
        "experiment": experiment, "result": result, "summary": insights.model_summary(experiment, result),
        "algo_name": algo_name(result.algo), "is_leader": result.model_id == experiment.leader_model_id,
        "cv_metrics": _metric_rows(experiment.task, result.metrics),
        "test_metrics": _metric_rows(experiment.task, result.test_metrics) if result.test_metrics else None,
        "params": _params(result), "nfolds": experiment.options.get("nfolds"),
        "validation": info["validation"], "install_line": install_line(info["library_versions"]),
        "charts_payload": insights.model_chart_payload(experiment, result)})


# what a model file needs at the versions it was saved with
PINNED = ("numpy", "pandas", "scikit-learn", "lightgbm", "catboost", "xgboost")


def install_line(versions: dict) -> str:
    """The pip command that installs the engine with the libraries at the versions that trained the model
    (runs from before versions were recorded get this app's own)."""
    versions = versions or library_versions()
    pins = " ".join(f"{PIP_NAMES.get(name, name)}=={versions[name]}" for name in PINNED if versions.get(name))
    return f"pip install /path/to/automl {pins}".strip()


def _stored_pdp(result: ModelResult, feature: str) -> dict | None:
    for entry in (result.explanation or {}).get("partial_dependence") or []:
        if entry.get("feature") == feature:
            return entry
    return None


def _compute_pdp(experiment, result: ModelResult, feature: str) -> dict:
    model = services.load_result_model(result)
    if feature not in model.features:
        raise services.InputError(f"The model does not use the column '{feature[:100]}'.")
    frame = profiling.load_frame(experiment.dataset)
    frame = frame.loc[frame[experiment.target].notna()] if experiment.target in frame.columns else frame
    return partial_dependence(model, frame, feature)


def _remember_pdp(result: ModelResult, data: dict) -> None:
    """Keep a computed partial dependence with the model's explanation data (or in the cache when it has none)."""
    with transaction.atomic():
        row = ModelResult.objects.select_for_update().get(pk=result.pk)
        if row.explanation is None:
            cache.set(_pdp_key(result, data["feature"]), data, PDP_CACHE_SECS)
            return
        explanation = dict(row.explanation)
        explanation["partial_dependence"] = [*(explanation.get("partial_dependence") or []), data]
        row.explanation = explanation
        row.save(update_fields=["explanation"])


def _pdp_key(result: ModelResult, feature: str) -> str:
    return "pdp:" + hashlib.sha256(f"{result.pk}\0{feature}".encode()).hexdigest()[:32]


@login_required
@require_GET
def model_pdp(request, pk, model_id):
    """Partial dependence for any of the model's columns: stored, cached, or computed now and kept."""
    experiment = get_experiment_for_user(request.user, pk)
    result = get_result_for_user(request.user, pk, model_id)
    feature = request.GET.get("feature", "")
    if feature not in insights.model_features(experiment, result):
        return JsonResponse({"error": "Choose one of the columns the model uses."}, status=400)
    data = _stored_pdp(result, feature) or cache.get(_pdp_key(result, feature))
    if data is None:
        try:
            data = _compute_pdp(experiment, result, feature)
        except services.InputError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except Exception:  # asked for from the page: a message, never a server error
            log.warning("partial dependence failed for %s %s", model_id, feature, exc_info=True)
            return JsonResponse({"error": f"The effect of '{feature}' could not be computed for this model."},
                                status=422)
        _remember_pdp(result, data)
    return JsonResponse({"feature": feature, "chart": charts.partial_dependence(data, experiment.target,
                                                                                experiment.task)})


def _card_parts(request, pk, model_id):
    experiment = get_experiment_for_user(request.user, pk)
    result = _explained(experiment, get_result_for_user(request.user, pk, model_id))
    return experiment, result, request.build_absolute_uri("/").rstrip("/")


@login_required
@require_GET
def model_card_page(request, pk, model_id):
    """The model's card: one page to read or print; ``?download=1`` gives it as a self-contained file."""
    experiment, result, base = _card_parts(request, pk, model_id)
    response = HttpResponse(model_card.render_card(experiment, result, base))
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{experiment.pk}_{result.model_id}_card.html"'
    return response


def export_response(request, pk, model_id) -> HttpResponse:
    experiment, result, base = _card_parts(request, pk, model_id)
    response = HttpResponse(model_card.export_zip(experiment, result, base), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{model_card.export_name(experiment, result)}"'
    return response


@login_required
@require_GET
def model_export(request, pk, model_id):
    return export_response(request, pk, model_id)
