"""CatBoost: gradient boosting with symmetric (oblivious) trees and ordered boosting.

Each level of a symmetric tree splits every node on the same column and threshold, and ordered
boosting fits each tree on residuals that did not see the row itself. Both hold the model back on
small and noisy tables, where it often beats LightGBM's leaf-wise trees.

Categories reach it as the same integer codes the other tree models get. With ``native_categorical``
(the first default, half of the searched configs) CatBoost is told they are categories and splits on
one category against the rest (one-hot splits: the codes stop at 250 levels, below ``ONE_HOT_MAX``);
without it, it splits on thresholds over the codes, as the forests do. In 5-fold cross-validation on
the training rows of the broad suite's tables with categories (first default, at most 10,000 rows),
one-hot splits against thresholds: binary 1 - AUC lower on 7 of 10, higher on 2, mean -3.1%;
regression RMSE lower on 6 of 14, higher on 7, mean -0.6%; multiclass log loss higher on
car_evaluation and penguins, whose categories are graded levels that thresholds keep together. So
both views are trained and the ensembles weigh them. CatBoost's target statistics of categories and
their combinations were measured too (binary mean -2.4%, at 2 to 8 times the time) and are not used:
they have no ONNX form. Early stopping and the time limit work as for LightGBM.
"""
from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..preprocessing import n_outputs_before_categorical
from .base import (HOLDOUT_MIN_ROWS, BuildContext, Cost, Family, inner_deadline, inner_folds, refit_rounds,
                   stopping_split)

# The first default splits categories one against the rest, the second on thresholds over their codes
# (``native_categorical``): the first did better on binary tables, neither on numbers and classes (see the
# module's docstring), and the two give the ensembles two views of the categories to weigh.
DEFAULTS = (
    {"learning_rate": 0.06, "depth": 6, "l2_leaf_reg": 3.0},
    {"learning_rate": 0.04, "depth": 8, "l2_leaf_reg": 5.0, "random_strength": 2.0, "native_categorical": False},
)
MIN_ROUNDS = 10
ROUNDS = 2000  # at most; early stopping ends it far sooner
STOP_AFTER = 50  # rounds without improvement on the stopping rows
# Folds of the inner cross-validation that counts the rounds under 100 rows. Fewer than LightGBM's:
# each CatBoost round costs more, and its folds grow one after another. On a 120-row sample of iris
# (5-fold out-of-fold log loss of the first default, and the time for the five fits) 3 folds gave
# 0.135 in 1.9 s, 5 folds 0.141 in 8.9 s, all 2,000 rounds 0.166 in 2.8 s; on a 112-row sample of
# titanic 0.476, 0.470 and 0.92.
INNER_FOLDS = 3
# Categories with at most this many levels are split one level against the rest; the category codes stop
# at 250 levels (rarer ones grouped), so every categorical column is split that way and none needs CatBoost's
# target statistics.
ONE_HOT_MAX = 255
MISSING_CODE = -1  # CatBoost takes categories as whole numbers: a missing or unknown category is this one


def sample_config(rng: np.random.Generator) -> dict:
    return {"learning_rate": float(np.exp(rng.uniform(np.log(0.02), np.log(0.15)))),
            "depth": int(rng.choice([4, 5, 6, 7, 8])),
            "l2_leaf_reg": float(rng.choice([1.0, 3.0, 5.0, 10.0, 20.0])),
            "random_strength": float(rng.choice([0.5, 1.0, 2.0, 5.0])),
            "bagging_temperature": float(rng.choice([0.0, 0.5, 1.0])),
            "native_categorical": bool(rng.random() < 0.5)}


class _Deadline:
    """CatBoost callback: stop adding trees when the wall-clock deadline passes."""

    def __init__(self, deadline):
        self.deadline = deadline

    def after_iteration(self, info) -> bool:
        return not (self.deadline is not None and time.time() > self.deadline and info.iteration >= MIN_ROUNDS)


def _settled(model):
    """The fitted model read back from its own saved form: the same trees and predictions.

    A model fresh from training also holds what training left behind, and a copy read back holds
    only what predicts: on 96 rows of 3 classes, 2,000 trees of depth 8 took 10 MB of memory as
    trained and 5 MB read back. CatBoost's library keeps the memory it has taken, so a run that keeps
    many fold models (small tables, long boosting) would otherwise hold twice what it needs.
    """
    return pickle.loads(pickle.dumps(model))


class CatBoostEstimator(BaseEstimator):
    """A CatBoost model behind the scikit-learn contract (inputs: the tree-style numeric matrix)."""

    accepts_eval_set = True

    def __init__(self, task="regression", params=None, n_jobs=2, random_state=0, deadline=None, n_classes=None,
                 categorical_features=None, rounds=None):
        self.task = task
        self.params = params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.deadline = deadline
        self.n_classes = n_classes  # from the whole target: a fold may lack the rarest classes
        self.categorical_features = categorical_features  # positions of the category codes in X
        self.rounds = rounds  # set: grow exactly this many trees on all the rows (a refit), none held out

    def _categories(self) -> list:
        """The positions CatBoost is told are categories: none when the config says to split on the codes
        (and in model files saved before categories were told)."""
        if not (self.params or {}).get("native_categorical", True):
            return []
        return list(getattr(self, "categorical_features", None) or [])

    def _data(self, X, y=None):
        """X as CatBoost takes it: the category codes as whole numbers, in a Pool that names them."""
        from catboost import Pool

        X = np.asarray(X, dtype=float)
        cats = self._categories()
        if not cats:
            return Pool(X, y)
        frame = pd.DataFrame(X)
        for j in cats:
            frame[j] = np.nan_to_num(X[:, j], nan=MISSING_CODE).astype(np.int64)
        return Pool(frame, y, cat_features=cats)

    def fit(self, X, y, eval_set=None):
        from catboost import CatBoostClassifier, CatBoostRegressor

        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        options = dict(thread_count=self.n_jobs, random_seed=self.random_state, one_hot_max_size=ONE_HOT_MAX,
                       verbose=False, allow_writing_files=False,
                       **{k: v for k, v in (self.params or {}).items() if k != "native_categorical"})
        k = 0 if self.task == "regression" else max(int(self.n_classes or 0), int(np.max(y)) + 1)

        def make(**more):
            if self.task == "regression":
                return CatBoostRegressor(loss_function="RMSE", **options, **more)
            loss = "Logloss" if self.task == "binary" else "MultiClass"
            return CatBoostClassifier(loss_function=loss, class_names=list(range(k)), **options, **more)

        fit = {"callbacks": [_Deadline(self.deadline)]}
        if self.rounds:
            X_fit, y_fit, valid = X, y, None
        elif eval_set is not None:
            X_fit, y_fit, valid = X, y, (np.asarray(eval_set[0], dtype=float), np.asarray(eval_set[1]))
        elif len(y) >= HOLDOUT_MIN_ROWS:
            X_fit, X_stop, y_fit, y_stop = stopping_split(X, y, self.task, self.random_state)
            valid = (X_stop, y_stop)
        else:
            X_fit, y_fit, valid = X, y, None
        if valid is not None:
            fit.update(eval_set=self._data(*valid), early_stopping_rounds=STOP_AFTER, use_best_model=True)
        counted = valid is None and self.task != "regression" and not self.rounds  # too few rows to hold any out
        model = make(iterations=self.rounds or (self._rounds_by_cv(make, X, y) if counted else ROUNDS))
        self.model_ = _settled(model.fit(self._data(X_fit, y_fit), **fit))
        self.cut_short_ = bool(self.rounds) and self.model_.tree_count_ < self.rounds  # by the deadline
        self.n_features_in_ = X.shape[1]
        if self.task != "regression":
            self.classes_ = np.arange(k)
        return self

    def _rounds_by_cv(self, make, X, y) -> int:
        """The number of rounds for classes on a table too small to hold rows out (under 100):
        the mean of the best rounds of an inner cross-validation (INNER_FOLDS folds), each fold
        stopped where its validation rows stop improving, all within their share of the time left
        (see ``inner_deadline``).

        Grown for every one of ROUNDS rounds, the probabilities grow over-confident and the log
        loss has no bound: on 110-row samples of titanic and credit_data the CatBoost models' out-of-
        fold log loss was 0.75-0.79 and 0.52-0.65, counted 0.53-0.55 and 0.47-0.48. A number needs no
        count: the squared error of CatBoost's regularised trees levels off, and on 110-row samples of
        Boston and wine_quality the counted rounds gave the same or a slightly higher error (4.62
        against 4.52).
        """
        limit = inner_deadline(self.deadline)
        best = []
        for train_idx, valid_idx in inner_folds(y, self.task, self.random_state, INNER_FOLDS):
            if limit is not None and time.time() > limit and best:
                break
            fold = make(iterations=ROUNDS).fit(self._data(X[train_idx], y[train_idx]),
                                               eval_set=self._data(X[valid_idx], y[valid_idx]),
                                               early_stopping_rounds=STOP_AFTER, callbacks=[_Deadline(limit)])
            best.append(fold.get_best_iteration() + 1)
        return max(MIN_ROUNDS, int(round(float(np.mean(best)))))

    def predict(self, X):
        if self.task == "regression":
            return self.model_.predict(self._data(X))
        return np.argmax(self.predict_proba(X), axis=1)

    def predict_proba(self, X):
        return self.model_.predict_proba(self._data(X))

    @property
    def feature_importances_(self):
        return self.model_.get_feature_importance()


def make_model(ctx: BuildContext, config: dict):
    start = n_outputs_before_categorical(ctx.spec)
    config = dict(config)
    refit = config.pop("rounds", None)
    return CatBoostEstimator(task=ctx.task, params=config, n_jobs=ctx.n_jobs, random_state=ctx.seed,
                             deadline=ctx.deadline, n_classes=ctx.n_classes or None,
                             categorical_features=list(range(start, start + len(ctx.spec.categorical))),
                             rounds=refit)


def refit_config(fitted: list, config: dict) -> dict:
    """A model of numbers refit on all rows grows the fold models' best rounds (each keeps its best), scaled."""
    return {**config, "rounds": refit_rounds([p.named_steps["model"].model_.tree_count_ for p in fitted], MIN_ROUNDS)}


FAMILY = Family(key="CatBoost", label="Gradient boosting (CatBoost)", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=4.0e-6, fixed_secs=0.6, bytes_per_cell=16, per_class=True),
                default_configs=DEFAULTS, sample_config=sample_config, bag_folds=True, refit_tasks=("regression",),
                refit_config=refit_config)
