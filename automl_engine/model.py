"""Trained models: one pipeline (or a stack of them) that predicts from a raw DataFrame."""
from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from .errors import DataError
from .validation import align_classes, predict_raw


@dataclass
class TrainedModel:
    model_id: str
    algo: str
    task: str
    target: str
    features: list[str]
    feature_kinds: dict[str, str]
    classes: Optional[list] = None
    estimator: Any = None
    metrics: dict = field(default_factory=dict)
    test_metrics: Optional[dict] = None
    params: dict = field(default_factory=dict)
    training_time_ms: int = 0
    predict_time_per_row_ms: float = 0.0
    metadata: dict = field(default_factory=dict)

    # -- input checks -------------------------------------------------------------------------
    def check_input(self, frame: pd.DataFrame) -> dict:
        """Columns the model expects but the frame lacks, and columns it will ignore."""
        missing = [c for c in self.features if c not in frame.columns]
        unexpected = [c for c in frame.columns if c not in self.features and c != self.target]
        return {"missing": missing, "unexpected": unexpected}

    def _features_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise DataError("Predictions need a table (a pandas DataFrame) with the training columns.")
        missing = self.check_input(frame)["missing"]
        if len(missing) == len(self.features):
            raise DataError("None of the columns the model was trained on are in this data. Expected: "
                            + ", ".join(self.features[:20]))
        out = frame.reindex(columns=self.features)
        return out

    # -- prediction ---------------------------------------------------------------------------
    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Numbers for regression; an (n, n_classes) probability matrix for classification."""
        raw = predict_raw(self.estimator, self._features_frame(frame), self.task)
        return raw if self.task == "regression" else align_classes(raw, self.estimator, len(self.classes), self.task)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A ``predict`` column, plus one probability column per class for classification."""
        raw = self.predict_raw(frame)
        if self.task == "regression":
            return pd.DataFrame({"predict": raw}, index=frame.index)
        labels = np.asarray(self.classes, dtype=object)[np.argmax(raw, axis=1)]
        out = pd.DataFrame({"predict": labels}, index=frame.index)
        for i, cls in enumerate(self.classes):
            out[str(cls)] = raw[:, i]
        return out

    def describe(self) -> dict:
        return {"model_id": self.model_id, "algo": self.algo, "task": self.task, "target": self.target,
                "features": self.features, "feature_kinds": self.feature_kinds, "classes": self.classes,
                "metrics": self.metrics, "test_metrics": self.test_metrics, "params": self.params,
                "training_time_ms": self.training_time_ms,
                "predict_time_per_row_ms": self.predict_time_per_row_ms, **self.metadata}


@dataclass
class EnsembleModel(TrainedModel):
    """A stacked ensemble: a metalearner over its base models' predictions."""
    base_models: list = field(default_factory=list)

    def predict_raw(self, frame: pd.DataFrame, known: Optional[dict] = None) -> np.ndarray:
        """``known``: base models' predictions on this frame by model id, shared with the stacked models
        among the members (a first-layer model is run once even when several members use it)."""
        self._features_frame(frame)
        known = {} if known is None else known
        for m in self.base_models:
            if m.model_id not in known:
                stacked = isinstance(m, EnsembleModel)
                known[m.model_id] = m.predict_raw(frame, known) if stacked else m.predict_raw(frame)
        return self.combine([known[m.model_id] for m in self.base_models], frame)

    def combine(self, base_predictions: list[np.ndarray], frame: Optional[pd.DataFrame] = None) -> np.ndarray:
        """The ensemble's prediction from its base models' raw predictions (in base-model order)."""
        Z = level_one_features(self.task, base_predictions)
        if self.task == "regression":
            return np.asarray(self.estimator.predict(Z), dtype=float)
        return np.asarray(self.estimator.predict_proba(Z), dtype=float)


@dataclass
class StackedModel(EnsembleModel):
    """A second-layer model: one family's model trained on the columns plus its base models' predictions.

    ``estimator`` predicts from the frame ``stacked_frame`` builds: the feature columns, then one
    number column per base model (per class of a base model, for three classes or more), named by
    ``stack_columns``.
    """
    stack_columns: list = field(default_factory=list)

    def combine(self, base_predictions: list[np.ndarray], frame: Optional[pd.DataFrame] = None) -> np.ndarray:
        X = stacked_frame(self._features_frame(frame), self.task, base_predictions, self.stack_columns)
        raw = predict_raw(self.estimator, X, self.task)
        return raw if self.task == "regression" else align_classes(raw, self.estimator, len(self.classes), self.task)


def stacked_frame(X: pd.DataFrame, task: str, base_predictions: list[np.ndarray], names: list[str]) -> pd.DataFrame:
    """The feature columns and the base models' predictions side by side (the columns are not copied)."""
    Z = level_one_features(task, base_predictions)
    columns = {c: X[c] for c in X.columns}
    columns.update({name: Z[:, i] for i, name in enumerate(names)})
    return pd.DataFrame(columns, index=X.index, copy=False)


def level_one_features(task: str, predictions: list[np.ndarray]) -> np.ndarray:
    """Stack base-model predictions into the metalearner's input."""
    cols = []
    for pred in predictions:
        if task == "regression":
            cols.append(pred.reshape(-1, 1))
        elif task == "binary":
            cols.append(pred[:, 1:2])
        else:
            cols.append(pred)
    return np.hstack(cols)


def machine() -> dict:
    """The machine a run trains on: what decides how many models a time budget gives."""
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):  # not every system tells
        memory_gb = None
    return {"cpus": os.cpu_count(), "memory_gb": memory_gb, "system": platform.platform(terse=True)}


MODEL_LIBRARIES = ("lightgbm", "catboost", "xgboost")  # imported when a model needs them; their versions go in every run
PIP_NAMES = {"xgboost": "xgboost-cpu"}  # the package to install a library by, where the names differ (without GPU libraries)


def library_versions() -> dict:
    import sklearn

    from . import __version__

    versions = {"python": platform.python_version(), "automl-engine": __version__, "numpy": np.__version__,
                "pandas": pd.__version__, "scikit-learn": sklearn.__version__}
    for name in MODEL_LIBRARIES:
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:  # pragma: no cover
            pass
    return versions


def load_libraries() -> None:
    """Import the model libraries now. A run imports what it needs when it first needs it, which
    delays the first model of a fresh process by a few tenths of a second; a worker calls this at start."""
    for name in MODEL_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - all are in requirements.txt
            pass


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
