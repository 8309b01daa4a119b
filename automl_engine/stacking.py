"""The second layer of stacking: models trained on the columns plus the first layer's predictions.

After the first-layer models, a few families are fit once more on every feature column plus the
out-of-fold predictions of the best first-layer models (the best of each family first). Such a
model learns where each first-layer model is right and how to correct it from the columns, which
a weighted average cannot. It is cross-validated on the same folds as every other model (and, like
a first-layer model of its family, refit on all rows or its fold models averaged), so its
out-of-fold predictions are scored like any other model's and the final weighted ensemble takes it
in only where it lowers the out-of-fold loss.

Its inputs' out-of-fold predictions need every row to have one: the second layer is trained only
under k-fold cross-validation, and only for the tasks in STACK_TASKS (see there why not for two
classes). With a time budget, its expected cost (from the cost model, as the
run corrects it) is kept aside from the first layer's time, when it fits in STACK_SHARE of the
budget; otherwise the run has no second layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import pandas as pd

from .schema import FeatureSpec

# The tasks with a second layer. On binary targets it raised the out-of-fold AUC but lowered the test
# AUC on 7 of 11 benchmark tables given the same first-layer models (taxi: +0.029 out of fold, -0.013
# on the test rows): a second layer learns from first-layer predictions whose models saw the rows it
# is scored on, and on a ranking of two classes that flatters it more than it helps.
STACK_TASKS = ("regression", "multiclass")
STACK_FAMILIES = ("GBM", "XRT", "DRF")  # cheapest first: the ones that fit in the time kept are trained
STACK_INPUTS = 5  # first-layer models whose predictions join the columns, at most
STACK_COLUMNS = 60  # prediction columns, at most (a model of many classes gives one per class)
STACK_SHARE = 0.15  # of the budget, the most the second layer may be given
STACK_MARGIN = 1.3  # the time kept for it, over its expected time
COLUMN_PREFIX = "stacked_prediction_"


def choose_inputs(ranked: list, n_classes: int) -> list:
    """The first-layer models (best first) whose predictions the second layer learns from.

    The best model of each family first, for variety, then the next best; as many as STACK_COLUMNS
    prediction columns allow.
    """
    per_model = n_classes if n_classes > 2 else 1
    limit = max(1, min(STACK_INPUTS, STACK_COLUMNS // per_model))
    best_of_family = {}
    for m in ranked:
        best_of_family.setdefault(m.algo, m.model_id)
    first = [m for m in ranked if m.model_id in best_of_family.values()][:limit]
    taken = {m.model_id for m in first}
    return first + [m for m in ranked if m.model_id not in taken][: limit - len(first)]


def column_names(n: int, taken) -> list[str]:
    """Names for the prediction columns that no feature column already has."""
    prefix = COLUMN_PREFIX
    while any(str(c).startswith(prefix) for c in taken):
        prefix = "_" + prefix
    return [f"{prefix}{i + 1}" for i in range(n)]


def families_that_fit(allowed: list[str], expected_secs: Callable[[str], float],
                      budget_secs: Optional[float]) -> list[str]:
    """The second layer's families (cheapest first) whose expected time fits in its share of the budget."""
    chosen, total = [], 0.0
    for key in STACK_FAMILIES:
        if key not in allowed:
            continue
        secs = STACK_MARGIN * expected_secs(key)
        if budget_secs is not None and total + secs > STACK_SHARE * budget_secs:
            break
        chosen.append(key)
        total += secs
    return chosen


@dataclass
class Layer:
    """What the second layer's models train on: the columns plus the inputs' out-of-fold predictions."""
    X: pd.DataFrame
    spec: FeatureSpec
    inputs: list  # the first-layer models, in the order of their prediction columns
    names: list[str]  # the prediction columns
