"""More about a dataset than its stored profile: value distributions, what each column would be as a
target, and the checks that need a target (leakage, rare classes, too few rows).

Distributions and target inference are computed once, from the stored file, and kept in
``Dataset.columns`` (extra keys ``distribution`` and ``as_target``); target checks are cached.
"""
from __future__ import annotations

import hashlib
import logging
import warnings

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.core.files.storage import default_storage

from automl_engine import DataError, read_csv
from automl_engine.checks import data_warnings
from automl_engine.schema import check_task, feature_spec, infer_task

from .models import Dataset

log = logging.getLogger(__name__)
BINS = 20
TOP_VALUES = 12
FEW_DISTINCT = 15  # numbers with this few values are drawn one bar per value
CHECK_CACHE_SECS = 24 * 3600


def load_frame(dataset: Dataset) -> pd.DataFrame:
    with default_storage.open(dataset.file.name, "rb") as fh:
        return read_csv(fh.read())


def _label(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_bars(values: pd.Series, numeric: bool = False) -> dict:
    counts = values.value_counts()
    if numeric:
        counts = counts.sort_index()
    top = counts.iloc[:TOP_VALUES] if not numeric else counts
    out = {"kind": "values", "labels": [_label(v) for v in top.index], "counts": [int(c) for c in top.values],
           "numeric": numeric}
    rest = counts.iloc[len(top):]
    if len(rest):
        out.update(other=int(rest.sum()), other_values=int(len(rest)))
    return out


def distribution(series: pd.Series, kind: str) -> dict | None:
    """Counts to draw one column's distribution; None for IDs, free text and empty columns."""
    values = series.dropna()
    if values.empty or kind in ("id", "text"):
        return None
    if kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        numbers = numbers[np.isfinite(numbers)]
        if numbers.empty:
            return None
        if numbers.nunique() <= FEW_DISTINCT:
            return _value_bars(numbers, numeric=True)
        counts, edges = np.histogram(numbers.to_numpy(), bins=BINS)
        return {"kind": "histogram", "edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    if kind == "datetime":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values, errors="coerce", format="mixed").dropna()
        if parsed.empty:
            return None
        stamps = parsed.astype("int64").to_numpy()
        counts, edges = np.histogram(stamps, bins=min(BINS, max(1, parsed.nunique())))
        labels = [pd.Timestamp(int(e)).strftime("%Y-%m-%d") for e in edges[:-1]]
        return {"kind": "dates", "labels": labels, "counts": [int(c) for c in counts]}
    return _value_bars(values.astype(str).str.strip())


def as_target(series: pd.Series) -> dict:
    """What predicting this column would mean: {task, reason} or {error} in plain words."""
    try:
        task, reason = infer_task(series)
    except DataError as exc:
        return {"error": str(exc)}
    except Exception:  # inference is a hint; the run checks the target again
        return {}
    return {"task": task, "reason": reason}


def ensure_profile(dataset: Dataset) -> Dataset:
    """Add distributions and target inference to the stored profile, once."""
    if all("distribution" in c and "as_target" in c for c in dataset.columns):
        return dataset
    try:
        frame = load_frame(dataset)
    except (DataError, OSError):
        log.warning("could not read dataset %s to profile it", dataset.pk, exc_info=True)
        return dataset
    columns = []
    for col in dataset.columns:
        col = dict(col)
        if col["name"] in frame.columns:
            series = frame[col["name"]]
            try:
                col["distribution"] = distribution(series, col["type"])
            except Exception:  # an odd column gets no chart rather than breaking the page
                log.warning("no distribution for column %r of dataset %s", col["name"], dataset.pk, exc_info=True)
                col["distribution"] = None
            col["as_target"] = as_target(series)
        columns.append(col)
    Dataset.objects.filter(pk=dataset.pk).update(columns=columns)
    dataset.columns = columns
    return dataset


def target_choices(dataset: Dataset) -> dict[str, dict]:
    return {c["name"]: c.get("as_target") or {} for c in dataset.columns}


def _encode(series: pd.Series, task: str):
    if task == "regression":
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), None
    classes = sorted(series.unique().tolist(), key=lambda v: (str(type(v)), v))
    lookup = {c: i for i, c in enumerate(classes)}
    return series.map(lookup).to_numpy(dtype=int), classes


def _check(frame: pd.DataFrame, target: str, task: str) -> dict:
    dropped_rows = int(frame[target].isna().sum())
    frame = frame.loc[frame[target].notna()].reset_index(drop=True)
    if task == "auto":
        task, reason = infer_task(frame[target])
    else:
        check_task(frame[target], task)
        reason = f"You chose {task}."
    spec = feature_spec(frame, target)
    y, classes = _encode(frame[target], task)
    notes = data_warnings(frame[spec.columns], y, task, classes)
    if dropped_rows:
        notes.insert(0, f"{dropped_rows:,} rows have no value for '{target}'; they will be left out of training.")
    return {"task": task, "reason": reason, "warnings": notes, "features": len(spec.columns),
            "not_used": spec.dropped}


def target_check(dataset: Dataset, target: str, task: str = "auto") -> dict:
    """The inferred task and the warnings that depend on the target, cached per dataset, target and task."""
    digest = hashlib.sha256(f"{dataset.pk}\0{dataset.file.name}\0{target}\0{task}".encode()).hexdigest()[:32]
    key = f"target-check:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        result = _check(load_frame(dataset), target, task)
    except DataError as exc:
        result = {"error": str(exc)}
    cache.set(key, result, CHECK_CACHE_SECS)
    return result
