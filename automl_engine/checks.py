"""Plain-language warnings about the data once the target is known."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_predict
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

MAX_ROWS = 5000
MAX_COLUMNS = 60
FEW_ROWS = 100
RARE_CLASS_SHARE = 0.05
CHECK_THREADS = 2


def _single_column_score(x: pd.Series, y: np.ndarray, task: str, seed: int) -> float:
    if pd.api.types.is_numeric_dtype(x):
        values = x.astype(float).fillna(x.astype(float).median() if x.notna().any() else 0.0).to_numpy()
    else:
        values = pd.factorize(x.astype(str))[0].astype(float)
    X = values.reshape(-1, 1)
    if task == "regression":
        pred = cross_val_predict(DecisionTreeRegressor(max_depth=8, random_state=seed), X, y, cv=3)
        denom = np.var(y) or 1.0
        return float(1 - np.mean((pred - y) ** 2) / denom)
    pred = cross_val_predict(DecisionTreeClassifier(max_depth=8, random_state=seed), X, y, cv=3)
    return float(np.mean(pred == y))


def leakage(X: pd.DataFrame, y: np.ndarray, task: str, seed: int = 0) -> list[str]:
    """Columns that alone predict the target almost perfectly: often information from after the fact."""
    if len(y) < 30:
        return []
    idx = np.random.default_rng(seed).permutation(len(y))[:MAX_ROWS]
    sample_y = y[idx]
    if task != "regression" and np.bincount(sample_y.astype(int)).max() / len(sample_y) > 0.97:
        return []  # with one dominant class, near-perfect accuracy says nothing
    out = []
    columns = list(X.columns)[:MAX_COLUMNS]
    threshold, measure = (0.98, "R²") if task == "regression" else (0.99, "accuracy")
    with ThreadPoolExecutor(CHECK_THREADS) as pool:  # the trees release the GIL: columns in parallel
        scores = list(pool.map(lambda c: _single_column_score(X[c].iloc[idx].reset_index(drop=True), sample_y,
                                                              task, seed), columns))
    for column, score in zip(columns, scores):
        if score >= threshold:
            out.append(f"'{column}' alone predicts the target almost perfectly ({measure} {score:.2f} in "
                       "cross-validation). If its value is only known after the outcome, remove it: otherwise "
                       "the models will look better than they really are.")
    return out


def data_warnings(X: pd.DataFrame, y: np.ndarray, task: str, classes, seed: int = 0) -> list[str]:
    out = []
    if len(y) < FEW_ROWS:
        out.append(f"Only {len(y)} rows to learn from: scores will vary a lot and models may not generalise.")
    if task != "regression":
        counts = np.bincount(y.astype(int), minlength=len(classes))
        share = counts / counts.sum()
        total = int(counts.sum())
        rare = [f"'{classes[i]}' ({counts[i]:,} of {total:,} rows)" for i in range(len(classes))
                if share[i] < RARE_CLASS_SHARE]
        if rare:
            out.append("Imbalanced classes: " + ", ".join(rare) + (" is" if len(rare) == 1 else " are")
                       + " rare, so the models see few examples of them and may seldom predict them. Judge the "
                       "models by how well they rank or separate the classes (AUC, mean per-class error) rather "
                       "than by the share they get right.")
    try:
        out.extend(leakage(X, y, task, seed))
    except Exception:  # a warning check must never stop a run
        pass
    return out
