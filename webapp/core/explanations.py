"""After a run: explanation data for its models, stored on the rows the dashboard reads."""
from __future__ import annotations

import logging
import time

from automl_engine import AutoML

from .models import Experiment, ModelResult

log = logging.getLogger(__name__)
MIN_SECS = 10.0  # always allowed for explanations, whatever the budget
SHARE_OF_BUDGET = 0.2
MODEL_COUNT_BUDGET_SECS = 20.0  # when the budget is a number of models rather than a time


def time_allowed(experiment: Experiment) -> float:
    """Seconds for explaining models after the leader (the leader is always explained)."""
    secs = experiment.options.get("max_runtime_secs")
    return MODEL_COUNT_BUDGET_SECS if not secs else max(MIN_SECS, SHARE_OF_BUDGET * secs)


def store_explanations(experiment: Experiment, aml: AutoML) -> int:
    """Explain the leader first, then the others in leaderboard order while time allows.

    Returns how many models were explained. A failure to explain one model is logged and skipped.
    """
    allowed = time_allowed(experiment)
    started = time.time()
    importances = {}
    for row in aml.leaderboard:
        model_id = row["model_id"]
        if importances and time.time() - started > allowed:
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
