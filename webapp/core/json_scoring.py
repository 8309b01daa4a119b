"""Scoring rows sent as JSON, for scripts and services: the model stays loaded between calls."""
from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from . import services
from .models import Experiment, ModelResult
from .scoring import column_notes, drift_of, importance_of, predictions_and_known

MAX_ROWS = 10_000  # per call: larger files go through the CSV upload
CACHE_MODELS = 4  # models kept loaded; the least recently used one is dropped first
CACHE_MB = 1024  # and at most this many megabytes of model files in all
SCALARS = (str, int, float, bool, type(None))


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
        model = services.load_result_model(result)
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
