"""Stacked ensembles: a metalearner fit on the base models' out-of-fold predictions."""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from .metrics import score
from .model import level_one_features
from .validation import covered


def make_metalearner(task: str, seed: int):
    if task == "regression":
        return LinearRegression(positive=True)
    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)


def _raw(est, Z, task):
    return est.predict(Z) if task == "regression" else est.predict_proba(Z)


def fit_stack(task: str, oofs: list[np.ndarray], y: np.ndarray, n_classes: int, seed: int):
    """Fit the metalearner; return (metalearner, its own cross-validated oof predictions, metrics)."""
    mask = np.all([covered(o) for o in oofs], axis=0)
    Z = level_one_features(task, [o[mask] for o in oofs])
    yz = y[mask]
    if task == "regression":
        splitter = KFold(n_splits=5, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed) \
            if np.bincount(yz.astype(int)).min() >= 5 else KFold(n_splits=5, shuffle=True, random_state=seed)
    shape = (len(yz),) if task == "regression" else (len(yz), n_classes)
    meta_oof = np.zeros(shape)
    for train_idx, valid_idx in splitter.split(Z, yz):
        est = make_metalearner(task, seed).fit(Z[train_idx], yz[train_idx])
        pred = _raw(est, Z[valid_idx], task)
        if task != "regression" and pred.shape[1] != n_classes:
            full = np.zeros((len(valid_idx), n_classes))
            full[:, est.classes_.astype(int)] = pred
            pred = full
        meta_oof[valid_idx] = pred
    final = make_metalearner(task, seed).fit(Z, yz)
    full_oof = np.full((len(y),) + shape[1:], np.nan)
    full_oof[mask] = meta_oof
    return final, full_oof, score(task, yz, meta_oof, n_classes)
