"""DeepLearning: a multi-layer perceptron trained epoch by epoch.

A tenth of the rows is held out for early stopping; training also stops when the time allowed
for the fit runs out, keeping the best epoch seen so far. A skewed, non-negative regression target
(prices, counts) can be learned on a log scale (``log_target``), and predictions stay within the range seen in training:
a net extrapolates wildly on unusual rows, where trees stay put.
"""
from __future__ import annotations

import copy
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neural_network import MLPClassifier, MLPRegressor

from .base import BuildContext, Cost, Family, stopping_split

SKEWED = 1.0
EPOCH_STRETCH_ROWS = 50_000  # on larger tables an epoch is split into stretches of this many rows  # skewness above which a non-negative target is learned as log(1 + y)


def log_scale_suits(y: np.ndarray) -> bool:
    """A non-negative target with a long right tail is better learned on a log scale."""
    if len(y) < 3 or np.min(y) < 0:
        return False
    spread = np.std(y)
    return bool(spread > 0 and np.mean((y - np.mean(y)) ** 3) / spread ** 3 > SKEWED)


class MLPEstimator(BaseEstimator):
    def __init__(self, task="regression", hidden_layer_sizes=(256, 128), alpha=1e-4, learning_rate_init=3e-3,
                 batch_size=256, max_epochs=200, patience=20, log_target=False, random_state=0, deadline=None):
        self.task = task
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.log_target = log_target
        self.random_state = random_state
        self.deadline = deadline

    def _scale(self, y):
        return ((np.log1p(np.maximum(y, 0)) if self.log_target_ else y) - self.y_mean_) / self.y_std_

    def _scaled_prediction(self, net, X):
        limits = getattr(self, "y_limits_", None)  # model files saved before limits were kept have none
        return net.predict(X) if limits is None else np.clip(net.predict(X), *limits)

    def _loss(self, net, X, y):
        if self.task == "regression":
            return float(np.mean((self._scaled_prediction(net, X) - y) ** 2))
        proba = net.predict_proba(X)
        idx = np.searchsorted(net.classes_, y)
        known = (idx < len(net.classes_)) & (net.classes_[np.minimum(idx, len(net.classes_) - 1)] == y)
        p = np.where(known, np.clip(proba[np.arange(len(y)), np.minimum(idx, proba.shape[1] - 1)], 1e-15, 1), 1e-15)
        return float(-np.mean(np.log(p)))

    accepts_eval_set = True

    def fit(self, X, y, eval_set=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if self.task == "regression":
            y = y.astype(float)
            self.log_target_ = bool(self.log_target) and log_scale_suits(y)
            scaled = np.log1p(y) if self.log_target_ else y
            self.y_mean_, self.y_std_ = float(np.mean(scaled)), float(np.std(scaled) or 1.0)
            y = self._scale(y)
            self.y_limits_ = (float(np.min(y)), float(np.max(y)))
        if eval_set is not None:
            X_fit, y_fit = X, y
            X_val, y_val = np.asarray(eval_set[0], dtype=float), np.asarray(eval_set[1])
            if self.task == "regression":
                y_val = self._scale(y_val.astype(float))
        else:
            X_fit, X_val, y_fit, y_val = stopping_split(X, y, self.task, self.random_state)
        cls = MLPRegressor if self.task == "regression" else MLPClassifier
        net = cls(hidden_layer_sizes=tuple(self.hidden_layer_sizes), alpha=self.alpha,
                  learning_rate_init=self.learning_rate_init, batch_size=min(self.batch_size, len(X_fit)),
                  random_state=self.random_state)
        extra = {} if self.task == "regression" else {"classes": np.unique(y)}
        best, best_loss, stale = None, np.inf, 0
        rng = np.random.default_rng(self.random_state)
        for _ in range(self.max_epochs):
            if not self._epoch(net, X_fit, y_fit, extra, rng):
                break  # out of time in the middle of an epoch: the best epoch so far stands
            loss = self._loss(net, X_val, y_val)
            if loss < best_loss - 1e-6:
                best, best_loss, stale = copy.deepcopy(net), loss, 0
            else:
                stale += 1
            if stale >= self.patience or (self.deadline is not None and time.time() > self.deadline):
                break
        self.net_ = best or net
        self.n_features_in_ = X.shape[1]
        if self.task != "regression":
            self.classes_ = self.net_.classes_
        return self

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline

    def _epoch(self, net, X, y, extra, rng) -> bool:
        """One pass over the rows, in stretches with a look at the clock between them (large tables).

        False when the time ran out before the pass ended, unless nothing was learnt yet.
        """
        if len(y) <= EPOCH_STRETCH_ROWS:
            net.partial_fit(X, y, **extra)
            return True
        order = rng.permutation(len(y))
        for start in range(0, len(y), EPOCH_STRETCH_ROWS):
            rows = order[start:start + EPOCH_STRETCH_ROWS]
            net.partial_fit(X[rows], y[rows], **extra)
            if self._out_of_time() and hasattr(net, "coefs_"):
                return start + EPOCH_STRETCH_ROWS >= len(y)
        return True

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        if self.task != "regression":
            return self.net_.predict(X)
        out = self._scaled_prediction(self.net_, X) * self.y_std_ + self.y_mean_
        return np.expm1(out) if getattr(self, "log_target_", False) else out

    def predict_proba(self, X):
        return self.net_.predict_proba(np.asarray(X, dtype=float))


def sample_config(rng) -> dict:
    sizes = [(64,), (128,), (256,), (128, 64), (256, 128), (64, 64, 32)]
    return {"hidden_layer_sizes": list(sizes[int(rng.integers(len(sizes)))]),
            "alpha": float(10 ** rng.uniform(-5, -1)),
            "learning_rate_init": float(10 ** rng.uniform(-3.5, -2.3)),
            "log_target": bool(rng.random() < 0.5)}


LARGE_ROWS = 20_000
SMALL_NET = (128, 64)  # the default net on large tables: more epochs fit in the time


def make_model(ctx: BuildContext, config: dict):
    config = dict(config)
    if "hidden_layer_sizes" not in config and ctx.n_rows > LARGE_ROWS:
        config["hidden_layer_sizes"] = SMALL_NET
    return MLPEstimator(task=ctx.task, random_state=ctx.seed, deadline=ctx.deadline, **config)


FAMILY = Family(key="DeepLearning", label="Neural network", style="linear", make_model=make_model,
                cost=Cost(secs_per_cell=3.0e-6, fixed_secs=0.8, bytes_per_cell=16), bag_folds=True,
                default_configs=({"log_target": True},), sample_config=sample_config,
                regression_keys=("log_target",))
