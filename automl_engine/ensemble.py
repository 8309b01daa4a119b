"""Stacked ensembles: a metalearner fit on the base models' out-of-fold predictions.

The metalearner is a weighted average found by greedy forward selection with replacement (add
the model that most improves the out-of-fold loss, repeatedly). Its weights are non-negative and
sum to one, so it cannot overfit the way a free linear model over many correlated inputs can.
Its leaderboard metrics are those of the selected average on the out-of-fold rows. The selection
starts from the best single model, so an ensemble never scores worse than its best member there.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator

from .metrics import score
from .model import level_one_features
from .validation import covered


def _loss(task: str, pred: np.ndarray, y: np.ndarray) -> float:
    if task == "regression":
        return float(np.mean((pred - y) ** 2))
    p = np.clip(pred[np.arange(len(y)), y.astype(int)], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


class GreedyEnsemble(BaseEstimator):
    """Weighted average of base predictions chosen by greedy forward selection (with replacement)."""

    def __init__(self, task="regression", n_classes=0, max_iter=50, deadline=None):
        self.task = task
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.deadline = deadline  # time.time() after which the selection stops with what it has

    def _blocks(self, Z: np.ndarray) -> list[np.ndarray]:
        """Per-model predictions in the shape the loss needs (values, or class probabilities)."""
        Z = np.asarray(Z, dtype=float)
        if self.task == "regression":
            return [Z[:, i] for i in range(Z.shape[1])]
        if self.task == "binary":
            return [np.column_stack([1 - Z[:, i], Z[:, i]]) for i in range(Z.shape[1])]
        k = self.n_classes
        return [Z[:, i * k:(i + 1) * k] for i in range(Z.shape[1] // k)]

    def fit(self, Z, y):
        blocks = self._blocks(Z)
        y = np.asarray(y)
        counts = np.zeros(len(blocks))
        current = np.zeros_like(blocks[0])
        best_loss, stale = np.inf, 0
        for step in range(1, self.max_iter + 1):
            losses = [_loss(self.task, (current * (step - 1) + b) / step, y) for b in blocks]
            choice = int(np.argmin(losses))
            counts[choice] += 1
            current = (current * (step - 1) + blocks[choice]) / step
            if losses[choice] < best_loss - 1e-12:
                best_loss, stale, best_counts = losses[choice], 0, counts.copy()
            else:
                stale += 1
                if stale >= 5:
                    break
            if self.deadline is not None and time.time() > self.deadline:
                break
        self.weights_ = best_counts / best_counts.sum()
        self.classes_ = np.arange(self.n_classes) if self.task != "regression" else None
        return self

    def _average(self, Z):
        blocks = self._blocks(Z)
        return sum(w * b for w, b in zip(self.weights_, blocks) if w > 0)

    def predict(self, Z):
        out = self._average(Z)
        return out if self.task == "regression" else np.argmax(out, axis=1)

    def predict_proba(self, Z):
        return self._average(Z)


def make_metalearner(task: str, n_classes: int, deadline=None) -> GreedyEnsemble:
    return GreedyEnsemble(task=task, n_classes=n_classes, deadline=deadline)


def fit_stack(task: str, oofs: list[np.ndarray], y: np.ndarray, n_classes: int, seed: int, deadline=None):
    """Fit the metalearner; return (metalearner, the ensemble's out-of-fold predictions, metrics)."""
    mask = np.all([covered(o) for o in oofs], axis=0)
    Z = level_one_features(task, [o[mask] for o in oofs])
    yz = y[mask]
    final = make_metalearner(task, n_classes, deadline).fit(Z, yz)
    pred = final.predict(Z) if task == "regression" else final.predict_proba(Z)
    shape = (len(yz),) if task == "regression" else (len(yz), n_classes)
    full_oof = np.full((len(y),) + shape[1:], np.nan)
    full_oof[mask] = pred
    return final, full_oof, score(task, yz, pred, n_classes)
