"""DeepLearning: a multi-layer perceptron trained epoch by epoch.

A tenth of the rows is held out for early stopping; training also stops when the time allowed
for the fit runs out, keeping the best epoch seen so far.
"""
from __future__ import annotations

import copy
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor

from .base import BuildContext, Family


class MLPEstimator(BaseEstimator):
    def __init__(self, task="regression", hidden_layer_sizes=(256, 128), alpha=1e-4, learning_rate_init=3e-3,
                 batch_size=256, max_epochs=200, patience=20, random_state=0, deadline=None):
        self.task = task
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.random_state = random_state
        self.deadline = deadline

    def _loss(self, net, X, y):
        if self.task == "regression":
            return float(np.mean((net.predict(X) - y) ** 2))
        proba = net.predict_proba(X)
        idx = np.searchsorted(net.classes_, y)
        known = (idx < len(net.classes_)) & (net.classes_[np.minimum(idx, len(net.classes_) - 1)] == y)
        p = np.where(known, np.clip(proba[np.arange(len(y)), np.minimum(idx, proba.shape[1] - 1)], 1e-15, 1), 1e-15)
        return float(-np.mean(np.log(p)))

    accepts_eval_set = True
    eval_set_min_rows = 0  # the fold's validation rows pick the best epoch, however few they are

    def fit(self, X, y, eval_set=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if self.task == "regression":
            self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
            y = (y - self.y_mean_) / self.y_std_
        if eval_set is not None:
            X_fit, y_fit = X, y
            X_val, y_val = np.asarray(eval_set[0], dtype=float), np.asarray(eval_set[1])
            if self.task == "regression":
                y_val = (y_val - self.y_mean_) / self.y_std_
        else:
            stratify = y if self.task != "regression" and np.bincount(y.astype(int)).min() >= 2 else None
            X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.1, random_state=self.random_state,
                                                          stratify=stratify)
        cls = MLPRegressor if self.task == "regression" else MLPClassifier
        net = cls(hidden_layer_sizes=tuple(self.hidden_layer_sizes), alpha=self.alpha,
                  learning_rate_init=self.learning_rate_init, batch_size=min(self.batch_size, len(X_fit)),
                  random_state=self.random_state)
        extra = {} if self.task == "regression" else {"classes": np.unique(y)}
        best, best_loss, stale = None, np.inf, 0
        for _ in range(self.max_epochs):
            net.partial_fit(X_fit, y_fit, **extra)
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

    def predict(self, X):
        out = self.net_.predict(np.asarray(X, dtype=float))
        return out * self.y_std_ + self.y_mean_ if self.task == "regression" else out

    def predict_proba(self, X):
        return self.net_.predict_proba(np.asarray(X, dtype=float))


def sample_config(rng) -> dict:
    sizes = [(64,), (128,), (256,), (128, 64), (256, 128), (64, 64, 32)]
    return {"hidden_layer_sizes": list(sizes[int(rng.integers(len(sizes)))]),
            "alpha": float(10 ** rng.uniform(-5, -1)),
            "learning_rate_init": float(10 ** rng.uniform(-3.5, -2.3))}


def make_model(ctx: BuildContext, config: dict):
    return MLPEstimator(task=ctx.task, random_state=ctx.seed, deadline=ctx.deadline, **config)


FAMILY = Family(key="DeepLearning", style="linear", make_model=make_model, bag_folds=True,
                sample_config=sample_config)
