"""The small contract every model family follows."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from sklearn.pipeline import Pipeline

from ..preprocessing import build_preprocessor
from ..schema import FeatureSpec

ALL_TASKS = ("regression", "binary", "multiclass")
STOPPING_SHARE = 0.1  # of a model's training rows, held out to tell it when to stop (rounds, epochs)


def stopping_split(X, y, task: str, seed: int):
    """(X_fit, X_stop, y_fit, y_stop): a tenth of the rows held out to decide when training stops.

    By class when every class has at least two rows, so the held-out rows have each class's share.
    """
    from sklearn.model_selection import train_test_split

    stratify = y if task != "regression" and np.bincount(y.astype(int)).min() >= 2 else None
    return train_test_split(X, y, test_size=STOPPING_SHARE, random_state=seed, stratify=stratify)


HOLDOUT_MIN_ROWS = 100  # fewer training rows than this and none are held out: an inner cross-validation counts the rounds
INNER_FOLDS = 5  # folds of that inner cross-validation, at most
INNER_SHARE = 0.7  # of the time left before a fit's deadline, the most its inner cross-validation may take


def inner_folds(y, task: str, seed: int, folds: int = INNER_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, validation rows) of the inner cross-validation that counts a boosting model's
    rounds on a table too small to hold rows out: ``folds`` of them at most. By class when every
    class present has a row in every fold."""
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    folds = max(2, min(folds, len(y) // 2))
    stratified = task != "regression" and int(np.unique(y, return_counts=True)[1].min()) >= folds
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y if stratified else None))


def inner_deadline(deadline: Optional[float]) -> Optional[float]:
    """When an inner cross-validation must stop: INNER_SHARE of the time left, so the fit it counts
    the rounds for still has time to grow them (cut at the fit's own deadline, it would keep only
    its first few)."""
    if deadline is None:
        return None
    now = time.time()
    return now + INNER_SHARE * max(0.0, deadline - now)


# A boosting model refit on all rows grows the mean of its fold models' best rounds times this: it learns
# from a fourth more rows than a fold model of 5-fold cross-validation, and more rows bear more rounds
# before the trees start to fit noise. On 8 regression tables (7 LightGBM and 2 CatBoost defaults each,
# test rows) the refit's error against the folds' average was 1.6% lower at x 1.2 (lower on 7 of 8 tables)
# and 1.1% lower at x 1.0 (docs/benchmark-refit-study-2026-12-04.txt). For classes the average stays: on
# 9 binary tables the refit was worse on 7 (AUC gains from averaging five models), and on the three
# multiclass tables its sharper probabilities went both ways (penguins -71% log loss, iris +92%).
REFIT_ROUNDS = 1.2
# Up to this many training rows: above it the refit gains nothing on the whole while it costs a fit, and
# the average of five fold models, each of many rows, steadies the predictions more than a fourth more rows
# sharpen them. Up to 20,000 rows the refit was better on 9 of 11 regression tables (mean -1.2%); above
# it, on 6 tables of 22,000 to 300,000 rows, better on 2, worse on 3 (a generated table of 80,000 rows with
# categories of 5,000 levels +2.4%, diamonds +0.9%), mean +0.5% (docs/benchmark-refit-study-2026-12-04.txt).
REFIT_MAX_ROWS = 20_000


def refit_rounds(best_rounds: list[int], least: int = 1) -> int:
    """The rounds a boosting model refit on all rows grows, from its fold models' best rounds."""
    return max(least, int(round(float(np.mean(best_rounds)) * REFIT_ROUNDS)))


@dataclass(frozen=True)
class BuildContext:
    """What a family needs to build one estimator."""
    task: str
    spec: FeatureSpec
    n_rows: int
    n_classes: int
    seed: int
    n_jobs: int = 2
    deadline: Optional[float] = None  # absolute time.time() by which a long fit must stop


@dataclass(frozen=True)
class Cost:
    """What one fit costs, for the planner's cost model (see planning.py).

    Measured at the family's first default configuration with one thread on a 2-core machine:
    seconds per (row x column after preprocessing), plus what any fit costs; bytes held per
    training cell while fitting.
    """
    secs_per_cell: float
    fixed_secs: float
    bytes_per_cell: float
    per_class: bool = False  # multiclass costs once per class (a tree, or a row of weights, per class)
    rows_per_tree: Optional[int] = None  # forests: each tree draws at most this many rows on large tables
    regression_factor: float = 1.0  # regression fits cost this much more (forests try more columns per split)
    # A fit holds the matrix of at most this many rows (a sample beyond; see validation.fit_rows). Only
    # the memory estimate uses it: counted on all rows, the time estimate keeps such a model (a linear
    # one) behind the boosting models on a large table, where it adds little to the leader.
    max_rows: Optional[int] = None


@dataclass(frozen=True)
class Family:
    """The one place a model family is described: how to build it, what it costs, how it is searched."""
    key: str  # H2O's name for the family, and the prefix of its model ids
    label: str  # what a person reads
    style: str  # preprocessing style: "tree" or "linear"
    make_model: Callable[[BuildContext, dict], object]
    cost: Cost
    default_configs: tuple[dict, ...] = ({},)
    # The default configs for classes, where they differ (same count and order as default_configs).
    class_configs: Optional[tuple[dict, ...]] = None
    sample_config: Optional[Callable[[np.random.Generator], dict]] = None
    tasks: tuple[str, ...] = field(default=ALL_TASKS)
    # True: the final model averages the cross-validation fold models (no refit on all rows).
    bag_folds: bool = False
    # Tasks on which a family that averages its fold models is refit on all rows instead (``refit_config`` says
    # how) on tables of up to REFIT_MAX_ROWS rows, keeping the average when the refit has no time; see ``bags``.
    refit_tasks: tuple[str, ...] = ()
    # Given the fitted fold estimators and the config, the config for the refit on all rows.
    refit_config: Optional[Callable[[list, dict], dict]] = None
    # Given the fold estimators, each fitted with its validation rows: a setting chosen by the score over
    # every fold's rows, which the fold models switch to and the final model takes (its config), or None.
    settle: Optional[Callable[[list], Optional[dict]]] = None
    # Settings only a model of numbers uses (a loss for counts, a log scale): left out of a config for classes,
    # so a model's settings, as the leaderboard shows them, are the ones it was trained with.
    regression_keys: tuple[str, ...] = ()
    paced: bool = False  # a model short of time can learn faster (a higher learning rate) instead of being cut
    exact_shap: bool = False  # SHAP values come from the model itself, not from a surrogate

    def bags(self, task: str, n_rows: int) -> bool:
        """True when the final model of a cross-validation is its fold models averaged, not a refit
        (a family refit on ``refit_tasks`` is refit on tables of at most REFIT_MAX_ROWS training rows)."""
        return self.bag_folds and (task not in self.refit_tasks or n_rows > REFIT_MAX_ROWS)

    def defaults(self, task: str) -> tuple[dict, ...]:
        """The default configs for a task."""
        return self.class_configs if task != "regression" and self.class_configs else self.default_configs

    def build(self, ctx: BuildContext, config: dict) -> Pipeline:
        return Pipeline([("prep", build_preprocessor(ctx.spec, self.style)),
                         ("model", self.make_model(ctx, config))])
