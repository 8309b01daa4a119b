"""After a run: explanation data for its models, stored on the rows the dashboard reads."""
from __future__ import annotations

import logging
import time

from automl_engine import AutoML

from .models import Experiment, ModelResult

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
    for row in aml.leaderboard:
        model_id = row["model_id"]
        if importances and time.time() > deadline:
            break
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
