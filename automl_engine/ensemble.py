"""Stacked ensembles: a metalearner fit on the base models' out-of-fold predictions.

The metalearner is a weighted average found by greedy forward selection with replacement (add
the model that most improves the out-of-fold loss, repeatedly). The loss is the leaderboard's: the
squared error, the log loss, or for a leaderboard ranked by AUC, 1 - AUC (a weighted average's log
loss can fall while its AUC falls too: the selection then keeps what the leaderboard rewards). Its
weights are non-negative and sum to one, so it cannot overfit the way a free linear model over many
correlated inputs can.
Its leaderboard metrics are those of the selected average on the out-of-fold rows. The selection
starts from the best single model, so an ensemble never scores worse than its best member there.

For classes, the average's probabilities are then calibrated on the same out-of-fold rows with two
numbers: a temperature (p ** (1 / T), renormalised: T > 1 softens over-confident probabilities) and a
share of the class frequencies mixed in (no class is ever given a probability of zero). Neither
changes the order of the rows by a class's probability, so the AUC stays the same; the predicted
class changes only where a row's top classes were nearly tied. (1, 0) is among the choices, so
calibration never worsens the out-of-fold log loss.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator

from .metrics import score
from .model import level_one_features
from .validation import covered


TEMPERATURES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)
PRIOR_SHARES = (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
CALIBRATION_ROWS = 20_000  # out-of-fold rows the calibration is chosen on, at most
AUC_ROWS = 20_000  # out-of-fold rows the weights are chosen on when the loss is 1 - AUC (it ranks them)


def calibrate(proba: np.ndarray, temperature: float, prior_share: float, prior: np.ndarray) -> np.ndarray:
    """Probabilities tempered (p ** (1 / T), renormalised), then mixed with the class frequencies."""
    if temperature != 1.0:
        proba = np.power(np.clip(proba, 0.0, None), 1.0 / temperature)
        proba = proba / proba.sum(axis=1, keepdims=True)
    if prior_share > 0:
        proba = (1.0 - prior_share) * proba + prior_share * prior
    return proba


def choose_calibration(proba: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> tuple[float, float, np.ndarray]:
    """(temperature, prior share, class frequencies) with the lowest log loss on these rows."""
    y = np.asarray(y).astype(int)
    prior = np.bincount(y, minlength=n_classes) / len(y)
    if len(y) > CALIBRATION_ROWS:
        rows = np.random.default_rng(seed).choice(len(y), CALIBRATION_ROWS, replace=False)
        proba, y = proba[rows], y[rows]
    at = np.arange(len(y))
    best_loss, best = np.inf, (1.0, 0.0)
    for temperature in (1.0, *[t for t in TEMPERATURES if t != 1.0]):  # untouched first: it wins ties
        own = calibrate(proba, temperature, 0.0, prior)[at, y]  # mixing is linear: only each row's own class counts
        for share in PRIOR_SHARES:
            loss = float(-np.mean(np.log(np.clip((1 - share) * own + share * prior[y], 1e-15, 1.0))))
            if loss < best_loss - 1e-12:
                best_loss, best = loss, (temperature, share)
    return best[0], best[1], prior


def _loss(task: str, pred: np.ndarray, y: np.ndarray) -> float:
    if task == "regression":
        return float(np.mean((pred - y) ** 2))
    p = np.clip(pred[np.arange(len(y)), y.astype(int)], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


def _auc_loss(pred: np.ndarray, y: np.ndarray) -> float:
    """1 - AUC of the second column of ``pred`` for labels ``y`` (0 or 1), from average ranks (ties count half)."""
    from scipy.stats import rankdata

    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.0
    ranks = rankdata(pred[:, 1])
    return 1.0 - float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class GreedyEnsemble(BaseEstimator):
    """Weighted average of base predictions chosen by greedy forward selection (with replacement)."""

    def __init__(self, task="regression", n_classes=0, max_iter=50, deadline=None, metric="loss"):
        self.task = task
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.deadline = deadline  # time.time() after which the selection stops with what it has
        self.metric = metric  # "loss", or "auc" (binary): what the selection lowers

    def _selection(self, blocks: list[np.ndarray], y: np.ndarray):
        """The rows and the loss the weights are chosen by."""
        if self.task != "binary" or self.metric != "auc":
            return blocks, y, lambda pred, y_: _loss(self.task, pred, y_)
        if len(y) > AUC_ROWS:
            rows = np.random.default_rng(0).choice(len(y), AUC_ROWS, replace=False)
            blocks, y = [b[rows] for b in blocks], y[rows]
        return blocks, y, _auc_loss

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
        all_blocks = self._blocks(Z)
        y = np.asarray(y)
        blocks, y_sel, loss = self._selection(all_blocks, y)
        counts = np.zeros(len(blocks))
        current = np.zeros_like(blocks[0])
        best_loss, stale = np.inf, 0
        for step in range(1, self.max_iter + 1):
            losses = [loss((current * (step - 1) + b) / step, y_sel) for b in blocks]
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
        self.temperature_, self.prior_share_, self.prior_ = 1.0, 0.0, None
        if self.task != "regression":
            average = sum(w * b for w, b in zip(self.weights_, all_blocks) if w > 0)
            self.temperature_, self.prior_share_, self.prior_ = choose_calibration(average, y, average.shape[1])
        return self

    def _average(self, Z):
        blocks = self._blocks(Z)
        return sum(w * b for w, b in zip(self.weights_, blocks) if w > 0)

    def predict(self, Z):
        out = self._average(Z)
        return out if self.task == "regression" else np.argmax(out, axis=1)

    def predict_proba(self, Z):
        average = self._average(Z)
        if getattr(self, "prior_", None) is None:  # model files from before calibration
            return average
        return calibrate(average, self.temperature_, self.prior_share_, self.prior_)


def make_metalearner(task: str, n_classes: int, deadline=None, sort_metric: str = "") -> GreedyEnsemble:
    metric = "auc" if task == "binary" and sort_metric == "auc" else "loss"
    return GreedyEnsemble(task=task, n_classes=n_classes, deadline=deadline, metric=metric)


def fit_stack(task: str, oofs: list[np.ndarray], y: np.ndarray, n_classes: int, seed: int, deadline=None,
              sort_metric: str = ""):
    """Fit the metalearner; return (metalearner, the ensemble's out-of-fold predictions, metrics)."""
    mask = np.all([covered(o) for o in oofs], axis=0)
    Z = level_one_features(task, [o[mask] for o in oofs])
    yz = y[mask]
    final = make_metalearner(task, n_classes, deadline, sort_metric).fit(Z, yz)
    pred = final.predict(Z) if task == "regression" else final.predict_proba(Z)
    shape = (len(yz),) if task == "regression" else (len(yz), n_classes)
    full_oof = np.full((len(y),) + shape[1:], np.nan)
    full_oof[mask] = pred
    return final, full_oof, score(task, yz, pred, n_classes)
