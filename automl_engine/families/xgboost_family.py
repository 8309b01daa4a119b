"""XGBoost: gradient boosting with trees grown level by level (depth-wise), on histograms.

LightGBM grows each tree leaf by leaf, always splitting the leaf that lowers the loss most; XGBoost
here grows every node of a level before the next, to a fixed depth, and prunes splits that gain
less than ``gamma``. The two make different trees from the same rows, which gives the weighted
ensembles another view to weigh. Categories reach it as the integer codes the other tree models
get, split on thresholds. Early stopping and the time limit work as for LightGBM.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator

from .base import (HOLDOUT_MIN_ROWS, BuildContext, Cost, Family, inner_deadline, inner_folds, refit_rounds,
                   stopping_split)

DEFAULTS = (
    {"learning_rate": 0.05, "max_depth": 6, "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.8,
     "reg_lambda": 1.0},
    {"learning_rate": 0.03, "max_depth": 10, "min_child_weight": 5.0, "subsample": 0.6, "colsample_bytree": 0.8,
     "reg_lambda": 3.0},
    {"learning_rate": 0.08, "max_depth": 3, "min_child_weight": 3.0, "subsample": 0.8, "colsample_bytree": 0.9,
     "reg_lambda": 1.0},
)
MIN_ROUNDS = 10  # rounds grown even past the deadline
ROUNDS = 3000  # at most; early stopping ends it far sooner
STOP_AFTER = 50  # rounds without improvement on the stopping rows
MAX_BIN = 256
# The losses of counts and amounts (a log link), by the names the LightGBM configs use: a model of numbers takes
# the loss of the best LightGBM model so far (see AutoML._adapted).
LOG_LINK_OBJECTIVES = {"poisson": "count:poisson", "tweedie": "reg:tweedie"}


def sample_config(rng: np.random.Generator) -> dict:
    return {"learning_rate": float(np.exp(rng.uniform(np.log(0.01), np.log(0.15)))),
            "max_depth": int(rng.choice([2, 3, 4, 5, 6, 8, 10, 12])),
            "min_child_weight": float(rng.choice([0.5, 1.0, 3.0, 5.0, 10.0, 20.0])),
            "subsample": float(rng.uniform(0.5, 1.0)),
            "colsample_bytree": float(rng.uniform(0.4, 1.0)),
            "reg_lambda": float(rng.choice([0.1, 1.0, 3.0, 10.0])),
            "reg_alpha": float(rng.choice([0.0, 0.01, 0.1, 1.0])),
            "gamma": float(rng.choice([0.0, 0.0, 0.1, 1.0]))}


def _deadline(deadline):
    """An XGBoost callback that stops adding trees when the wall-clock deadline passes."""
    import xgboost

    class Deadline(xgboost.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log) -> bool:
            return deadline is not None and time.time() > deadline and epoch + 1 >= MIN_ROUNDS

    return Deadline()


def _binned(X, y, ref=None):
    """The rows as the histogram method learns from them: each value as its bin (one byte), built without a
    full-precision copy of the matrix (about half the memory of a DMatrix on a million rows)."""
    import xgboost

    return xgboost.QuantileDMatrix(X, y, max_bin=MAX_BIN, ref=ref)


class XGBEstimator(BaseEstimator):
    """An XGBoost booster behind the scikit-learn contract (inputs: the tree-style numeric matrix)."""

    accepts_eval_set = True

    def __init__(self, task="regression", params=None, n_jobs=2, random_state=0, deadline=None, n_classes=None,
                 rounds=None):
        self.task = task
        self.params = params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.deadline = deadline
        self.n_classes = n_classes  # from the whole target: a fold may lack the rarest classes
        self.rounds = rounds  # set: grow exactly this many trees on all the rows (a refit), none held out

    def _params(self, y) -> dict:
        params = {"tree_method": "hist", "max_bin": MAX_BIN, "nthread": max(1, int(self.n_jobs)),
                  "seed": int(self.random_state), "verbosity": 0, **(self.params or {})}
        params["eta"] = params.pop("learning_rate", 0.3)
        objective = params.pop("objective", None)
        if self.task == "regression":
            counts = objective in LOG_LINK_OBJECTIVES and float(np.min(y)) >= 0
            params.update(objective=LOG_LINK_OBJECTIVES[objective] if counts else "reg:squarederror", eval_metric="rmse")
        elif self.task == "binary":
            params.update(objective="binary:logistic", eval_metric="logloss")
        else:
            self.k_ = max(int(self.n_classes or 0), int(np.max(y)) + 1)
            params.update(objective="multi:softprob", eval_metric="mlogloss", num_class=self.k_)
        return params

    def fit(self, X, y, eval_set=None):
        import xgboost

        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=float)
        params = self._params(y)
        callbacks = [_deadline(self.deadline)]
        if self.rounds:
            train, evals = _binned(X, y), []
        else:
            if eval_set is not None:
                X_fit, y_fit = X, y
                X_stop, y_stop = np.asarray(eval_set[0], dtype=np.float32), np.asarray(eval_set[1], dtype=float)
            elif len(y) >= HOLDOUT_MIN_ROWS:
                X_fit, X_stop, y_fit, y_stop = stopping_split(X, y, self.task, self.random_state)
            else:
                X_fit = None
            if X_fit is not None:
                train = _binned(X_fit, y_fit)
                del X_fit
                evals = [(_binned(X_stop, y_stop, ref=train), "stop")]
                # the booster kept ends at its best round (the rounds after it are dropped)
                callbacks.append(xgboost.callback.EarlyStopping(rounds=STOP_AFTER, save_best=True))
            else:
                train, evals = _binned(X, y), []
        rounds = self.rounds or (ROUNDS if evals else self._rounds_by_cv(params, X, y))
        self.booster_ = xgboost.train(params, train, num_boost_round=rounds, evals=evals, callbacks=callbacks,
                                      verbose_eval=False)
        self.best_iteration_ = self.booster_.num_boosted_rounds()  # the rounds it predicts with
        self.cut_short_ = bool(self.rounds) and self.best_iteration_ < self.rounds  # by the deadline
        self.n_features_in_ = X.shape[1]
        if self.task != "regression":
            self.classes_ = np.arange(2 if self.task == "binary" else self.k_)
        return self

    def _rounds_by_cv(self, params: dict, X, y) -> int:
        """The rounds for a table too small to hold rows out (under 100): the mean best round of an
        inner cross-validation, within its share of the time left (see ``inner_deadline``)."""
        import xgboost

        limit = inner_deadline(self.deadline)
        best = []
        for train_idx, valid_idx in inner_folds(y, self.task, self.random_state):
            if limit is not None and time.time() > limit and best:
                break
            booster = xgboost.train(params, xgboost.DMatrix(X[train_idx], y[train_idx]), num_boost_round=ROUNDS,
                                    evals=[(xgboost.DMatrix(X[valid_idx], y[valid_idx]), "stop")], verbose_eval=False,
                                    callbacks=[xgboost.callback.EarlyStopping(rounds=STOP_AFTER, save_best=False),
                                               _deadline(limit)])
            best.append(int(getattr(booster, "best_iteration", booster.num_boosted_rounds() - 1)) + 1)
        return max(MIN_ROUNDS, int(round(float(np.mean(best)))))

    def _margin_or_proba(self, X, **kwargs):
        import xgboost

        self.booster_.set_param({"nthread": max(1, int(self.n_jobs))})
        return self.booster_.predict(xgboost.DMatrix(np.asarray(X, dtype=np.float32)),
                                     iteration_range=(0, self.best_iteration_), **kwargs)

    def predict(self, X):
        if self.task == "regression":
            return self._margin_or_proba(X)
        return np.argmax(self.predict_proba(X), axis=1)

    def predict_proba(self, X):
        out = self._margin_or_proba(X)
        if self.task == "binary":
            return np.column_stack([1 - out, out])
        return out

    def contributions(self, X) -> np.ndarray:
        """Exact tree SHAP values: per row, each column's and then the base value (per class, side by side)."""
        out = self._margin_or_proba(X, pred_contribs=True)
        return out.reshape(len(out), -1)

    @property
    def feature_importances_(self):
        scores = self.booster_.get_score(importance_type="total_gain")
        out = np.zeros(self.n_features_in_)
        for name, value in scores.items():
            out[int(name[1:])] = value
        return out


def make_model(ctx: BuildContext, config: dict):
    config = dict(config)
    refit = config.pop("rounds", None)
    return XGBEstimator(task=ctx.task, params=config, n_jobs=ctx.n_jobs, random_state=ctx.seed,
                        deadline=ctx.deadline, n_classes=ctx.n_classes or None, rounds=refit)


def refit_config(fitted: list, config: dict) -> dict:
    """A model of numbers refit on all rows grows the fold models' best rounds, scaled (``refit_rounds``)."""
    return {**config, "rounds": refit_rounds([p.named_steps["model"].best_iteration_ for p in fitted], MIN_ROUNDS)}


FAMILY = Family(key="XGBoost", label="Gradient boosting (XGBoost)", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=3.0e-6, fixed_secs=0.2, bytes_per_cell=12, per_class=True),
                default_configs=DEFAULTS, sample_config=sample_config, bag_folds=True, paced=True, exact_shap=True,
                regression_keys=("objective",), refit_tasks=("regression",), refit_config=refit_config)
