"""Scoring rows sent as JSON, for scripts and services: the model stays loaded between calls."""
from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from automl_engine.onnx_export import onnx_inputs

from . import model_card, services
from .models import Experiment, ModelResult
from .scoring import column_notes, drift_of, importance_of, predictions_and_known

MAX_ROWS = 10_000  # per call: larger files go through the CSV upload
# Up to this many rows, a call is scored through the model's ONNX form in onnxruntime (one row in a few
# milliseconds instead of tens); above it the Python model is as fast or faster (bench/scoring.py).
ONNX_ROWS = 1_000
CACHE_MODELS = 4  # models kept loaded; the least recently used one is dropped first
CACHE_MB = 1024  # and at most this many megabytes of model files in all
SCALARS = (str, int, float, bool, type(None))
log = logging.getLogger(__name__)


class Loaded:
    """A loaded model and, when it has one that gives the same predictions, its ONNX form in a session.

    Everything but ``predict`` is the model's own.
    """

    def __init__(self, model, onnx: bytes | None):
        self.model, self.session = model, None
        if onnx is not None:
            import onnxruntime

            self.session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
            self.outputs = [o.name for o in self.session.get_outputs()]

    def __getattr__(self, name):
        return getattr(self.model, name)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.session is None or len(frame) > ONNX_ROWS:
            return self.model.predict(frame)
        self.model._features_frame(frame)  # the same checks, and the same messages, as the Python model
        try:
            got = dict(zip(self.outputs, self.session.run(None, onnx_inputs(self.model, frame))))
        except Exception:  # values the ONNX form cannot take: the Python model answers instead
            log.info("ONNX scoring fell back to Python for %s", self.model.model_id, exc_info=True)
            return self.model.predict(frame)
        if self.model.task == "regression":
            return pd.DataFrame({"predict": got["predict"]}, index=frame.index)
        proba = got["probabilities"]
        out = pd.DataFrame({"predict": np.asarray(self.model.classes, dtype=object)[np.argmax(proba, axis=1)]},
                           index=frame.index)
        for i, cls in enumerate(self.model.classes):
            out[str(cls)] = proba[:, i]
        return out


def load(result: ModelResult) -> Loaded:
    model = services.load_result_model(result)
    onnx, reason = model_card.onnx_file(result.experiment, model)
    if onnx is None:
        log.info("%s is scored in Python: %s", result.model_id, reason)
    return Loaded(model, onnx)


class ModelCache:
    """A small, bounded cache of loaded models, keyed by the stored file (a new file is a new entry)."""

    def __init__(self, items: int = CACHE_MODELS, megabytes: float = CACHE_MB):
        self.items, self.limit = items, megabytes * 2**20
        self._models: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, result: ModelResult):
        key = result.file.name
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key][0]
        model = load(result)
        size = result.file.size
        with self._lock:
            self._models[key] = (model, size)
            while len(self._models) > self.items or (
                    len(self._models) > 1 and sum(s for _, s in self._models.values()) > self.limit):
                self._models.popitem(last=False)
        return model

    def __len__(self):
        return len(self._models)


MODELS = ModelCache()


def rows_frame(body: dict) -> pd.DataFrame:
    rows = body.get("rows")
    if not isinstance(rows, list) or not rows:
        raise services.InputError('Send the rows to score as {"rows": [{"column": value, ...}, ...]}.')
    if len(rows) > MAX_ROWS:
        raise services.InputError(f"At most {MAX_ROWS:,} rows per call; send a larger table as a CSV file to "
                                  "the experiment's predict/ address.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(v, SCALARS) for v in row.values()):
            raise services.InputError(f"Row {i + 1} must be an object of column names to single values "
                                      "(text, numbers, true/false or null).")
    frame = pd.DataFrame(rows)
    return frame.replace({None: np.nan})


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def score_rows(experiment: Experiment, result: ModelResult, body: dict) -> dict:
    frame = rows_frame(body)
    model = MODELS.get(result)
    preds, known = predictions_and_known(experiment, result, model, frame, "these rows")
    classes = [c for c in preds.columns if c != "predict"]
    out = []
    for _, row in preds.iterrows():
        item = {"predict": _plain(row["predict"])}
        if classes:
            item["probabilities"] = {str(c): _plain(row[c]) for c in classes}
        out.append(item)
    return {"model_id": result.model_id, "task": model.task, "predictions": out,
            "notes": column_notes(frame, model, known, importance_of(result)),
            "drift": drift_of(experiment, model, frame)}
