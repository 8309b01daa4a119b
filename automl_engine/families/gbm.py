"""GBM: LightGBM gradient boosting, with early stopping and a time limit inside the fit."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator

from ..preprocessing import n_outputs_before_categorical
from .base import (HOLDOUT_MIN_ROWS, BuildContext, Cost, Family, inner_deadline, inner_folds, refit_rounds,
                   stopping_split)

DEFAULTS = (
    {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 0.9,
     "bagging_fraction": 0.9, "bagging_freq": 1},
    {"learning_rate": 0.03, "num_leaves": 128, "min_child_samples": 5, "feature_fraction": 0.7,
     "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0},
    {"learning_rate": 0.08, "num_leaves": 15, "min_child_samples": 3, "feature_fraction": 0.8,
     "lambda_l2": 0.1, "native_categorical": False, "min_sum_hessian_in_leaf": 1e-4},
    {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10, "feature_fraction": 0.6,
     "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0},
    {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 0.9,
     "bagging_fraction": 0.9, "bagging_freq": 1, "objective": "poisson"},
    {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10, "feature_fraction": 0.6,
     "extra_trees": True, "lambda_l2": 1.0},  # random split points: cheap diversity on small tables
    # Trees of four leaves: a sum of small effects with few interactions, for a weak or mostly additive
    # signal. In 5-fold cross-validation on the training rows it beat 15 and 31 leaves on taxi (1 - AUC
    # 0.354 against 0.362 and 0.372), attrition (0.169 against 0.189), stackoverflow, HealthInsurance,
    # Boston and Carseats, and lost on mlc_churn, cells, gapminder and wine_quality.
    {"learning_rate": 0.05, "num_leaves": 4, "min_child_samples": 20, "feature_fraction": 0.9,
     "bagging_fraction": 0.9, "bagging_freq": 1},
)


def sample_config(rng: np.random.Generator) -> dict:
    return {
        "learning_rate": float(np.exp(rng.uniform(np.log(0.01), np.log(0.15)))),
        "num_leaves": int(rng.choice([3, 4, 7, 15, 31, 63, 127, 255])),
        "min_child_samples": int(rng.choice([2, 3, 5, 10, 20, 40, 80])),
        "feature_fraction": float(rng.uniform(0.4, 1.0)),
        "bagging_fraction": float(rng.uniform(0.5, 1.0)),
        "bagging_freq": 1,
        "lambda_l1": float(rng.choice([0.0, 0.01, 0.1, 1.0])),
        "lambda_l2": float(rng.choice([0.0, 0.1, 1.0, 10.0])),
        "min_sum_hessian_in_leaf": float(rng.choice([1e-4, 1e-3, 1e-2])),
        "extra_trees": bool(rng.random() < 0.25),
        "native_categorical": bool(rng.random() < 0.6),
        "cat_smooth": float(rng.choice([1.0, 10.0, 30.0])),
        "min_data_per_group": int(rng.choice([5, 20, 100])),
        "max_cat_to_onehot": int(rng.choice([4, 8, 16])),
        "objective": str(rng.choice(["regression", "regression", "poisson", "tweedie"])),
    }


COUNT_OBJECTIVES = ("poisson", "tweedie")
MIN_DATA_IN_LEAF = 20  # LightGBM's default for min_child_samples


def _rows_per_leaf(params: dict) -> int:
    """The configuration's ``min_child_samples`` (or LightGBM's other name for it, or its default)."""
    return int(params.get("min_child_samples", params.get("min_data_in_leaf", MIN_DATA_IN_LEAF)))


MIN_TREE_LEAVES = 8  # a configuration must let a tree grow this many leaves (three levels) on its rows


def rows_per_leaf_that_fit(params: dict, n_rows: int) -> int:
    """``min_child_samples`` no larger than lets a tree grow MIN_TREE_LEAVES leaves on ``n_rows`` rows.

    The searched values (up to 80 rows per leaf) are for tables of thousands of rows. On iris's
    folds (96 rows, 3 classes) a third of the searched boosting models could not split at all and
    predicted the class shares, and the default of 20 allowed trees of four leaves at most.
    """
    return max(1, min(_rows_per_leaf(params), n_rows // MIN_TREE_LEAVES))


def leaves_that_fit(params: dict, n_rows: int) -> int:
    """``num_leaves`` no larger than the tree can grow: every leaf holds ``min_child_samples`` rows.

    The trees are the same either way, but LightGBM sets aside room for ``num_leaves`` leaves in
    every tree while it trains: 255 leaves on a table that allows 15 took 86 MB more for one fit.
    """
    leaves = int(params.get("num_leaves", 31))
    return max(2, min(leaves, n_rows // max(_rows_per_leaf(params), 1)))


class _ThreadCountGate:
    """Lets LightGBM calls run side by side only when they ask for the same number of threads.

    LightGBM keeps the number of threads in one process-wide setting, which every training and
    prediction call sets from its own parameters (a prediction without ``num_threads`` resets it to
    all cores). A fit sizes per-thread buffers from it, so a concurrent call with another count
    makes the fit index past them and the process crashes (LightGBM's parameter notes warn against
    changing ``num_threads`` while jobs run side by side). Folds trained in parallel and fold models
    predicting in parallel all use the same count, so they still overlap. Calls go in by order of
    arrival: one that waits for another count is not overtaken, so a stream of calls never starves it.
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._running = 0  # calls inside
        self._threads = 0  # their number of threads
        self._arrived = 0  # tickets given out
        self._admitted = 0  # tickets let in

    @contextmanager
    def use(self, threads: int):
        with self._changed:
            ticket = self._arrived
            self._arrived += 1
            while ticket != self._admitted or (self._running and self._threads != threads):
                self._changed.wait()
            self._admitted += 1
            self._threads = threads
            self._running += 1
            self._changed.notify_all()  # the next in line may share this count
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


LIGHTGBM_THREADS = _ThreadCountGate()


def booster_predict(estimator, X, **kwargs):
    """``estimator.booster_.predict`` with the estimator's own number of threads, through the gate."""
    threads = max(1, int(getattr(estimator, "n_jobs", 1) or 1))
    with LIGHTGBM_THREADS.use(threads):
        return estimator.booster_.predict(X, num_iteration=estimator.best_iteration_, num_threads=threads, **kwargs)


MIN_ROUNDS = 10  # rounds grown even past the deadline: fewer would give a model worse than a constant


class _Deadline:
    """LightGBM callback that ends training when the wall-clock deadline passes."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.order = 30

    def __call__(self, env):
        import lightgbm

        if self.deadline is not None and time.time() > self.deadline and env.iteration >= MIN_ROUNDS:
            raise lightgbm.callback.EarlyStopException(env.iteration - 1, env.evaluation_result_list or [])


class LGBMEstimator(BaseEstimator):
    """A LightGBM booster behind the scikit-learn contract.

    Inside cross-validation the fold's validation rows decide when to stop adding trees (the
    fold models are then averaged, or for numbers a model refit on all rows grows ``rounds``, counted
    from theirs); otherwise a tenth of the training rows is held out for that.
    """

    def __init__(self, task="regression", params=None, categorical_features=None, n_estimators=3000,
                 early_stopping_rounds=50, n_jobs=2, random_state=0, deadline=None, n_classes=None, rounds=None):
        self.task = task
        self.params = params
        self.categorical_features = categorical_features
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.deadline = deadline
        self.n_classes = n_classes  # from the whole target: a fold may lack the rarest classes
        self.rounds = rounds  # set: grow exactly this many trees on all the rows (a refit), none held out

    def _objective(self, y):
        if self.task == "regression":
            return {"objective": "regression", "metric": "l2"}
        if self.task == "binary":
            return {"objective": "binary", "metric": "binary_logloss"}
        return {"objective": "multiclass", "metric": "multi_logloss", "num_class": max(int(self.n_classes or 0), int(np.max(y)) + 1)}

    accepts_eval_set = True

    def fit(self, X, y, eval_set=None):
        """Train; stop adding trees when ``eval_set`` (or a tenth of the rows held out) stops improving."""
        import lightgbm

        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        config = dict(self.params or {})
        objective = config.pop("objective", None)
        params = {"verbosity": -1, "num_threads": max(1, int(self.n_jobs)), "seed": self.random_state,
                  "deterministic": True, "force_row_wise": True, **self._objective(y), **config}
        native = params.pop("native_categorical", True)
        if self.task == "regression" and objective in COUNT_OBJECTIVES and np.min(y) >= 0:
            params["objective"] = objective  # counts and amounts: model the log of the mean
        cats = list(self.categorical_features or []) if native else []
        callbacks = [_Deadline(self.deadline)]
        if self.rounds:
            train, valid = lightgbm.Dataset(X, y, categorical_feature=cats, free_raw_data=False), []
        elif eval_set is not None:
            train = lightgbm.Dataset(X, y, categorical_feature=cats, free_raw_data=False)
            valid = [lightgbm.Dataset(np.asarray(eval_set[0], dtype=float), np.asarray(eval_set[1]), reference=train,
                                      categorical_feature=cats)]
            callbacks.append(lightgbm.early_stopping(self.early_stopping_rounds, verbose=False))
        elif len(y) >= HOLDOUT_MIN_ROWS:
            X_fit, X_stop, y_fit, y_stop = stopping_split(X, y, self.task, self.random_state)
            train = lightgbm.Dataset(X_fit, y_fit, categorical_feature=cats, free_raw_data=False)
            valid = [lightgbm.Dataset(X_stop, y_stop, reference=train, categorical_feature=cats)]
            callbacks.append(lightgbm.early_stopping(self.early_stopping_rounds, verbose=False))
        else:
            train, valid = lightgbm.Dataset(X, y, categorical_feature=cats, free_raw_data=False), []
        rows = len(train.get_label())
        params.pop("min_data_in_leaf", None)
        params["min_child_samples"] = rows_per_leaf_that_fit(config, rows)
        params["num_leaves"] = leaves_that_fit(params, rows)
        rounds = self.rounds or (self.n_estimators if valid else self._rounds_by_cv(params, train, y))
        with LIGHTGBM_THREADS.use(params["num_threads"]):
            self.booster_ = lightgbm.train(params, train, num_boost_round=rounds,
                                           valid_sets=valid, callbacks=callbacks)
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        self.cut_short_ = bool(self.rounds) and self.booster_.current_iteration() < self.rounds  # by the deadline
        self.n_features_in_ = X.shape[1]
        return self

    def _rounds_by_cv(self, params: dict, train, y) -> int:
        """The number of rounds for a table too small to hold rows out (under 100): an inner
        cross-validation stops adding trees where its folds' mean loss stops improving.

        Without it such a table grew every one of ``n_estimators`` rounds: on iris's training folds
        (96 rows) 1,500 rounds made the default boosting model's out-of-fold log loss 0.40 instead of
        about 0.15. It stops within its share of the time left (see ``inner_deadline``).
        """
        import lightgbm

        with LIGHTGBM_THREADS.use(params["num_threads"]):
            result = lightgbm.cv(params, train, num_boost_round=self.n_estimators,
                                 folds=inner_folds(y, self.task, self.random_state),
                                 callbacks=[lightgbm.early_stopping(self.early_stopping_rounds, verbose=False),
                                            _Deadline(inner_deadline(self.deadline))])
        return max(1, len(next(iter(result.values()))))

    def _raw(self, X):
        return booster_predict(self, np.asarray(X, dtype=float))

    def predict(self, X):
        out = self._raw(X)
        if self.task == "regression":
            return out
        return np.argmax(self.predict_proba(X), axis=1)

    def predict_proba(self, X):
        out = self._raw(X)
        if self.task == "binary":
            return np.column_stack([1 - out, out])
        return out

    def contributions(self, X) -> np.ndarray:
        """Exact tree SHAP values: per row, each column's and then the base value (per class, side by side)."""
        return booster_predict(self, np.asarray(X, dtype=float), pred_contrib=True)

    @property
    def feature_importances_(self):
        return self.booster_.feature_importance(importance_type="gain")


def make_model(ctx: BuildContext, config: dict):
    start = n_outputs_before_categorical(ctx.spec)
    cats = list(range(start, start + len(ctx.spec.categorical)))
    rounds = 3000 if ctx.task != "multiclass" else 1500  # each multiclass round grows a tree per class
    config = dict(config)
    refit = config.pop("rounds", None)
    return LGBMEstimator(task=ctx.task, params=config, categorical_features=cats, n_jobs=ctx.n_jobs,
                         random_state=ctx.seed, deadline=ctx.deadline, n_estimators=rounds,
                         n_classes=ctx.n_classes or None, rounds=refit)


def refit_config(fitted: list, config: dict) -> dict:
    """A model of numbers refit on all rows grows the fold models' best rounds, scaled (``refit_rounds``)."""
    return {**config, "rounds": refit_rounds([p.named_steps["model"].best_iteration_ for p in fitted], MIN_ROUNDS)}


FAMILY = Family(key="GBM", label="Gradient boosting (LightGBM)", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=2.0e-6, fixed_secs=0.15, bytes_per_cell=12, per_class=True),
                default_configs=DEFAULTS, sample_config=sample_config, bag_folds=True, paced=True, exact_shap=True,
                regression_keys=("objective",), refit_tasks=("regression",), refit_config=refit_config)
