"""GLM: regularized linear regression and logistic regression, bounded in time.

A linear fit cannot be stopped half-way by the solvers it uses, so the time is bounded in two
ways: on a large table, a fit on a small probe sample tells how long a row costs and the model
is fitted on as many rows as the time allows (a linear model gains little from the rest); and
the logistic solver runs in short stretches, checking the clock between them.

How strongly the weights are held back (the regularisation) is chosen from the data, as H2O's
GLM searches its lambda: ridge regression by leave-one-out over its alphas, and logistic
regression, on a table small enough for it to take a moment, by log loss over a path of strengths
(on larger tables the default strength holds: the data then outweighs it). In the run's
cross-validation each fold model fits a path of strengths (from the default outwards, each from the
weights of the nearest one fitted) and scores it on its fold's validation rows; the strength with the
lowest log loss over all folds' rows is then the one every fold model and the final model use
(``settle``; the final model's C scaled to its rows, the same strength per row). Chosen
inside each fold by a 3-fold split of its training rows, the choice was noisier: on the nearly
separable folds of a small table it ran to the weakest regularisation, whose confident mistakes
the whole cross-validation shows.
"""
from __future__ import annotations

import copy
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, Ridge, RidgeCV
from sklearn.model_selection import StratifiedKFold

from ..sampling import sample_keeping_classes
from .base import BuildContext, Cost, Family

ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
PROBE_ROWS = 2_000  # rows fitted first, to learn what a row costs on this table
TIME_SHARE = 0.7  # of the time allowed, what the full fit plans to use (the rest is margin)
SOLVER_STRETCH = 50  # solver iterations between looks at the clock
MAX_ITER = 2_000
STRENGTHS = (0.1, 0.3, 1.0, 3.0, 10.0)  # logistic C values of a choice inside one fit (C is 1 / the strength)
DEFAULT_C = 1.0
# The strengths a fold model fits, from the default outwards (a fold cut by the clock has fitted those
# nearest it), each from the weights of the nearest one fitted before; the choice over all folds can go wider.
PATH = (1.0, 0.3, 3.0, 0.1, 10.0, 0.03, 30.0, 0.01, 100.0, 0.003, 300.0, 0.001, 1000.0)
PROBA_FLOOR = 1e-15
TUNE_CELLS = 300_000  # up to this many rows x columns, logistic regression chooses its C by cross-validation
TUNE_FOLDS = 3
# Rows a fit uses at most (a sample beyond, see validation.fit_rows): with a few hundred columns the
# weights are settled long before, while the one-hot matrix of a million rows takes gigabytes.
MAX_FIT_ROWS = 100_000
ALPHA_ROWS = 20_000  # ridge picks its alpha by leave-one-out on at most this many rows (its memory grows with rows)


class GLMEstimator(BaseEstimator):
    max_fit_rows = MAX_FIT_ROWS
    accepts_eval_set = True  # a fold's validation rows score the path of strengths (see settle)

    def __init__(self, task="regression", C=None, random_state=0, deadline=None, C_rows=None):
        self.task = task
        self.C = C
        self.C_rows = C_rows  # the rows C was chosen on, if any: a fit on more rows keeps its strength per row
        self.random_state = random_state
        self.deadline = deadline

    def wants_eval_set(self, X) -> bool:
        """Validation rows are used for a path of strengths: logistic regression with its C not chosen yet,
        on a table small enough for the path to take a moment."""
        return self.task != "regression" and self.C is None and np.shape(X)[0] * np.shape(X)[1] <= TUNE_CELLS

    def fit(self, X, y, eval_set=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.path_losses_ = None
        if eval_set is not None and self.wants_eval_set(X):
            return self._fit_path(X, y, np.asarray(eval_set[0], dtype=float), np.asarray(eval_set[1]))
        self.tuned_ = self.task != "regression" and self.C is None and X.size <= TUNE_CELLS \
            and np.unique(y, return_counts=True)[1].min() >= TUNE_FOLDS
        rows = self._rows_in_time(X, y)
        if rows < len(y):
            idx = self._sample(y, rows)
            X, y = X[idx], y[idx]
        self.rows_used_ = len(y)
        self.model_ = self._fit(X, y)
        self.n_features_in_ = X.shape[1]
        if self.task != "regression":
            self.classes_ = self.model_.classes_
        return self

    def _fit_path(self, X, y, X_valid, y_valid):
        """Fit the strengths of PATH in turn while the clock allows, each from the weights of the nearest
        one fitted before; keep each fit and its summed log loss on the validation rows. The default
        strength predicts until ``settle`` chooses one for all folds (a choice on these rows alone would
        flatter the fold's out-of-fold score)."""
        self.tuned_ = True
        self.rows_used_ = len(y)
        self.n_features_in_ = X.shape[1]
        self.path_models_, losses = {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for c in PATH:
                if self.path_models_:
                    nearest = min(self.path_models_, key=lambda fitted: abs(np.log(fitted / c)))
                    model = copy.deepcopy(self.path_models_[nearest])
                else:
                    model = LogisticRegression(max_iter=MAX_ITER, warm_start=True, random_state=self.random_state)
                self.path_models_[c] = model.set_params(C=c).fit(X, y)
                losses[c] = _summed_log_loss(model.predict_proba(X_valid), model.classes_, y_valid)
                if self.deadline is not None and time.time() > self.deadline:
                    break
        self.path_losses_ = losses
        self.classes_ = self.path_models_[DEFAULT_C].classes_
        return self.use(DEFAULT_C)

    def use(self, c: float) -> "GLMEstimator":
        """Predict with the path's fit at strength ``c``."""
        self.model_ = self.path_models_[c]
        return self

    def _fit(self, X, y):
        if self.task == "regression":
            if len(y) <= ALPHA_ROWS:
                return RidgeCV(alphas=ALPHAS).fit(X, y)
            # Leave-one-out on a sample picks alpha; the penalty weighs against a sum over rows, so it
            # grows with them. The fit on all rows then solves the small columns x columns system.
            idx = self._sample(y, ALPHA_ROWS)
            alpha = RidgeCV(alphas=ALPHAS).fit(X[idx], y[idx]).alpha_ * len(y) / len(idx)
            return Ridge(alpha=alpha, solver="cholesky").fit(X, y)
        if self.tuned_:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                folds = StratifiedKFold(TUNE_FOLDS, shuffle=True, random_state=self.random_state)
                return LogisticRegressionCV(Cs=list(STRENGTHS), cv=folds, scoring="neg_log_loss", max_iter=MAX_ITER,
                                            random_state=self.random_state).fit(X, y)
        model = LogisticRegression(C=self._strength(len(y)), max_iter=SOLVER_STRETCH, warm_start=True,
                                   random_state=self.random_state)
        done = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            while done < MAX_ITER:
                model.fit(X, y)
                done += SOLVER_STRETCH
                if int(np.max(model.n_iter_)) < SOLVER_STRETCH:  # converged
                    break
                if self.deadline is not None and time.time() > self.deadline:
                    break
        return model

    def _strength(self, rows: int) -> float:
        """C for a fit on ``rows`` rows. sklearn's C weighs the loss summed over rows against the penalty,
        so a C chosen on a fold's rows is scaled to the rows of this fit: the same strength per row, as
        H2O's lambda is (ridge's alpha above likewise)."""
        if self.C is None:
            return DEFAULT_C
        return self.C * rows / self.C_rows if self.C_rows else self.C

    def _rows_in_time(self, X, y) -> int:
        """All rows, unless a probe fit says they would not fit in the time left."""
        n = len(y)
        if self.deadline is None or n <= 2 * PROBE_ROWS:
            return n
        started = time.time()
        self._fit(*(a[self._sample(y, PROBE_ROWS)] for a in (X, y)))
        per_row = (time.time() - started) / PROBE_ROWS
        allowed = self.deadline - time.time()
        return int(min(n, max(PROBE_ROWS, TIME_SHARE * allowed / max(per_row, 1e-9))))

    def _sample(self, y, rows: int) -> np.ndarray:
        """A random sample of rows that keeps at least one row of every class."""
        return sample_keeping_classes(np.arange(len(y)), None if self.task == "regression" else y, rows,
                                      self.random_state)

    def predict(self, X):
        return self.model_.predict(np.asarray(X, dtype=float))

    def predict_proba(self, X):
        return self.model_.predict_proba(np.asarray(X, dtype=float))


def _summed_log_loss(proba: np.ndarray, classes: np.ndarray, y: np.ndarray) -> float:
    """Log loss summed over rows (a row of a class the fit never saw counts as probability zero)."""
    column = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)  # classes_ are sorted
    p = np.where(classes[column] == y, proba[np.arange(len(y)), column], 0.0)
    return float(-np.log(np.clip(p, PROBA_FLOOR, 1.0)).sum())


def settle(fitted: list) -> dict | None:
    """The strength with the lowest log loss over every fold's validation rows, as H2O's GLM picks its
    lambda from the cross-validation: every fold model switches to it, and the final model takes it,
    scaled to its rows (``C_rows``: the folds' mean training rows). None when not every fold fitted a
    path (a regression, a large table); the fold models then keep the default strength."""
    models = [est.named_steps["model"] if hasattr(est, "named_steps") else est for est in fitted]
    paths = [getattr(m, "path_losses_", None) for m in models]
    if not paths or any(p is None for p in paths):
        for m in models:
            if getattr(m, "path_losses_", None) is not None:
                m.path_models_ = {DEFAULT_C: m.model_}
        return None
    common = [c for c in PATH if all(c in p for p in paths)]  # a fold cut by the clock fits fewer
    best = min(common, key=lambda c: sum(p[c] for p in paths))
    for m in models:
        m.use(best)
        m.path_models_ = {best: m.model_}  # the other fits are not needed any more
    return {"C": best, "C_rows": int(np.mean([m.rows_used_ for m in models]))}


def make_model(ctx: BuildContext, config: dict):
    return GLMEstimator(task=ctx.task, C=config.get("C"), random_state=ctx.seed, deadline=ctx.deadline,
                        C_rows=config.get("C_rows"))


FAMILY = Family(key="GLM", label="Linear model", style="linear", make_model=make_model,
                cost=Cost(secs_per_cell=5.0e-7, fixed_secs=0.05, bytes_per_cell=24, per_class=True,
                          max_rows=MAX_FIT_ROWS), settle=settle)
