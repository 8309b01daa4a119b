"""Cross-validation: fold splits, out-of-fold predictions and the time checks between folds."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import clone

from .memory import release_freed_memory
from .sampling import sample_keeping_classes

# Rows predicted at a time: a model's preprocessing holds several copies of the rows it transforms.
PREDICT_ROWS = 50_000


class OutOfTime(Exception):
    """The budget ran out before the model could be finished."""


def predict_raw(estimator, X, task: str) -> np.ndarray:
    """Predictions for the rows of X, PREDICT_ROWS at a time (the same numbers, a bounded memory)."""
    if len(X) > PREDICT_ROWS:
        rows = X.iloc if hasattr(X, "iloc") else X
        return np.concatenate([predict_raw(estimator, rows[i:i + PREDICT_ROWS], task)
                               for i in range(0, len(X), PREDICT_ROWS)])
    if task == "regression":
        return np.asarray(estimator.predict(X), dtype=float)
    return np.asarray(estimator.predict_proba(X), dtype=float)


def fit_rows(est, y, rows: np.ndarray, task: str) -> np.ndarray:
    """The training rows a model fits on: all of them, or a sample where its ``max_fit_rows`` says more
    would only cost memory (a linear model's weights are settled long before a million rows, while
    its one-hot matrix of all the rows can take gigabytes). A sample keeps a row of every class."""
    model = est.named_steps["model"] if hasattr(est, "named_steps") else est
    cap = getattr(model, "max_fit_rows", None)
    if not cap or len(rows) <= cap:
        return rows
    return sample_keeping_classes(rows, None if task == "regression" else y[rows], cap, seed=0)


def _fit_fold(make_estimator, X, y, train_idx, valid_idx, deadline, stop_by, task, keep, alone):
    if deadline is not None and time.time() > deadline:
        raise OutOfTime()
    est = make_estimator()
    if stop_by is not None and "model__deadline" in est.get_params():
        est.set_params(model__deadline=stop_by)
    train_idx = fit_rows(est, y, np.asarray(train_idx), task)
    model = est.named_steps["model"] if hasattr(est, "named_steps") else None
    if getattr(model, "accepts_eval_set", False):
        # The fold's validation rows tell the model when to stop (boosting rounds, epochs), at every
        # size: the fold model learns from all of its fold's training rows. Rows of its own held out
        # for that (a tenth) left a fold model of a small table 72% of the table, and were no better
        # on the whole: 30 runs of the 15 tables under 5,000 training rows (two splits), error lower
        # on 14, higher on 13, geometric mean -0.5% (docs/BENCHMARK.md, 2026-12-03).
        prep = est.named_steps["prep"]
        Xt = prep.fit_transform(X.iloc[train_idx], y[train_idx])
        # A model may use the validation rows only on some tables (a linear model's path of strengths on
        # small ones): elsewhere they are not transformed, a dense copy of them the fit would not read.
        wanted = getattr(model, "wants_eval_set", None)
        valid = (prep.transform(X.iloc[valid_idx]), y[valid_idx]) if wanted is None or wanted(Xt) else None
        model.fit(Xt, y[train_idx], eval_set=valid)
        del Xt, valid  # before the validation rows are predicted, below
    else:
        est.fit(X.iloc[train_idx], y[train_idx])
    pred = predict_raw(est, X.iloc[valid_idx], task)
    release = getattr(getattr(est, "named_steps", {}).get("model"), "release", None)
    if not keep and release is not None:
        release()  # the fold model is not kept: free its memory now, keep only what the refit needs
    if alone:  # what training freed (converted copies, the booster's text form) goes back now
        # Not while another fold trains in the next thread: the trim locks each allocator arena while it
        # walks it, holding up that fold's allocations; cross_validate trims once all folds are done.
        release_freed_memory()
    return est, pred


def cross_validate(make_estimator, X, y, splits, task: str, n_classes: int, deadline: float | None,
                   n_parallel: int = 1, fold_deadline: float | None = None, keep: bool = True):
    """Fit one estimator per fold; return (out-of-fold predictions with NaN where unseen, fold estimators).

    Folds run ``n_parallel`` at a time in threads (the model libraries release the GIL).
    ``deadline`` is when the run's budget ends: a fold that would start later is not started.
    ``fold_deadline`` is when long fits must wrap up early (boosting stops adding trees).
    """
    from joblib import Parallel, delayed

    oof = _unseen(len(y), task, n_classes)
    jobs = (delayed(_fit_fold)(make_estimator, X, y, train_idx, valid_idx, deadline,
                               _wave_deadline(i, len(splits), n_parallel, deadline, fold_deadline), task, keep,
                               n_parallel == 1)
            for i, (train_idx, valid_idx) in enumerate(splits))
    fitted = []
    for (est, pred), (_, valid_idx) in zip(Parallel(n_jobs=n_parallel, backend="threading")(jobs), splits):
        oof[valid_idx] = align_classes(pred, est, n_classes, task)
        fitted.append(est)
    release_freed_memory()  # every fold is done: nothing trains beside the trim
    return oof, fitted


def out_of_fold(fitted: list, X, splits, task: str, n_classes: int) -> np.ndarray:
    """The out-of-fold predictions of fold estimators fitted before (after they settled on a setting)."""
    oof = _unseen(len(X), task, n_classes)
    for est, (_, valid_idx) in zip(fitted, splits):
        oof[valid_idx] = align_classes(predict_raw(est, X.iloc[valid_idx], task), est, n_classes, task)
    return oof


def _unseen(n_rows: int, task: str, n_classes: int) -> np.ndarray:
    """Out-of-fold predictions before any fold: NaN for every row (a column per class for classes)."""
    return np.full((n_rows,) if task == "regression" else (n_rows, n_classes), np.nan)


def _wave_deadline(i, n_folds, n_parallel, deadline, fold_deadline):
    """Folds run in waves of ``n_parallel``; each wave gets an equal share of the model's time."""
    limits = [d for d in (deadline, fold_deadline) if d is not None]
    if not limits:
        return None
    end = min(limits)
    waves = -(-n_folds // n_parallel)
    now = time.time()
    return now + (end - now) * (i // n_parallel + 1) / waves


class FoldAverage:
    """The fold models of a cross-validation, averaged: used as the final model instead of a refit."""

    def __init__(self, estimators: list, task: str, n_classes: int, n_jobs: int = 1):
        self.estimators = estimators
        self.task = task
        self.n_classes = n_classes
        self.n_jobs = n_jobs

    def _each(self, predict_one) -> list:
        """Every fold model's prediction; ``n_jobs`` at a time in threads (the libraries release the GIL)."""
        workers = min(len(self.estimators), getattr(self, "n_jobs", 1))  # older model files lack n_jobs
        if workers <= 1:
            return [predict_one(e) for e in self.estimators]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(predict_one, self.estimators))

    def predict(self, X):
        return np.mean(self._each(lambda e: predict_raw(e, X, "regression")), axis=0)

    def predict_proba(self, X):
        return np.mean(self._each(lambda e: align_classes(predict_raw(e, X, self.task), e, self.n_classes, self.task)),
                       axis=0)


def align_classes(pred, est, n_classes, task):
    """Put class probabilities in columns 0..n_classes-1 even if the model's rows lacked a class.

    A fold, a holdout's training part or a sample can miss a rare class; its model then has fewer
    probability columns, in the order of the classes it saw."""
    if task == "regression" or pred.shape[1] == n_classes:
        return pred
    classes = getattr(est, "classes_", None)
    if classes is None and hasattr(est, "steps"):
        classes = getattr(est.steps[-1][1], "classes_", None)
    full = np.zeros((pred.shape[0], n_classes))
    full[:, np.asarray(classes, dtype=int)] = pred
    return full


def fit_full(make_estimator, X, y, task: str):
    est = make_estimator()
    rows = fit_rows(est, y, np.arange(len(y)), task)
    if len(rows) < len(y):
        X, y = X.iloc[rows], y[rows]
    est.fit(X, y)
    return est


def covered(oof: np.ndarray) -> np.ndarray:
    """Rows that received an out-of-fold prediction."""
    return ~np.isnan(oof if oof.ndim == 1 else oof[:, 0])


__all__ = ["align_classes", "cross_validate", "out_of_fold", "fit_full", "covered", "OutOfTime", "FoldAverage", "clone"]
