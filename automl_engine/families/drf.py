"""DRF: random forest (and the shared forest estimator that XRT uses).

Trees are added in chunks (warm start) until the planned number is reached or the time allowed
for the fit runs out, so a forest on a large table ends on time with fewer trees.
"""
from __future__ import annotations

import time

from sklearn.base import BaseEstimator
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier,
                              RandomForestRegressor)

from .base import BuildContext, Cost, Family

FORESTS = {
    "DRF": (RandomForestRegressor, RandomForestClassifier),
    "XRT": (ExtraTreesRegressor, ExtraTreesClassifier),
}
MAX_SAMPLES_ROWS = 20_000  # above this, each tree sees a sample of this many rows (bounded memory)


class ForestEstimator(BaseEstimator):
    def __init__(self, kind="DRF", task="regression", n_estimators=100, chunk=25, max_features=None,
                 min_samples_leaf=1, max_samples=None, n_jobs=2, random_state=0, deadline=None):
        self.kind = kind
        self.task = task
        self.n_estimators = n_estimators
        self.chunk = chunk
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.deadline = deadline

    def fit(self, X, y):
        regressor, classifier = FORESTS[self.kind]
        cls = regressor if self.task == "regression" else classifier
        max_features = self.max_features or (0.5 if self.task == "regression" else "sqrt")
        bootstrap = self.kind == "DRF" or self.max_samples is not None
        self.forest_ = cls(n_estimators=0, warm_start=True, max_features=max_features, bootstrap=bootstrap,
                           min_samples_leaf=self.min_samples_leaf, max_samples=self.max_samples if bootstrap else None,
                           n_jobs=self.n_jobs, random_state=self.random_state)
        while self.forest_.n_estimators < self.n_estimators:
            self.forest_.n_estimators = min(self.n_estimators, self.forest_.n_estimators + self.chunk)
            self.forest_.fit(X, y)
            if self.deadline is not None and time.time() > self.deadline:
                break
        self.n_features_in_ = self.forest_.n_features_in_
        if self.task != "regression":
            self.classes_ = self.forest_.classes_
        return self

    def release(self):
        """Drop the trees (after the out-of-fold predictions are made), keeping how many grew."""
        self.n_grown_ = len(self.forest_.estimators_)
        del self.forest_

    def predict(self, X):
        return self.forest_.predict(X)

    def predict_proba(self, X):
        return self.forest_.predict_proba(X)

    @property
    def feature_importances_(self):
        return self.forest_.feature_importances_


def forest(kind: str, ctx: BuildContext, config: dict) -> ForestEstimator:
    large = ctx.n_rows > MAX_SAMPLES_ROWS
    # On large tables each tree sees a sample of rows and stops at leaves of a few rows: bounded memory.
    params = {"max_samples": MAX_SAMPLES_ROWS / ctx.n_rows if large else None, "min_samples_leaf": 3 if large else 1}
    params.update(config)
    return ForestEstimator(kind=kind, task=ctx.task, n_jobs=ctx.n_jobs, random_state=ctx.seed,
                           deadline=ctx.deadline, **params)


def sample_config(rng) -> dict:
    return {"max_features": float(rng.choice([0.2, 0.35, 0.5, 0.7, 1.0])),
            "min_samples_leaf": int(rng.choice([1, 1, 2, 3, 5, 10]))}


def refit_config(fitted: list, config: dict) -> dict:
    """Refit with as many trees as the folds managed to grow in their time."""
    models = [p.named_steps["model"] for p in fitted]
    grown = min(getattr(m, "n_grown_", None) or len(m.forest_.estimators_) for m in models)
    return {**config, "n_estimators": grown}


def make_model(ctx: BuildContext, config: dict):
    return forest("DRF", ctx, config)


FOREST_COST = dict(fixed_secs=0.3, bytes_per_cell=40, rows_per_tree=MAX_SAMPLES_ROWS, regression_factor=3.0)
FAMILY = Family(key="DRF", label="Random forest", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=8.0e-6, **FOREST_COST), refit_config=refit_config, sample_config=sample_config)
