"""Leaderboard metrics with H2O's names."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

COLUMNS = {
    "regression": ("rmse", "mse", "mae", "rmsle", "mean_residual_deviance"),
    "binary": ("auc", "logloss", "aucpr", "mean_per_class_error", "rmse", "mse"),
    "multiclass": ("mean_per_class_error", "logloss", "rmse", "mse"),
}
# Ranked by default by a measure a person can read: RMSE in the target's units (the same order as
# deviance), AUC, and log loss for multiclass (what the ensembles optimise).
DEFAULT_SORT = {"regression": "rmse", "binary": "auc", "multiclass": "logloss"}
HIGHER_IS_BETTER = {"auc", "aucpr"}
ALIASES = {"deviance": "mean_residual_deviance"}


def resolve_sort_metric(task: str, name: str | None) -> str:
    if not name or name.upper() == "AUTO":
        return DEFAULT_SORT[task]
    name = ALIASES.get(name.lower(), name.lower())
    if name not in COLUMNS[task]:
        raise ValueError(f"sort_metric '{name}' is not available for {task}; use one of {', '.join(COLUMNS[task])}")
    return name


def sort_key(metric: str, value: float) -> float:
    if value is None or not np.isfinite(value):
        return float("inf")
    return -value if metric in HIGHER_IS_BETTER else value


def _regression(y, pred) -> dict:
    err = pred - y
    mse = float(np.mean(err ** 2))
    out = {"rmse": mse ** 0.5, "mse": mse, "mae": float(np.mean(np.abs(err))), "mean_residual_deviance": mse}
    if np.all(y > -1) and np.all(pred > -1):
        out["rmsle"] = float(np.sqrt(np.mean((np.log1p(pred) - np.log1p(y)) ** 2)))
    else:
        out["rmsle"] = None
    return out


def _per_class_error(y, labels) -> float:
    return float(1.0 - skm.balanced_accuracy_score(y, labels))


def _classification(y, proba, n_classes) -> dict:
    proba = np.clip(proba, 1e-15, 1 - 1e-15)
    proba = proba / proba.sum(axis=1, keepdims=True)
    y = y.astype(int)
    p_true = proba[np.arange(len(y)), y]
    mse = float(np.mean((1.0 - p_true) ** 2))
    out = {"logloss": float(skm.log_loss(y, proba, labels=list(range(n_classes)))), "mse": mse, "rmse": mse ** 0.5,
           "mean_per_class_error": _per_class_error(y, np.argmax(proba, axis=1))}
    if n_classes == 2:
        if len(np.unique(y)) == 2:
            out["auc"] = float(skm.roc_auc_score(y, proba[:, 1]))
            out["aucpr"] = float(skm.average_precision_score(y, proba[:, 1]))
        else:
            out["auc"] = out["aucpr"] = None
        # H2O reports the binary squared error on the positive-class probability.
        out["mse"] = float(np.mean((proba[:, 1] - y) ** 2))
        out["rmse"] = out["mse"] ** 0.5
    return out


def score(task: str, y, pred, n_classes: int = 0) -> dict:
    """Metrics for one set of predictions (numbers for regression, probabilities otherwise)."""
    y = np.asarray(y)
    pred = np.asarray(pred, dtype=float)
    raw = _regression(y.astype(float), pred) if task == "regression" else _classification(y, pred, n_classes)
    return {k: raw.get(k) for k in COLUMNS[task]}
