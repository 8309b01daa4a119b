"""One function per framework: train on the split with a time budget, return test predictions.

Each returns an :class:`Outcome` (predictions with ``predict`` and per-class probability columns,
models trained, the leader). Every runner is told the task, so that numeric class labels (Chem97's
score, InstEval's y) are learnt as classes, not as numbers. Only our engine is required; the others
run when installed (requirements-bench.txt).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from .datasets import Spec

SORT = {"rmse": "rmse", "auc": "auc", "logloss": "logloss"}
# AutoGluon as AMLB runs it: its default preset stops within seconds on small tables, "best_quality"
# (bagging and stacking) uses the budget.
AUTOGLUON_PRESETS = "best_quality"


@dataclass
class Outcome:
    predictions: pd.DataFrame
    models: int
    leader: str
    first_model_at: float | None = None  # time.time() when the first model was finished, where known
    predict_s: float = 0.0  # of the run, the seconds spent predicting the test rows (AMLB reports it apart)


def run_automl_engine(spec: Spec, train, test, budget: float, seed: int, started_at=None) -> Outcome:
    from automl_engine import AutoML
    from automl_engine.events import ModelFinished

    finished = []

    def on_event(event):
        if isinstance(event, ModelFinished) and not finished:
            finished.append(time.time())

    aml = AutoML(max_runtime_secs=budget, seed=seed, sort_metric=SORT[spec.metric], task=spec.task,
                 callback=on_event, started_at=started_at)
    aml.fit(train, spec.target)
    predicting = time.time()
    predictions = aml.predict(test)
    return Outcome(predictions, len(aml.models), aml.leader.model_id, finished[0] if finished else None,
                   time.time() - predicting)


def run_h2o(spec: Spec, train, test, budget: float, seed: int, started_at=None) -> Outcome:
    import h2o
    from h2o.automl import H2OAutoML

    h2o.init(nthreads=-1, verbose=False)
    h2o.no_progress()
    htrain, htest = h2o.H2OFrame(train), h2o.H2OFrame(test.drop(columns=[spec.target]))
    if spec.task != "regression":
        htrain[spec.target] = htrain[spec.target].asfactor()
    aml = H2OAutoML(max_runtime_secs=int(budget), seed=seed, verbosity=None)
    aml.train(y=spec.target, training_frame=htrain)
    predicting = time.time()
    predictions = aml.leader.predict(htest).as_data_frame()
    outcome = Outcome(predictions, aml.leaderboard.nrows, aml.leader.model_id, predict_s=time.time() - predicting)
    h2o.cluster().shutdown()
    return outcome


def run_flaml(spec: Spec, train, test, budget: float, seed: int, started_at=None) -> Outcome:
    from flaml import AutoML as FlamlAutoML

    metric = {"rmse": "rmse", "auc": "roc_auc", "logloss": "log_loss"}[spec.metric]
    task = "regression" if spec.task == "regression" else "classification"
    aml = FlamlAutoML()
    X, y = train.drop(columns=[spec.target]), train[spec.target]
    aml.fit(X, y, task=task, metric=metric, time_budget=budget, seed=seed, verbose=0)
    Xt = test.drop(columns=[spec.target])
    predicting = time.time()
    out = pd.DataFrame({"predict": aml.predict(Xt)})
    if task == "classification":
        proba = aml.predict_proba(Xt)
        for i, label in enumerate(aml.classes_):
            out[str(label)] = proba[:, i]
    predict_s = time.time() - predicting
    n_models = len(getattr(aml, "config_history", {}) or {})
    return Outcome(out, n_models, aml.best_estimator, predict_s=predict_s)


def run_autogluon(spec: Spec, train, test, budget: float, seed: int, started_at=None) -> Outcome:
    import tempfile

    from autogluon.tabular import TabularPredictor

    metric = {"rmse": "root_mean_squared_error", "auc": "roc_auc", "logloss": "log_loss"}[spec.metric]
    with tempfile.TemporaryDirectory() as tmp:
        predictor = TabularPredictor(label=spec.target, problem_type=spec.task, eval_metric=metric, path=tmp,
                                     verbosity=0)
        predictor.fit(train, time_limit=budget, presets=AUTOGLUON_PRESETS)
        Xt = test.drop(columns=[spec.target])
        predicting = time.time()
        out = pd.DataFrame({"predict": predictor.predict(Xt).to_numpy()})
        if spec.task != "regression":
            proba = predictor.predict_proba(Xt)
            for label in proba.columns:
                out[str(label)] = proba[label].to_numpy()
        return Outcome(out, len(predictor.model_names()), predictor.model_best,
                       predict_s=time.time() - predicting)


FRAMEWORKS = {"automl_engine": run_automl_engine, "h2o": run_h2o, "flaml": run_flaml, "autogluon": run_autogluon}
MODULES = {"automl_engine": "automl_engine", "h2o": "h2o", "flaml": "flaml", "autogluon": "autogluon.tabular"}
