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
from .checks import data_warnings
from .ensemble import fit_stack
from .errors import DataError
from .families import ENSEMBLE_ALGO, FAMILIES, BuildContext
from .families.deeplearning import LARGE_ROWS
from .families.gbm import COUNT_OBJECTIVES
from .metrics import COLUMNS, resolve_sort_metric, score, sort_key
from .model import EnsembleModel, TrainedModel
from .model_file import save_model
from .schema import check_task, feature_spec, infer_task
from .validation import FoldAverage, OutOfTime, covered, cross_validate, fit_full, make_splits

log = logging.getLogger(__name__)
DEFAULT_RUNTIME_SECS = 120
ENSEMBLE_RESERVE = 0.05  # share of a time budget kept for the stacked ensembles and the last model's wrap-up
MIN_ROWS = 10
# The random search after the first models: GBM has every other turn.
SEARCH_ORDER = ("GBM", "XRT", "GBM", "DeepLearning", "GBM", "DRF")
SMALL_TABLE_CELLS = 100_000
MODEL_SHARE = 0.35  # of the remaining budget, the most one model may use
MIN_MODEL_SECS = 5.0
MAX_PACED_RATE = 0.2  # the highest learning rate a boosting model is sped up to when its time is short
TIMING_ROWS = 250  # rows predicted to measure a model's prediction time per row


class AutoML:
    """Train and rank many models on one table, in the spirit of H2O AutoML."""

    def __init__(self, max_models: Optional[int] = None, max_runtime_secs: Optional[float] = None,
                 nfolds: int = 5, seed: int = 1, sort_metric: Optional[str] = None,
                 include_algos=None, exclude_algos=None, task: str = "auto", callback=None,
                 n_jobs: int = 2, ignore_columns=()):
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
        self.ignore_columns = tuple(ignore_columns or ())
        self.models: dict[str, TrainedModel] = {}
        self.failures: list[dict] = []
        self.leaderboard: list[dict] = []
        self.stopped_early = False

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

    def fit(self, frame: pd.DataFrame, target: str, test_frame: Optional[pd.DataFrame] = None) -> "AutoML":
        self._start = time.time()
        self._prepare(frame, target, test_frame)
        self._emit(ev.RunStarted(
            task=self.task_, task_reason=self.task_reason_, sort_metric=self.sort_metric_,
            n_rows=len(self._y), n_features=len(self.spec_.columns), planned_models=self.max_models,
            max_runtime_secs=self.max_runtime_secs, dropped_columns=dict(self.spec_.dropped),
            dropped_rows=self.dropped_rows_, warnings=list(self.warnings_)))
        # Models run in parallel threads; multi-threaded BLAS inside each would only fight for the cores.
        with threadpool_limits(limits=1, user_api="blas"):
            for model_id, family, config in self._plan():
                if self._out_of_time(reserve=True) or self.stopped_early:
                    break
                self._train_one(model_id, family, config)
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

    def elapsed(self) -> float:
        return round(time.time() - self._start, 3)

    # -- preparation --------------------------------------------------------------------------
    def _prepare(self, frame, target, test_frame):
        if target not in frame.columns:
            raise DataError(f"The target column '{target}' is not in the data. Columns: "
                            + ", ".join(map(str, frame.columns[:30])))
        values = frame[target]
        keep = values.notna() & ~values.isin([np.inf, -np.inf])
        self.dropped_rows_ = int((~keep).sum())
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
        self.spec_ = feature_spec(frame, target, self.ignore_columns)
        self._X = frame[self.spec_.columns]
        self._y, self.classes_ = self._encode_target(frame[target])
        self.n_classes_ = len(self.classes_) if self.classes_ is not None else 0
        self._splits = make_splits(self.task_, self._y, self.nfolds, self.seed)
        self.warnings_ = data_warnings(self._X, self._y, self.task_, self.classes_, self.seed)
        self._oof: dict[str, np.ndarray] = {}
        self._last_secs: dict[str, float] = {}
        self._first_secs: dict[str, float] = {}
        self._pace: Optional[tuple[dict, float]] = None  # config and seconds of a boosting model that converged
        self._test = None
        self._test_raw: dict[str, np.ndarray] = {}
        if test_frame is not None and target in test_frame.columns:
            test = test_frame.loc[test_frame[target].notna()].reset_index(drop=True)
            self._test = (test, self._encode_known(test[target]))

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

    def _first_models(self) -> list[tuple[str, int]]:
        """The default models, in an order that suits the table's size: (family, default config index)."""
        if self._X.size <= SMALL_TABLE_CELLS:  # neural nets are quick and often strong on small tables
            order = [("GLM", 0), ("GBM", 0), ("DRF", 0), ("DeepLearning", 0), ("GBM", 1), ("XRT", 0), ("GBM", 2),
                     ("GBM", 3), ("GBM", 5)]
        else:  # on large tables boosting earns the time first (the quicker configurations first)
            order = [("GLM", 0), ("GBM", 0), ("GBM", 2), ("GBM", 1), ("GBM", 3), ("DRF", 0), ("XRT", 0),
                     ("DeepLearning", 0)]
            if len(self._y) > LARGE_ROWS:  # with many rows the net comes close to the trees and differs
                # most from them; after the slow boosting defaults there would be no time left for it
                order.remove(("DeepLearning", 0))
                order.insert(order.index(("GBM", 2)) + 1, ("DeepLearning", 0))
        if self.task_ == "regression":  # the count objective; early on large tables, where time is short
            after = ("GBM", 0) if self._X.size > SMALL_TABLE_CELLS else ("GBM", 2)
            order.insert(order.index(after) + 1, ("GBM", 4))
        return order

    def _plan(self) -> Iterator[tuple[str, object, dict]]:
        allowed = self._allowed()
        counters = {k: itertools.count(1) for k in FAMILIES}
        first = self._first_models()
        planned = 0
        for key, i in first:
            if key in allowed and self.task_ in FAMILIES[key].tasks and not self._too_slow(key):
                if self.max_models is not None and planned >= self.max_models:
                    return
                planned += 1
                yield f"{key}_{next(counters[key])}", FAMILIES[key], self._adapted(key, FAMILIES[key].default_configs[i])
        searchable = [k for k in SEARCH_ORDER if k in allowed and FAMILIES[k].sample_config
                      and self.task_ in FAMILIES[k].tasks]
        rng = np.random.default_rng(self.seed)
        turn = 0
        while searchable and (self.max_models is None or planned < self.max_models):
            key = searchable[turn % len(searchable)]
            turn += 1
            if self._too_slow(key):
                if all(self._too_slow(k) for k in searchable):
                    return
                continue
            planned += 1
            yield f"{key}_{next(counters[key])}", FAMILIES[key], FAMILIES[key].sample_config(rng)

    def _adapted(self, key: str, config: dict) -> dict:
        """A boosting default without a loss of its own takes the loss of the best boosting model so far.

        On prices and counts the log-link losses often beat squared error by a wide margin; the
        defaults that follow then build on that rather than on the weaker loss.
        """
        config = dict(config)
        if key != "GBM" or self.task_ != "regression" or "objective" in config:
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
        would take. When that is more than the time this model has, its learning rate goes up (to
        at most MAX_PACED_RATE) so that it converges within it. Without a time budget nothing
        changes, so runs bounded by max_models stay reproducible.
        """
        if key != "GBM" or model_deadline is None or self._pace is None or "learning_rate" not in config:
            return config
        rate = float(config["learning_rate"])
        allowed = model_deadline - started
        done, secs = self._pace
        leaves = (config.get("num_leaves", 31) / done.get("num_leaves", 31)) ** 0.5
        expected = secs * float(done["learning_rate"]) / rate * leaves
        if expected <= 0.9 * allowed:
            return config
        faster = min(MAX_PACED_RATE, rate * expected / (0.8 * allowed))
        return {**config, "learning_rate": round(faster, 4)} if faster > rate else config

    def _too_slow(self, key: str) -> bool:
        """A model that would not finish in the time left is not started.

        Its family's last model tells how long it takes; a family not tried yet is expected to take
        as long as the first models of the families so far typically did (later ones may have been
        sped up to fit the time left). A model cut off before its end is wasted time.
        """
        deadline = self._deadline(reserve=True)
        if deadline is None or not self._last_secs:
            return False
        expected = self._last_secs.get(key, float(np.median(list(self._first_secs.values()))))
        return time.time() + 0.7 * expected > deadline

    # -- training -----------------------------------------------------------------------------
    def _deadline(self, reserve: bool) -> Optional[float]:
        if self.max_runtime_secs is None:
            return None
        kept = max(2.0, ENSEMBLE_RESERVE * self.max_runtime_secs) if reserve else 0.0
        return self._start + self.max_runtime_secs - kept

    def _out_of_time(self, reserve: bool) -> bool:
        deadline = self._deadline(reserve)
        return deadline is not None and time.time() >= deadline

    def _model_deadline(self, started: float) -> Optional[float]:
        """The longest one model may take: a share of what is left, so one slow model cannot eat the run."""
        end = self._deadline(reserve=True)
        if end is None:
            return None
        return started + max(MIN_MODEL_SECS, MODEL_SHARE * (end - started))

    def _train_one(self, model_id: str, family, config: dict) -> None:
        self._emit(ev.ModelStarted(model_id=model_id, algo=family.key))
        started = time.time()
        deadline = self._deadline(reserve=True)
        model_deadline = self._model_deadline(started)
        config = self._paced(family.key, config, started, model_deadline)
        seed = self.seed + len(self.models) + len(self.failures)
        n_parallel = min(self.n_jobs, len(self._splits))
        fold_ctx = BuildContext(task=self.task_, spec=self.spec_, n_rows=len(self._y), n_classes=self.n_classes_,
                                seed=seed, n_jobs=max(1, self.n_jobs // n_parallel))
        try:
            oof, fitted = cross_validate(lambda: family.build(fold_ctx, config), self._X, self._y, self._splits,
                                         self.task_, self.n_classes_, deadline, n_parallel,
                                         model_deadline, keep=family.bag_folds)
            if family.bag_folds or len(self._splits) == 1:
                estimator = FoldAverage(fitted, self.task_, self.n_classes_, self.n_jobs) if len(fitted) > 1 else fitted[0]
            else:
                estimator = self._refit(family, config, fold_ctx, fitted, started, n_parallel)
        except OutOfTime:
            log.info("%s skipped: the time budget ran out", model_id)
            return
        except Exception as exc:  # one model's failure is recorded, the run goes on
            self._record_failure(model_id, family.key, exc)
            return
        secs = self._last_secs[family.key] = time.time() - started
        self._first_secs.setdefault(family.key, secs)
        if family.key == "GBM" and "learning_rate" in config and (model_deadline is None or started + secs < model_deadline - 1):
            self._pace = (config, secs)  # it stopped by itself, not cut
        model = self._make_model(model_id, family.key, estimator, config, oof, started)
        self._finish(model, oof)

    def _refit(self, family, config, fold_ctx, fitted, started, n_parallel):
        """Fit the final model on all rows, in about the time one wave of folds took."""
        wave_secs = (time.time() - started) * n_parallel / len(fitted)
        deadline = self._deadline(reserve=True)
        if deadline is not None and time.time() + 0.5 * wave_secs > deadline:
            raise OutOfTime()
        if family.refit_config:
            config = family.refit_config(fitted, config)
        limit = None if deadline is None else min(deadline, time.time() + 1.5 * wave_secs)
        full_ctx = dataclasses.replace(fold_ctx, n_jobs=self.n_jobs, deadline=limit)
        return fit_full(lambda: family.build(full_ctx, config), self._X, self._y)

    def _make_model(self, model_id, algo, estimator, params, oof, started, cls=TrainedModel, **extra):
        mask = covered(oof)
        model = cls(model_id=model_id, algo=algo, task=self.task_, target=self.target_,
                    features=list(self.spec_.columns), feature_kinds=self.spec_.kinds(), classes=self.classes_,
                    estimator=estimator, params=_json_safe(params),
                    metrics=score(self.task_, self._y[mask], oof[mask], self.n_classes_),
                    training_time_ms=int((time.time() - started) * 1000), **extra)
        if isinstance(model, EnsembleModel):  # base predictions are known: no need to run the members again
            model.predict_time_per_row_ms = round(sum(m.predict_time_per_row_ms for m in model.base_models), 6)
            test_raw = None if self._test is None else model.combine(
                [self._test_raw[m.model_id] for m in model.base_models])
        else:
            sample = self._X.iloc[: min(TIMING_ROWS, len(self._X))]
            t0 = time.perf_counter()
            model.predict_raw(sample)
            model.predict_time_per_row_ms = round((time.perf_counter() - t0) * 1000 / len(sample), 6)
            test_raw = None if self._test is None else model.predict_raw(self._test[0])
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

    def _build_ensembles(self) -> None:
        if ENSEMBLE_ALGO not in self._allowed() or len(self.models) < 2:
            return
        ranked = sorted(self.models.values(), key=lambda m: sort_key(self.sort_metric_, m.metrics[self.sort_metric_]))
        best_of_family = list({m.algo: m for m in reversed(ranked)}.values())
        groups = [("StackedEnsemble_AllModels_1", ranked)]
        if len(best_of_family) >= 2:
            groups.append(("StackedEnsemble_BestOfFamily_1", best_of_family))
        for model_id, members in groups:
            if self._out_of_time(reserve=False):
                break
            self._emit(ev.ModelStarted(model_id=model_id, algo=ENSEMBLE_ALGO))
            started = time.time()
            try:
                meta, oof, _ = fit_stack(self.task_, [self._oof[m.model_id] for m in members], self._y,
                                         self.n_classes_, self.seed)
                used = [i for i, w in enumerate(meta.weights_) if w > 0]
                meta.weights_ = meta.weights_[used]
                members = [members[i] for i in used]
                params = {"metalearner": "greedy weighted average",
                          "base_models": {m.model_id: round(float(w), 4) for m, w in zip(members, meta.weights_)}}
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
            rows.append(row)
        rows.sort(key=lambda r: (sort_key(self.sort_metric_, r[self.sort_metric_]), r["model_id"]))
        self.leaderboard = rows

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
