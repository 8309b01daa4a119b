"""The AutoML run: plan models, train each with cross-validation, stack, rank, report events."""
from __future__ import annotations

import dataclasses
import itertools
import logging
import time
import traceback
from typing import Iterator, Optional

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from . import events as ev
from . import stacking
from .checks import data_warnings
from .ensemble import fit_stack
from .errors import DataError
from .families import ENSEMBLE_ALGO, FAMILIES, BuildContext
from .families.gbm import COUNT_OBJECTIVES
from .metrics import COLUMNS, resolve_sort_metric, score, sort_key
from .model import EnsembleModel, StackedModel, TrainedModel, library_versions, machine, stacked_frame
from .memory import release_freed_memory
from .model_file import save_model
from .planning import (FIRST_MODEL_SHARE, MIN_SAMPLE_ROWS, MODEL_SHARE, START_FACTOR, YARDSTICK, Budget, CostModel,
                       TableShape, Validation, budget_words, choose_validation, config_factor, forecast, make_splits,
                       schedule)
from .schema import check_column_choice, check_task, feature_spec, infer_task
from .validation import FoldAverage, OutOfTime, covered, cross_validate, fit_full, out_of_fold

log = logging.getLogger(__name__)

DEFAULT_RUNTIME_SECS = 120
MIN_ROWS = 10
# The default models, in the order they are tried: boosting first (quick and good on most tables,
# and it yields the first leaderboard row), then one of each family, then more boosting defaults.
DEFAULT_MODELS = (("GBM", 0), ("GLM", 0), ("DRF", 0), ("DeepLearning", 0), ("GBM", 1), ("GBM", 6), ("CatBoost", 0),
                  ("XGBoost", 0), ("XRT", 0), ("GBM", 2), ("GBM", 3), ("CatBoost", 1), ("XGBoost", 1), ("GBM", 5),
                  ("XGBoost", 2))
COUNT_LOSS_AFTER = ("GBM", 2)  # regression tries the count loss (boosting default 4) right after this one
# The random search after the default models: LightGBM has three turns in seven.
SEARCH_ORDER = ("GBM", "XRT", "CatBoost", "GBM", "XGBoost", "DeepLearning", "GBM", "DRF")
FIRST_MODEL_MARGIN = 0.5  # the first model plans to use this share of its window (the fit has fixed costs)
RESCUE_FAMILIES = ("GBM", "GLM", "XRT", "DRF", "DeepLearning")
RESCUE_ROWS = 10_000
RESCUE_SECS = 2.0
ENOUGH_MODELS = 3  # fewer models than this in the budget: the pre-flight estimate says the budget is too small
OTHER_BUDGETS = (60, 300, 900, 1800, 3600)  # budgets the pre-flight estimate compares with
MAX_PACED_RATE = 0.2  # the highest learning rate a boosting model is sped up to when its time is short
CUT_PACE = 2.0  # a boosting model cut by its deadline is taken to have needed this many times its time
TIMING_ROWS = 250  # rows predicted to measure a model's prediction time per row
SELECTED_BY = {("auc", "binary"): "1 - AUC", ("loss", "binary"): "log loss", ("loss", "multiclass"): "log loss",
               ("loss", "regression"): "squared error"}  # what a weighted ensemble's selection lowered


class AutoML:
    """Train and rank many models on one table, in the spirit of H2O AutoML."""

    def __init__(self, max_models: Optional[int] = None, max_runtime_secs: Optional[float] = None,
                 nfolds: int = 5, seed: int = 1, sort_metric: Optional[str] = None,
                 include_algos=None, exclude_algos=None, task: str = "auto", callback=None,
                 n_jobs: int = 2, ignore_columns=(), keep_columns=(), started_at: Optional[float] = None,
                 validation: Optional[dict] = None):
        if max_models is None and max_runtime_secs is None:
            max_runtime_secs = DEFAULT_RUNTIME_SECS
        self.max_models = max_models
        self.max_runtime_secs = max_runtime_secs
        self.nfolds = nfolds
        self.seed = seed
        self.sort_metric = sort_metric
        self.include_algos = include_algos
        self.exclude_algos = exclude_algos
        self.task = task
        self.callback = callback
        self.n_jobs = n_jobs
        self.ignore_columns = tuple(ignore_columns or ())  # columns not to learn from
        self.keep_columns = tuple(keep_columns or ())  # columns to learn from although they look like IDs
        self.started_at = started_at  # when the run's clock started (reading the file included); default: fit()
        # A continued run scores its new models as the first run did (Validation.to_dict); default: chosen
        # from the budget and the table.
        self.validation = validation
        self.models: dict[str, TrainedModel] = {}
        self.failures: list[dict] = []
        self.leaderboard: list[dict] = []
        self.stopped_early = False
        self._tried: set[str] = set()  # model ids an earlier run of this experiment tried

    # -- public API ---------------------------------------------------------------------------
    @property
    def leader(self) -> Optional[TrainedModel]:
        return self.models[self.leaderboard[0]["model_id"]] if self.leaderboard else None

    def get_model(self, model_id: str) -> TrainedModel:
        return self.models[model_id]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.leader.predict(frame)

    def save_model(self, path, model_id: Optional[str] = None) -> str:
        return save_model(self.models[model_id] if model_id else self.leader, path)

    def fit(self, frame: pd.DataFrame, target: str, test_frame: Optional[pd.DataFrame] = None,
            previous: Optional[list] = None, tried=()) -> "AutoML":
        """Train and rank models on ``frame`` to predict ``target``.

        To continue an earlier run, pass its models with their out-of-fold predictions as ``previous``
        (a list of (TrainedModel, ndarray)), the ids of every model it tried as ``tried``, and its
        ``validation`` to the constructor: the search goes on where it stopped, on the same folds (the
        same data and seed give the same folds), the new models join the old ones, and the stacked
        ensembles are rebuilt over all of them. ``max_models`` then counts the new models.
        """
        self.budget = Budget(self.max_runtime_secs, self.started_at or time.time())
        self._prepare(frame, target, test_frame)
        self._adopt(previous or [], tried)
        self._emit(ev.RunStarted(
            task=self.task_, task_reason=self.task_reason_, sort_metric=self.sort_metric_,
            n_rows=len(self._y), n_features=len(self.spec_.columns), planned_models=self.max_models,
            max_runtime_secs=self.max_runtime_secs, dropped_columns=dict(self.spec_.dropped),
            dropped_rows=self.dropped_rows_, warnings=list(self.warnings_),
            validation=self.validation_.describe(), validation_reason=self.validation_.reason,
            forecast=self.forecast_(elapsed=self.elapsed()), library_versions=library_versions(),
            machine=machine()))
        # Models run in parallel threads; multi-threaded BLAS inside each would only fight for the cores.
        with threadpool_limits(limits=1, user_api="blas"):
            self.budget.stack_secs = self._stack_reserve()
            for model_id, family, config in self._plan():
                if self.budget.out_of_time(reserve=True) or self.stopped_early:
                    break
                self._train_one(model_id, family, config)
                release_freed_memory()
                self.budget.stack_secs = self._stack_reserve()  # the estimates are corrected as models finish
            self.budget.stack_secs = 0.0
            if not self.models and not self.stopped_early:
                self._rescue()
            if not self.stopped_early:
                self._train_second_layer()
            if not self.stopped_early:
                self._build_ensembles()
        self._rank()
        leader = self.leaderboard[0]["model_id"] if self.leaderboard else None
        self._emit(ev.RunFinished(leader=leader, n_models=len(self.models), elapsed_s=self.elapsed(),
                                  stopped_early=self.stopped_early,
                                  reason="stopped on request" if self.stopped_early else ""))
        if leader is None:
            reasons = "; ".join(f"{f['model_id']}: {f['error']}" for f in self.failures[:3])
            raise DataError("No model could be trained on this data. " + (reasons or "The time budget ran out."))
        return self

    def estimate(self, frame: pd.DataFrame, target: str) -> dict:
        """The pre-flight estimate: what a run with these settings is expected to do on this table.

        Nothing is trained: the table is typed as a run would type it, and the plan is played out
        on the cost model's estimates. Gives the validation, the expected number of models, the
        seconds per model, the peak memory, and a plain warning when the budget is too small.
        """
        self.budget = Budget(self.max_runtime_secs)
        self._prepare(frame, target, None, warnings=False)
        return self.forecast_(elapsed=self.elapsed())

    def forecast_(self, elapsed: float = 0.0) -> dict:
        plan, expected = self._forecast(self.max_runtime_secs, elapsed)
        validation = self._validation_for(self.max_runtime_secs)
        secs = [s for _, s in plan]
        per_model = float(np.median([expected[k] for k, _ in plan] or [expected[YARDSTICK]]))
        by_budget = {b: len(self._forecast(b, elapsed)[0]) for b in OTHER_BUDGETS}
        out = {"task": self.task_, "n_rows": int(len(self._y)), "n_features": len(self.spec_.columns),
               "validation": validation.to_dict(), "expected_models": len(plan),
               "expected_ensembles": self._expected_ensembles(plan, validation),
               "seconds_per_model": round(per_model, 1),
               "first_model_secs": round(min(secs[0] if secs else per_model, self._first_window()), 1),
               "expected_wall_secs": round(self.max_runtime_secs or elapsed + sum(secs), 1),
               "peak_memory_mb": round(max([self.cost_.peak_mb(k, validation) for k, _ in plan] or [0.0])),
               "models_by_budget": [{"max_runtime_secs": b, "expected_models": n} for b, n in by_budget.items()],
               "budget_too_small": False, "warning": ""}
        if self.max_runtime_secs is not None and len(plan) < ENOUGH_MODELS:
            better = next((b for b, n in by_budget.items() if b > self.max_runtime_secs and n >= ENOUGH_MODELS),
                          max(by_budget))
            count = "no model would finish" if not plan else f"gives {len(plan)} model{'s' * (len(plan) != 1)}"
            out["budget_too_small"] = True
            out["warning"] = (f"About {per_model:.0f} s per model on this table: {budget_words(self.max_runtime_secs)} "
                              f"{count}; {budget_words(better)} gives about {by_budget[better]}.")
        return out

    def _forecast(self, budget_secs: Optional[float], elapsed: float) -> tuple[list[tuple[str, float]], dict]:
        """The models a run with this budget is expected to train (and each family's expected seconds).

        The first layer has the budget less the time kept for the second layer of stacking."""
        validation = self._validation_for(budget_secs)
        expected = {k: self._layer_secs(k, validation) for k in FAMILIES}
        kept = None if budget_secs is None else self._stack_reserve(validation, budget_secs)
        plan = forecast(self._usable_defaults(), self._searchable(), expected.__getitem__,
                        None if budget_secs is None else budget_secs - kept, self.max_models, elapsed)
        return plan, expected

    def _expected_ensembles(self, plan: list, validation: Validation) -> int:
        """The weighted ensembles (all models, best of each family) and the second layer's models."""
        if len(plan) < 2 or ENSEMBLE_ALGO not in self._allowed():
            return 0
        return 2 + len(self._stack_families(validation, self.max_runtime_secs))

    def _first_window(self) -> float:
        return float("inf") if self.max_runtime_secs is None else FIRST_MODEL_SHARE * self.max_runtime_secs

    def explain(self, model_id: Optional[str] = None, seed: int = 0) -> dict:
        """Explanation data for one model (the leader by default), on the training data.

        Residuals, confusion matrix, ROC and PR use the model's out-of-fold predictions.
        """
        from .explain import explain_model

        model = self.models[model_id] if model_id else self.leader
        return explain_model(model, self._X, self._y, self._oof.get(model.model_id), seed=seed)

    def explain_models(self, importances: Optional[dict] = None) -> dict:
        """Across models: the importance heatmap and the model-correlation matrix (out-of-fold)."""
        from .explain import importance_heatmap, model_correlation, variable_importance

        ids = [r["model_id"] for r in self.leaderboard]
        if importances is None:
            importances = {m: variable_importance(self.models[m], self._X, self._y) for m in ids}
        return {"importance_heatmap": importance_heatmap({m: importances[m] for m in ids if m in importances}),
                "model_correlation": model_correlation({m: self._oof[m] for m in ids}, self.task_)}

    def out_of_fold(self, model_id: str) -> np.ndarray:
        """The model's predictions for the rows it was scored on (NaN for rows no fold scored)."""
        return self._oof[model_id]

    def elapsed(self) -> float:
        return round(time.time() - self.budget.started, 3)

    # -- preparation --------------------------------------------------------------------------
    def _prepare(self, frame, target, test_frame, warnings: bool = True):
        if target not in frame.columns:
            raise DataError(f"The target column '{target}' is not in the data. Columns: "
                            + ", ".join(map(str, frame.columns[:30])))
        values = frame[target]
        keep = values.notna() & ~values.isin([np.inf, -np.inf])
        self.dropped_rows_ = int((~keep).sum())
        if self.dropped_rows_:  # a copy only where rows go: copying a large table takes a second
            frame = frame.loc[keep].reset_index(drop=True)
        if len(frame) < MIN_ROWS:
            raise DataError(f"Only {len(frame)} rows have a value for '{target}'; at least {MIN_ROWS} are needed "
                            "to train and check a model.")
        if self.task in (None, "", "auto"):
            self.task_, self.task_reason_ = infer_task(frame[target])
        else:
            check_task(frame[target], self.task)
            self.task_, self.task_reason_ = self.task, f"You chose {self.task}."
        self.sort_metric_ = resolve_sort_metric(self.task_, self.sort_metric)
        self.target_ = target
        check_column_choice(frame.columns, target, self.ignore_columns, self.keep_columns)
        self.spec_ = feature_spec(frame, target, self.ignore_columns, self.keep_columns)
        # the feature columns without a copy of them (frame[columns] would copy a large table, for a second)
        self._X = pd.DataFrame({c: frame[c] for c in self.spec_.columns}, copy=False)
        self._y, self.classes_ = self._encode_target(frame[target])
        self.n_classes_ = len(self.classes_) if self.classes_ is not None else 0
        self.cost_ = CostModel(TableShape.of(self._X, self.spec_, self.n_classes_), FAMILIES, self.n_jobs)
        self.validation_ = self._validation_for(self.max_runtime_secs)
        self._splits = make_splits(self.validation_, self.task_, self._y, self.seed)
        self.warnings_ = data_warnings(self._X, self._y, self.task_, self.classes_, self.seed) if warnings else []
        self._oof: dict[str, np.ndarray] = {}
        self._pace: dict[str, tuple[dict, float]] = {}  # per family: config and seconds of a boosting model that converged
        self._test = None
        self._test_raw: dict[str, np.ndarray] = {}
        self._tried: set[str] = set()  # model ids an earlier run of this experiment tried
        if test_frame is not None and target in test_frame.columns:
            test = test_frame.loc[test_frame[target].notna()].reset_index(drop=True)
            self._test = (test, self._encode_known(test[target]))

    def _validation_for(self, budget_secs: Optional[float]) -> Validation:
        if self.validation:
            return Validation.from_dict(self.validation)
        return choose_validation(self.cost_, self.nfolds, budget_secs)

    def _adopt(self, previous: list, tried) -> None:
        """Take in an earlier run's models (not its ensembles: they are rebuilt) and the ids it tried."""
        self._tried = set(tried)
        for model, oof in previous:
            self._tried.add(model.model_id)
            if model.algo == ENSEMBLE_ALGO:
                continue
            oof = np.asarray(oof, dtype=float)
            if len(oof) != len(self._y) or model.target != self.target_ or model.task != self.task_:
                raise DataError("The data or the question changed since the earlier models were trained, so the "
                                "search cannot go on from them. Start a new experiment instead.")
            self.models[model.model_id] = model
            self._oof[model.model_id] = oof
            if self._test is not None:
                self._test_raw[model.model_id] = model.predict_raw(self._test[0])

    def _encode_target(self, series: pd.Series):
        if self.task_ == "regression":
            return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), None
        classes = sorted(series.unique().tolist(), key=lambda v: (str(type(v)), v))
        lookup = {c: i for i, c in enumerate(classes)}
        return series.map(lookup).to_numpy(dtype=int), classes

    def _encode_known(self, series: pd.Series):
        if self.task_ == "regression":
            return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return series.map(lookup).fillna(-1).to_numpy(dtype=int)

    # -- the plan -----------------------------------------------------------------------------
    def _allowed(self) -> list[str]:
        algos = list(FAMILIES) + [ENSEMBLE_ALGO]
        if self.include_algos:
            wanted = {a.lower() for a in self.include_algos}
            algos = [a for a in algos if a.lower() in wanted]
        if self.exclude_algos:
            unwanted = {a.lower() for a in self.exclude_algos}
            algos = [a for a in algos if a.lower() not in unwanted]
        return algos

    def _default_models(self) -> list[tuple[str, int]]:
        """The default models: (family, default config index), the count loss added for regression."""
        order = list(DEFAULT_MODELS)
        if self.task_ == "regression":
            order.insert(order.index(COUNT_LOSS_AFTER) + 1, ("GBM", 4))
        return order

    def _plan(self) -> Iterator[tuple[str, object, dict]]:
        """Default models, then a random search; a model expected to take too much of the time left waits.

        A default model whose expected time is more than MODEL_SHARE of what is left is put back
        behind the other defaults (on a large table, forests and nets then come after the quicker
        boosting models instead of eating their time); one that would not finish is not started.
        """
        counters = {k: itertools.count(1) for k in FAMILIES}
        planned = 0
        for key, i in schedule(self._usable_defaults(), self._too_slow, self._too_long):
            if self.max_models is not None and planned >= self.max_models:
                return
            model_id = f"{key}_{next(counters[key])}"
            if model_id in self._tried:  # an earlier run of this experiment trained it
                continue
            planned += 1
            yield model_id, FAMILIES[key], self._adapted(key, FAMILIES[key].defaults(self.task_)[i])
        searchable = self._searchable()
        rng = np.random.default_rng(self.seed)
        turn = 0
        while searchable and (self.max_models is None or planned < self.max_models):
            key = searchable[turn % len(searchable)]
            turn += 1
            if self._too_slow(key):
                if all(self._too_slow(k) for k in searchable):
                    return
                continue
            model_id, config = f"{key}_{next(counters[key])}", self._adapted(key, FAMILIES[key].sample_config(rng))
            if model_id in self._tried:  # drawn and trained by an earlier run: the next draw is new
                continue
            planned += 1
            yield model_id, FAMILIES[key], config

    def _usable_defaults(self) -> list[tuple[str, int]]:
        allowed = self._allowed()
        return [(k, i) for k, i in self._default_models() if k in allowed and self.task_ in FAMILIES[k].tasks]

    def _searchable(self) -> list[str]:
        allowed = self._allowed()
        return [k for k in SEARCH_ORDER if k in allowed and FAMILIES[k].sample_config and self.task_ in FAMILIES[k].tasks]

    def _expected_secs(self, key: str) -> float:
        return self._layer_secs(key, self.validation_)

    def _adapted(self, key: str, config: dict) -> dict:
        """The config for this run's task: for classes, without the settings only numbers use. For
        numbers, a boosting default without a loss of its own takes the loss of the best LightGBM
        model so far (an XGBoost model always does: LightGBM's defaults and search try the losses).

        On prices and counts the log-link losses often beat squared error by a wide margin; the
        defaults that follow then build on that rather than on the weaker loss.
        """
        unused = () if self.task_ == "regression" else FAMILIES[key].regression_keys
        config = {k: v for k, v in config.items() if k not in unused}
        if key not in ("GBM", "XGBoost") or self.task_ != "regression" or "objective" in config:
            return config
        done = [m for m in self.models.values() if m.algo == "GBM"]
        if done:
            best = min(done, key=lambda m: sort_key(self.sort_metric_, m.metrics[self.sort_metric_]))
            if best.params.get("objective") in COUNT_OBJECTIVES:
                config["objective"] = best.params["objective"]
        return config

    def _paced(self, key: str, config: dict, started: float, model_deadline: Optional[float]) -> dict:
        """A boosting model that would be cut off long before it converges learns faster instead.

        Trees needed scale about inversely with the learning rate, and a tree's cost grows with its
        leaves, so the last boosting model that converged in time tells about how long this one
        would take (or one cut at its deadline, see ``_cut_pace``). When that is more than the time this model has, its learning rate goes up (to
        at most MAX_PACED_RATE) so that it converges within it. Before any boosting model converged,
        the cost model's estimate stands in (the first model must be done within its window).
        Without a time budget nothing
        changes, so runs bounded by max_models stay reproducible.
        """
        if not FAMILIES[key].paced or model_deadline is None or "learning_rate" not in config:
            return config
        rate = float(config["learning_rate"])
        allowed = model_deadline - started
        if key not in self._pace:  # nothing of this family converged yet: the cost model tells
            expected = self._expected_secs(key) * config_factor(key, config)
        else:
            done, secs = self._pace[key]
            expected = secs * config_factor(key, config) / config_factor(key, done)
        if expected <= 0.9 * allowed:
            return config
        faster = min(MAX_PACED_RATE, rate * expected / (0.8 * allowed))
        return {**config, "learning_rate": round(faster, 4)} if faster > rate else config

    def _cut_pace(self, key: str, config: dict, secs: float) -> tuple[dict, float]:
        """The pace a boosting model cut by its deadline tells: it needed more than the ``secs`` it had,
        CUT_PACE times as many is the guess, unless what the family's record says is longer still. Without
        it, on a table whose trees converge slowly (a panel of countries over years needs thousands of
        rounds at the default rate) every model was cut at its deadline, far from its best, and none
        told the next one to learn faster."""
        guess = CUT_PACE * secs
        if key in self._pace:
            done, done_secs = self._pace[key]
            guess = max(guess, done_secs * config_factor(key, config) / config_factor(key, done))
        return config, guess

    def _too_slow(self, key: str) -> bool:
        """A model that would not finish in the time left is not started: one cut before its end is wasted.

        Its expected time comes from the cost model, corrected by how long this run's models took.
        """
        left = self.budget.left(reserve=True)
        return left is not None and START_FACTOR * self._expected_secs(key) > left

    def _too_long(self, key: str) -> bool:
        """A model expected to take more than its share of the time left (it would be cut short)."""
        left = self.budget.left(reserve=True)
        return left is not None and self._expected_secs(key) > MODEL_SHARE * left

    def _rescue(self) -> None:
        """No model finished within the budget (a huge table, a slow machine, failures): train a quick one.

        A boosting model at a high learning rate on a sample of the training rows, scored on the
        first split's validation rows, takes a second or two on any table: a run never ends without a
        model unless every family fails on the data.
        """
        key = next((k for k in RESCUE_FAMILIES if k in self._allowed() and self.task_ in FAMILIES[k].tasks), None)
        if key is None:
            return
        train_idx, valid_idx = self._splits[0]
        rng = np.random.default_rng(self.seed)
        sample = np.sort(rng.choice(train_idx, min(len(train_idx), RESCUE_ROWS), replace=False))
        config = {**FAMILIES[key].default_configs[0], "learning_rate": MAX_PACED_RATE} if key == "GBM" else {}
        count = 1 + sum(m.startswith(key + "_") for m in [f["model_id"] for f in self.failures])
        self._train_one(f"{key}_{count}", FAMILIES[key], config, rescue=[(sample, valid_idx)])

    def _train_one(self, model_id: str, family, config: dict, rescue: Optional[list] = None,
                   layer: Optional[stacking.Layer] = None) -> None:
        """Cross-validate one model and put it on the leaderboard.

        ``rescue``: splits on a sample, for the quick model of a run that has none. ``layer``: a model
        of the second layer of stacking, on the columns plus the first layer's predictions.
        """
        X, spec = (self._X, self.spec_) if layer is None else (layer.X, layer.spec)
        self._emit(ev.ModelStarted(model_id=model_id, algo=family.key if layer is None else ENSEMBLE_ALGO))
        started = time.time()
        deadline = self.budget.deadline(reserve=True)
        model_deadline = self.budget.model_deadline(started, first=not self.models,
                                                    scoring_secs=self.cost_.scoring_secs(self.validation_))
        if rescue is not None:  # no deadline to wait for: it is small enough to be done in a moment
            deadline, model_deadline = None, (None if self.max_runtime_secs is None else started + RESCUE_SECS)
        config = self._paced(family.key, config, started, model_deadline)
        expected = self._layer_secs(family.key, self.validation_) \
            / self.cost_.correction(family.key) * config_factor(family.key, config)
        splits, recorded = rescue or self._splits, dict(config)
        if rescue is not None:
            recorded["sample_rows"] = int(splits[0][0].size)
        elif not self.models and model_deadline is not None:  # the first model must be done in its window
            splits = self._within(family.key, config, model_deadline - started)
            if splits is not self._splits:
                recorded["sample_rows"] = int(splits[0][0].size)
        seed = self.seed + len(self.models) + len(self.failures)
        n_parallel = min(self.n_jobs, len(splits))
        fold_ctx = BuildContext(task=self.task_, spec=spec, n_rows=len(self._y), n_classes=self.n_classes_,
                                seed=seed, n_jobs=max(1, self.n_jobs // n_parallel))
        try:
            keep = family.bag_folds or len(splits) == 1  # a holdout's one fitted model is the final model
            oof, fitted = cross_validate(lambda: family.build(fold_ctx, config), X, self._y, splits,
                                         self.task_, self.n_classes_, deadline, n_parallel,
                                         model_deadline, keep=keep)
            settled = family.settle(fitted) if family.settle is not None else None
            if settled:  # one setting for every fold, chosen on all their rows: the final model's too
                config, recorded = {**config, **settled}, {**recorded, **settled}
                oof = out_of_fold(fitted, X, splits, self.task_, self.n_classes_)
            if len(fitted) == 1 and keep:
                estimator = fitted[0]
            elif family.bags(self.task_, len(self._y)):
                estimator = FoldAverage(fitted, self.task_, self.n_classes_, self.n_jobs)
            else:
                estimator = self._refit(family, config, fold_ctx, fitted, started, n_parallel, X,
                                        model_deadline if splits is self._splits else started)
        except OutOfTime:
            log.info("%s skipped: the time budget ran out", model_id)
            return
        except Exception as exc:  # one model's failure is recorded, the run goes on
            self._record_failure(model_id, family.key, exc)
            return
        secs = time.time() - started
        ran_free = model_deadline is None or started + secs < model_deadline - 1  # it ended by itself, not cut
        if splits is self._splits and layer is None:  # a sample says little about all rows
            if ran_free:
                self.cost_.observe(family.key, expected, secs)
            if family.paced and "learning_rate" in config:
                self._pace[family.key] = (config, secs) if ran_free else self._cut_pace(family.key, config, secs)
        if layer is None:
            model = self._make_model(model_id, family.key, estimator, recorded, oof, started)
        else:
            params = {"metalearner": family.label, "base_models": [m.model_id for m in layer.inputs], **recorded}
            model = self._make_model(model_id, ENSEMBLE_ALGO, estimator, params, oof, started, cls=StackedModel,
                                     base_models=layer.inputs, stack_columns=layer.names)
        self._finish(model, oof)

    def _within(self, key: str, config: dict, allowed: float) -> list:
        """Splits for a model that must finish within ``allowed`` seconds.

        When even the fastest learning rate would not let it converge in time on all training
        rows, it trains on a sample of them (validated on the same rows as every other model).
        """
        expected = self._expected_secs(key) * config_factor(key, config)
        if expected <= FIRST_MODEL_MARGIN * allowed:
            return self._splits
        share = max(FIRST_MODEL_MARGIN * allowed / expected, 0.0)
        rng = np.random.default_rng(self.seed)
        splits = []
        for train_idx, valid_idx in self._splits:
            rows = min(len(train_idx), max(MIN_SAMPLE_ROWS, int(share * len(train_idx))))
            splits.append((np.sort(rng.choice(train_idx, rows, replace=False)), valid_idx))
        return splits if splits[0][0].size < self._splits[0][0].size else self._splits

    def _refit(self, family, config, fold_ctx, fitted, started, n_parallel, X, model_deadline=None):
        """Fit the final model on all rows, in about the time one wave of folds took.

        A family whose fold models are kept (``bag_folds``, refit on some tasks only) falls back on their
        average when there is no time for the refit within the model's own deadline (the first model's
        window), when its folds were fitted on a sample, or when the refit was cut before its rounds.
        """
        average = FoldAverage(fitted, self.task_, self.n_classes_, self.n_jobs) if family.bag_folds else None
        wave_secs = (time.time() - started) * n_parallel / len(fitted)
        deadline = self.budget.deadline(reserve=True)
        if average is not None and model_deadline is not None:
            deadline = model_deadline if deadline is None else min(deadline, model_deadline)
        if deadline is not None and time.time() + 0.5 * wave_secs > deadline:
            if average is not None:
                return average
            raise OutOfTime()
        if family.refit_config:
            config = family.refit_config(fitted, config)
        limit = None if deadline is None else min(deadline, time.time() + 1.5 * wave_secs)
        full_ctx = dataclasses.replace(fold_ctx, n_jobs=self.n_jobs, deadline=limit)
        refit = fit_full(lambda: family.build(full_ctx, config), X, self._y, self.task_)
        if average is not None and getattr(refit.named_steps["model"], "cut_short_", False):
            return average
        return refit

    def _make_model(self, model_id, algo, estimator, params, oof, started, cls=TrainedModel, **extra):
        mask = covered(oof)
        model = cls(model_id=model_id, algo=algo, task=self.task_, target=self.target_,
                    features=list(self.spec_.columns), feature_kinds=self.spec_.kinds(), classes=self.classes_,
                    estimator=estimator, params=_json_safe(params),
                    metrics=score(self.task_, self._y[mask], oof[mask], self.n_classes_),
                    training_time_ms=int((time.time() - started) * 1000), **extra)
        if isinstance(model, EnsembleModel) and not isinstance(model, StackedModel):
            model.predict_time_per_row_ms = round(sum(m.predict_time_per_row_ms for m in model.base_models), 6)
        else:  # a second-layer model's time includes its base models'
            sample = self._X.iloc[: min(TIMING_ROWS, len(self._X))]
            t0 = time.perf_counter()
            model.predict_raw(sample)
            model.predict_time_per_row_ms = round((time.perf_counter() - t0) * 1000 / len(sample), 6)
        test_raw = None
        if self._test is not None and isinstance(model, EnsembleModel):  # the members' test predictions are known
            test_raw = model.combine([self._test_raw[m.model_id] for m in model.base_models], self._test[0])
        elif self._test is not None:
            test_raw = model.predict_raw(self._test[0])
        if test_raw is not None:
            y_test = self._test[1]
            ok = y_test >= 0 if self.task_ != "regression" else ~np.isnan(y_test)
            self._test_raw[model_id] = test_raw
            model.test_metrics = score(self.task_, y_test[ok], test_raw[ok], self.n_classes_)
        return model

    def _finish(self, model: TrainedModel, oof: np.ndarray) -> None:
        self.models[model.model_id] = model
        self._oof[model.model_id] = oof
        self._emit(ev.ModelFinished(
            model_id=model.model_id, algo=model.algo, metrics=model.metrics,
            training_time_ms=model.training_time_ms, predict_time_per_row_ms=model.predict_time_per_row_ms,
            params=model.params, test_metrics=model.test_metrics))

    def _record_failure(self, model_id: str, algo: str, exc: Exception) -> None:
        error = f"{exc.__class__.__name__}: {exc}"
        log.warning("%s failed: %s", model_id, error)
        self.failures.append({"model_id": model_id, "algo": algo, "error": error,
                              "traceback": traceback.format_exc()})
        self._emit(ev.ModelFailed(model_id=model_id, algo=algo, error=error))

    def _stack_families(self, validation: Validation, budget_secs: Optional[float]) -> list[str]:
        """The second layer's families, when there is one: it needs out-of-fold predictions for every row."""
        if ENSEMBLE_ALGO not in self._allowed() or validation.kind != "kfold" or self.task_ not in stacking.STACK_TASKS:
            return []
        allowed = [k for k in self._allowed() if k in FAMILIES and self.task_ in FAMILIES[k].tasks]
        return stacking.families_that_fit(allowed, lambda k: self._layer_secs(k, validation), budget_secs)

    def _layer_secs(self, key: str, validation: Validation) -> float:
        """A model's expected seconds: its folds, and a refit on all rows unless its folds are averaged."""
        bags = FAMILIES[key].bags(getattr(self, "task_", self.task), self.cost_.shape.n_rows)
        return self.cost_.model_secs(key, validation, refit=not bags)

    def _stack_reserve(self, validation: Optional[Validation] = None, budget_secs: Optional[float] = None) -> float:
        """Seconds the first layer leaves for the second (none without a time budget)."""
        validation = validation or self.validation_
        budget_secs = self.max_runtime_secs if budget_secs is None else budget_secs
        if budget_secs is None:
            return 0.0
        families = self._stack_families(validation, budget_secs)
        return stacking.STACK_MARGIN * sum(self._layer_secs(k, validation) for k in families)

    def _train_second_layer(self) -> None:
        """Models on the columns plus the best first-layer models' out-of-fold predictions (see stacking.py)."""
        ranked = sorted((m for m in self.models.values() if m.algo != ENSEMBLE_ALGO),
                        key=lambda m: sort_key(self.sort_metric_, m.metrics[self.sort_metric_]))
        families = self._stack_families(self.validation_, self.max_runtime_secs)
        if len(ranked) < 2 or not families:
            return
        inputs = stacking.choose_inputs(ranked, self.n_classes_)
        oofs = [self._oof[m.model_id] for m in inputs]
        width = sum(1 if o.ndim == 1 or self.task_ == "binary" else o.shape[1] for o in oofs)
        names = stacking.column_names(width, self.spec_.columns)
        layer = stacking.Layer(X=stacked_frame(self._X, self.task_, oofs, names), inputs=inputs, names=names,
                               spec=dataclasses.replace(self.spec_, numeric=self.spec_.numeric + names))
        for key in families:
            if self.budget.out_of_time(reserve=True) or self.stopped_early:
                break
            if self._too_slow(key) or self._failed_family(key):
                continue
            model_id = f"{ENSEMBLE_ALGO}_{key}_1"
            if model_id not in self.models:
                self._train_one(model_id, FAMILIES[key], dict(FAMILIES[key].defaults(self.task_)[0]), layer=layer)
                release_freed_memory()

    def _failed_family(self, key: str) -> bool:
        """Every model of this family failed in this run: a second-layer one would fail the same way."""
        return any(f["algo"] == key for f in self.failures) and not any(m.algo == key for m in self.models.values())

    def _build_ensembles(self) -> None:
        if ENSEMBLE_ALGO not in self._allowed() or len(self.models) < 2:
            return
        ranked = sorted(self.models.values(), key=lambda m: sort_key(self.sort_metric_, m.metrics[self.sort_metric_]))
        best_of_family = list({m.algo: m for m in reversed(ranked)}.values())
        groups = [("StackedEnsemble_AllModels_1", ranked)]
        if len(best_of_family) >= 2:
            groups.append(("StackedEnsemble_BestOfFamily_1", best_of_family))
        for model_id, members in groups:
            if self.budget.out_of_time(reserve=False):
                break
            self._emit(ev.ModelStarted(model_id=model_id, algo=ENSEMBLE_ALGO))
            started = time.time()
            try:
                meta, oof, _ = fit_stack(self.task_, [self._oof[m.model_id] for m in members], self._y,
                                         self.n_classes_, self.seed, deadline=self.budget.deadline(reserve=False),
                                         sort_metric=self.sort_metric_)
                used = [i for i, w in enumerate(meta.weights_) if w > 0]
                meta.weights_ = meta.weights_[used]
                members = [members[i] for i in used]
                params = {"metalearner": "greedy weighted average",
                          "selected_by": SELECTED_BY[meta.metric, self.task_],
                          "base_models": {m.model_id: round(float(w), 4) for m, w in zip(members, meta.weights_)}}
                if self.task_ != "regression":
                    params["calibration"] = {"temperature": meta.temperature_, "prior_share": meta.prior_share_}
                model = self._make_model(model_id, ENSEMBLE_ALGO, meta, params, oof, started, cls=EnsembleModel,
                                         base_models=members)
            except Exception as exc:
                self._record_failure(model_id, ENSEMBLE_ALGO, exc)
                continue
            self._finish(model, oof)

    def _rank(self) -> None:
        rows = []
        for m in self.models.values():
            row = {"model_id": m.model_id, "algo": m.algo}
            row.update({k: m.metrics.get(k) for k in COLUMNS[self.task_]})
            row["training_time_ms"] = m.training_time_ms
            row["predict_time_per_row_ms"] = m.predict_time_per_row_ms
            row["validation"] = self._validation_of(m)
            rows.append(row)
        rows.sort(key=lambda r: (sort_key(self.sort_metric_, r[self.sort_metric_]), r["model_id"]))
        self.leaderboard = rows

    def _validation_of(self, model: TrainedModel) -> str:
        """How this model was scored, as the leaderboard states it."""
        text = self.validation_.describe()
        rows = (model.params or {}).get("sample_rows")
        if rows and "sample" not in text:
            text += f", trained on {'samples' if self.validation_.kind == 'kfold' else 'a sample'} of {rows:,} rows"
        return text

    def _emit(self, event: ev.Event) -> None:
        if self.callback is None:
            return
        if self.callback(event) is True:
            self.stopped_early = True


def _json_safe(params: dict) -> dict:
    out = {}
    for k, v in (params or {}).items():
        if isinstance(v, (np.integer,)):
            v = int(v)
        elif isinstance(v, (np.floating,)):
            v = float(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
