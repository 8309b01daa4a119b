"""Scoring a new CSV in the browser: the predictions, a plain report on the file's columns, and the
files to download (kept in storage under a random name, found again only through its experiment)."""
from __future__ import annotations

import csv
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from automl_engine import DataError, read_csv

from . import drift, profiling, services
from .models import Experiment, ModelResult
from .wording import metric_name, number, percent, plain_error

log = logging.getLogger(__name__)
PREVIEW_ROWS = 100
MAX_KNOWN_VALUES = 5000
SHOWN_VALUES = 5
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KINDS = ("predictions", "with-input")
TRAINING_ROWS_SHARE = 0.2  # scored rows found among the training rows: from this share on, say so
MAX_TRAINING_ROWS_COMPARED = 2_000_000


@dataclass
class Scored:
    token: str
    n_rows: int
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    drift: dict | None = None  # the file's columns against the training data (drift.compare)


def read_upload_frame(content: bytes) -> pd.DataFrame:
    try:
        frame = read_csv(content)
    except DataError as exc:
        raise services.InputError(str(exc)) from exc
    except (csv.Error, ValueError, UnicodeError, LookupError, OverflowError) as exc:
        raise services.InputError("This file could not be read as a CSV table. Save it as a comma-separated "
                                  "CSV file and try again.") from exc
    if frame.empty:
        raise services.InputError("This file has no rows to score.")
    return frame


def known_values(experiment: Experiment, model) -> dict:
    """Per feature, the values (categories) or range (numbers) seen in the training file; cached."""
    dataset = experiment.dataset
    key = "known:" + hashlib.sha256(f"{dataset.pk}\0{dataset.file.name}\0{sorted(model.features)}".encode()
                                    ).hexdigest()[:32]
    known = cache.get(key)
    if known is not None:
        return known
    frame = profiling.load_frame(dataset)
    known = {}
    for feature in model.features:
        if feature not in frame.columns:
            continue
        kind = model.feature_kinds.get(feature)
        if kind == "categorical":
            values = frame[feature].dropna().map(lambda v: str(v).strip()).unique()
            if len(values) <= MAX_KNOWN_VALUES:
                known[feature] = {"kind": "categorical", "values": set(values)}
        elif kind == "numeric":
            numbers = pd.to_numeric(frame[feature], errors="coerce").dropna()
            if len(numbers):
                known[feature] = {"kind": "numeric", "min": float(numbers.min()), "max": float(numbers.max())}
    cache.set(key, known, 3600)
    return known


def _quoted(values, limit: int = SHOWN_VALUES) -> str:
    shown = ", ".join(f"'{str(v)[:40]}'" for v in list(values)[:limit])
    more = len(values) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _value_notes(frame: pd.DataFrame, known: dict) -> list[str]:
    notes = []
    for feature, info in known.items():
        if feature not in frame.columns:
            continue
        column = frame[feature].dropna()
        if info["kind"] == "categorical":
            text = column.map(lambda v: str(v).strip())
            unseen = text[~text.isin(info["values"])]
            if len(unseen):
                notes.append(f"'{feature}' has values never seen in training: {_quoted(unseen.unique())} "
                             f"({len(unseen):,} rows). The model treats them as an unknown category.")
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = int(numbers.isna().sum())
        if bad:
            notes.append(f"'{feature}' should hold numbers, but {bad:,} rows have something else "
                         f"(e.g. {_quoted(column[numbers.isna()].unique(), 3)}); those were treated as missing.")
        outside = numbers[(numbers < info["min"]) | (numbers > info["max"])]
        if len(outside):
            notes.append(f"{len(outside):,} rows have '{feature}' outside the range seen in training "
                         f"({number(info['min'])} to {number(info['max'])}); predictions for them are guesses "
                         "beyond what the model learned from.")
    return notes


MATTERS = 0.15  # a missing column with at least this share of the model's importance gets its own warning


def column_notes(frame: pd.DataFrame, model, known: dict, importance: dict | None = None) -> list[str]:
    problems = model.check_input(frame)
    notes = []
    if problems["missing"]:
        notes.append(f"Missing columns: {_quoted(problems['missing'], 10)}. The model uses them, so they were "
                     "treated as unknown in every row; the predictions are less accurate than they could be.")
        notes.extend(_missing_weight(problems["missing"], importance or {}))
    if problems["unexpected"]:
        notes.append(f"Columns the model does not use, ignored: {_quoted(problems['unexpected'], 10)}.")
    return notes + _value_notes(frame, known)


def _missing_weight(missing: list, importance: dict) -> list[str]:
    """How much of what the model relies on is missing: a plain warning when it is a large part."""
    total = sum(importance.values())
    if not total:
        return []
    share = sum(importance.get(c, 0.0) for c in missing) / total
    if share < MATTERS:
        return []
    top = max(missing, key=lambda c: importance.get(c, 0.0))
    return [f"Warning: the missing columns carry {percent(share)} of what this model relies on ('{top}' is among "
            "its most important columns). Expect clearly worse predictions than its scores on the leaderboard; "
            "add the column to your file if you can."]


def importance_of(result: ModelResult) -> dict:
    return {r["feature"]: r["importance"] for r in (result.explanation or {}).get("variable_importance") or []}


def _row_hashes(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    present = [f for f in features if f in frame.columns]
    return pd.util.hash_pandas_object(frame[present].astype(str), index=False).to_numpy()


def training_rows_note(experiment: Experiment, result: ModelResult, model, frame: pd.DataFrame) -> list[str]:
    """When many of the scored rows are rows the model trained on, its predictions for them flatter it."""
    try:
        training = profiling.load_frame(experiment.dataset)
    except (DataError, OSError):
        return []
    if len(training) > MAX_TRAINING_ROWS_COMPARED or not set(model.features) <= set(frame.columns):
        return []
    seen = np.isin(_row_hashes(frame, model.features), _row_hashes(training, model.features))
    share = float(seen.mean()) if len(seen) else 0.0
    if share < TRAINING_ROWS_SHARE:
        return []
    metric = experiment.sort_metric
    value = (result.metrics or {}).get(metric)
    score = f" ({metric_name(metric)} {number(value, 4)})" if value is not None else ""
    first = ", ".join(str(i + 1) for i in np.flatnonzero(seen)[:5])
    return [f"{int(seen.sum()):,} of these {len(seen):,} rows ({percent(share)}) are rows the model was trained on "
            f"(rows {first}{'…' if seen.sum() > 5 else ''}): its predictions for them look better than they will "
            f"for new rows. To judge the model, use its cross-validated score{score}."]


def _summary(frame: pd.DataFrame, preds: pd.DataFrame, model) -> list[str]:
    """When the file has the target column, how the predictions compare with it."""
    target = model.target
    if target not in frame.columns or frame[target].notna().sum() == 0:
        return []
    ok = frame[target].notna()
    if model.task == "regression":
        actual = pd.to_numeric(frame.loc[ok, target], errors="coerce")
        err = (actual - preds.loc[ok, "predict"]).abs().dropna()
        if err.empty:
            return []
        return [f"This file has the actual '{target}': on its {len(err):,} rows the predictions are off by "
                f"±{number(float(err.mean()))} on average."]
    actual = frame.loc[ok, target].map(lambda v: str(v).strip())
    predicted = preds.loc[ok, "predict"].map(lambda v: str(v).strip())
    right = float((actual == predicted).mean())
    return [f"This file has the actual '{target}': {percent(right)} of its {int(ok.sum()):,} rows are predicted "
            "correctly."]


def _preview(frame: pd.DataFrame, preds: pd.DataFrame, model) -> tuple[list[str], list[list[str]]]:
    head = preds.head(PREVIEW_ROWS)
    has_actual = model.target in frame.columns
    columns = ["row"] + ([f"actual {model.target}"] if has_actual else []) + [f"predicted {model.target}"]
    classes = [c for c in preds.columns if c != "predict"]
    columns += [f"probability of '{c}'" for c in classes]
    rows = []
    for i, (idx, pred) in enumerate(head.iterrows()):
        row = [str(i + 1)]
        if has_actual:
            value = frame.at[idx, model.target]
            row.append("" if pd.isna(value) else str(value))
        p = pred["predict"]
        row.append(number(p, 4) if isinstance(p, (float, np.floating)) else str(p))
        row += [f"{100 * float(pred[c]):.1f}%" for c in classes]
        rows.append(row)
    return columns, rows


def _store(experiment: Experiment, token: str, frame: pd.DataFrame, preds: pd.DataFrame) -> None:
    from .csvsafe import spreadsheet_safe

    both = pd.concat([frame.reset_index(drop=True), preds.reset_index(drop=True).add_prefix("prediction_")
                      if set(preds.columns) & set(frame.columns) else preds.reset_index(drop=True)], axis=1)
    for kind, table in (("predictions", preds), ("with-input", both)):
        content = spreadsheet_safe(table).to_csv(index=False).encode()
        default_storage.save(storage_name(experiment, token, kind), ContentFile(content))


def storage_name(experiment: Experiment, token: str, kind: str) -> str:
    return f"predictions/experiment_{experiment.pk}/{token}_{kind}.csv"


def predictions_and_known(experiment: Experiment, result: ModelResult, model, frame: pd.DataFrame, what: str):
    """The model's predictions for the frame (any failure a message, never a server error), and the values
    seen in training that the notes compare the frame with."""
    try:
        preds = model.predict(frame)
    except DataError as exc:
        raise services.InputError(str(exc)) from exc
    except Exception as exc:
        log.warning("scoring failed for experiment %s model %s", experiment.pk, result.model_id, exc_info=True)
        raise services.InputError(f"The model could not score {what}: " + plain_error(str(exc))) from exc
    try:
        known = known_values(experiment, model)
    except (DataError, OSError):
        known = {}
    return preds, known


def score(experiment: Experiment, result: ModelResult, content: bytes) -> Scored:
    frame = read_upload_frame(content)
    model = services.load_result_model(result)
    preds, known = predictions_and_known(experiment, result, model, frame, "this file")
    token = secrets.token_hex(16)
    _store(experiment, token, frame, preds)
    columns, rows = _preview(frame, preds, model)
    return Scored(token=token, n_rows=len(preds), columns=columns, rows=rows,
                  notes=training_rows_note(experiment, result, model, frame)
                  + column_notes(frame, model, known, importance_of(result)),
                  summary=_summary(frame, preds, model), drift=drift_of(experiment, model, frame))


def drift_of(experiment: Experiment, model, frame: pd.DataFrame) -> dict | None:
    """How the scored rows compare with the training rows; None when it cannot be told (a message-free miss)."""
    if len(frame) < drift.MIN_ROWS:
        return None
    try:
        return drift.compare(drift.cached_profile(experiment, model), frame)
    except (DataError, OSError, ValueError):
        log.warning("drift could not be computed for experiment %s", experiment.pk, exc_info=True)
        return None
