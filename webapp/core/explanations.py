"""After a run: explanation data for its models, stored on the rows the dashboard reads."""
from __future__ import annotations

import io
import logging
import time

import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from automl_engine import AutoML, read_csv
from automl_engine.explain import explain_model, explain_rows, importance_heatmap, shap_values

from .holdout import split_for_test
from .models import Experiment, ModelResult
from .tables import finite

log = logging.getLogger(__name__)
# The user's time budget covers the whole run, explanations included: they get a reserve at its end
# that the engine's own budget leaves free.
RESERVE_SHARE = 0.1
MIN_RESERVE_SECS = 3.0
MAX_RESERVE_SHARE = 0.5  # on a tiny budget, at most this share goes to explanations
MODEL_COUNT_BUDGET_SECS = 20.0  # when the budget is a number of models rather than a time


def explanation_reserve(max_runtime_secs: float | None) -> float:
    """Seconds of the budget kept for explaining the models once the search ends."""
    if not max_runtime_secs:
        return MODEL_COUNT_BUDGET_SECS
    return min(MAX_RESERVE_SHARE * max_runtime_secs, max(MIN_RESERVE_SECS, RESERVE_SHARE * max_runtime_secs))


def engine_budget(max_runtime_secs: float | None) -> float | None:
    """The engine's share of the user's budget: all of it but the explanations' reserve."""
    return None if not max_runtime_secs else max_runtime_secs - explanation_reserve(max_runtime_secs)


def store_explanations(experiment: Experiment, aml: AutoML, deadline: float | None = None) -> int:
    """Explain the leader first, then the others in leaderboard order until ``deadline``.

    Without a deadline (a budget in models) the others get MODEL_COUNT_BUDGET_SECS. Returns how
    many models were explained. A failure to explain one model is logged and skipped.
    """
    if deadline is None:
        deadline = time.time() + explanation_reserve(experiment.options.get("max_runtime_secs"))
    importances = {}
    # Models an earlier pass of a continued experiment explained keep their explanation.
    known = dict(experiment.results.exclude(explanation__isnull=True).values_list("model_id", "explanation"))
    for row in aml.leaderboard:
        model_id = row["model_id"]
        if (known.get(model_id) or {}).get("variable_importance"):
            importances[model_id] = known[model_id]["variable_importance"]
            continue
        if model_id != aml.leaderboard[0]["model_id"] and time.time() > deadline:
            continue  # past the deadline: later models an earlier pass explained still join the heatmap
        model = aml.get_model(model_id)
        expected = model.predict_time_per_row_ms / 1000 * explain_rows(len(aml.out_of_fold(model_id)),
                                                                        len(model.features))
        if time.time() + expected > deadline:  # it would overrun the budget: explained when first opened
            log.info("%s not explained in the run (about %.1f s, %.1f s left)", model_id, expected,
                     deadline - time.time())
            continue
        Experiment.objects.filter(pk=experiment.pk).update(current_model=f"explaining {model_id}")
        try:
            data = aml.explain(model_id)
        except Exception:
            log.warning("could not explain %s", model_id, exc_info=True)
            continue
        importances[model_id] = data["variable_importance"]
        ModelResult.objects.filter(experiment=experiment, model_id=model_id).update(explanation=data)
    if importances:
        try:
            across = aml.explain_models(importances)
        except Exception:
            log.warning("could not compare models", exc_info=True)
        else:
            Experiment.objects.filter(pk=experiment.pk).update(explanation=across)
    return len(importances)


# -- on demand: a model the run had no time to explain is explained when its charts are first asked for
def oof_name(model_file: str) -> str:
    return model_file.rsplit(".", 1)[0] + ".oof.npy"


def save_oof(model_file: str, predictions: np.ndarray) -> None:
    """Keep the model's out-of-fold predictions beside its file: its charts can then be drawn later."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(predictions, dtype=np.float32), allow_pickle=False)
    name = oof_name(model_file)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(buffer.getvalue()))


def load_oof(result: ModelResult, n_rows: int | None = None) -> np.ndarray | None:
    """The model's saved out-of-fold predictions; None when missing or not for ``n_rows`` rows."""
    name = oof_name(result.file.name) if result.file else ""
    if not name or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as fh:
        values = np.load(io.BytesIO(fh.read()), allow_pickle=False).astype(float)
    return values if n_rows is None or len(values) == n_rows else None


def training_rows(experiment: Experiment) -> pd.DataFrame:
    """The rows the run trained on, in the run's order: the same reading, test split and target filter."""
    with default_storage.open(experiment.dataset.file.name, "rb") as fh:
        frame, _ = finite(read_csv(fh.read()))
    opts = experiment.options
    frame, _ = split_for_test(frame, experiment.target, opts.get("test_split"), opts.get("seed", 1))
    values = frame[experiment.target]
    return frame.loc[values.notna() & ~values.isin([np.inf, -np.inf])].reset_index(drop=True)


def _encoded_target(model, values: pd.Series) -> np.ndarray:
    if model.task == "regression":
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    lookup = {c: i for i, c in enumerate(model.classes)}
    return values.map(lookup).fillna(-1).to_numpy(dtype=int)


def _known_rows(experiment: Experiment, model) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The training rows as the model sees them, their encoded target, and which of the run's rows
    they are (a class the model never saw is left out)."""
    frame = training_rows(experiment)
    y = _encoded_target(model, frame[experiment.target])
    known = y >= 0 if model.task != "regression" else ~np.isnan(y)
    return frame.loc[known, model.features].reset_index(drop=True), y[known], known


SHAP_CLASS_KEYS = ("class", "values", "base_value", "method", "fidelity_r2")


def every_class_shap(model, frame: pd.DataFrame, shap: dict) -> dict:
    """A multiclass model's SHAP data with every class's values under "classes" (the engine explains
    one class; the chart's picker shows any). The same rows are explained for every class."""
    if model.task != "multiclass" or not shap or shap.get("classes"):
        return shap
    views = []
    for k, label in enumerate(model.classes):
        view = shap if str(shap.get("class")) == str(label) else shap_values(model, frame, class_index=k)
        views.append({key: view.get(key) for key in SHAP_CLASS_KEYS})
    return {**shap, "classes": views}


def needs_explaining(experiment: Experiment, result: ModelResult) -> bool:
    """No explanation yet, or a multiclass one with a single class's SHAP values."""
    shap = (result.explanation or {}).get("shap")
    return not result.explanation or (experiment.task == "multiclass" and bool(shap) and not shap.get("classes"))


def explain_on_demand(experiment: Experiment, result: ModelResult) -> dict:
    """Compute and keep the explanation data of a model the run did not explain (and refresh the
    importance heatmap across models with it), or the SHAP values of the classes it did not explain."""
    from .services import load_result_model

    model = load_result_model(result)
    frame, y, known = _known_rows(experiment, model)
    if result.explanation:
        shap = every_class_shap(model, frame, result.explanation.get("shap"))
    else:
        oof = load_oof(result, len(known))
        data = explain_model(model, frame, y, None if oof is None else oof[known])
        data["shap"] = every_class_shap(model, frame, data.get("shap"))
    with transaction.atomic():
        row = ModelResult.objects.select_for_update().get(pk=result.pk)
        if not needs_explaining(experiment, row):  # someone else was quicker
            return row.explanation
        # an explanation kept meanwhile (partial dependence added to it, say) only gets the classes' SHAP
        row.explanation = {**(row.explanation or result.explanation), "shap": shap} if result.explanation else data
        row.save(update_fields=["explanation"])
    if not result.explanation:
        _refresh_heatmap(experiment)
    return row.explanation


def _refresh_heatmap(experiment: Experiment) -> None:
    """The importance heatmap across models covers every model that has its importance, best first."""
    with transaction.atomic():
        row = Experiment.objects.select_for_update().get(pk=experiment.pk)
        importances = {r.model_id: r.explanation["variable_importance"] for r in row.leaderboard()
                       if (r.explanation or {}).get("variable_importance")}
        explanation = dict(row.explanation or {})
        explanation["importance_heatmap"] = importance_heatmap(importances)
        row.explanation = explanation
        row.save(update_fields=["explanation"])
