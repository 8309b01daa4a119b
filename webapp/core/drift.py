"""Do the rows being scored look like the rows the model learnt from? Per column and in plain words.

For each column the model uses: the population stability index (PSI) of its values against the
training rows (numbers in the training deciles, categories by share), the share of categories
never seen in training, the share of numbers outside the training range, and missing values where
training had (almost) none. A column "looks different" when any of these is clearly off.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from django.core.cache import cache

from . import profiling
from .models import Experiment

MIN_ROWS = 50  # fewer rows than this say too little about a distribution to compare it
BINS = 10
TOP_CATEGORIES = 30
EPS = 1e-4
PSI_SHIFT = 0.25  # the usual reading: under 0.1 stable, 0.1-0.25 some change, over 0.25 a large change
SHARE_OFF = 0.10  # unseen categories or out-of-range numbers in more than this share of rows
NEW_MISSING = 0.10  # missing in this much more of the rows than in training


def _numeric_profile(values: pd.Series) -> dict | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return None
    edges = np.unique(np.quantile(numbers, np.linspace(0, 1, BINS + 1)[1:-1]))
    shares = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1) / len(numbers)
    return {"kind": "numeric", "edges": edges.tolist(), "shares": shares.tolist(),
            "min": float(numbers.min()), "max": float(numbers.max())}


def _categorical_profile(values: pd.Series) -> dict | None:
    text = values.dropna().map(lambda v: str(v).strip())
    if text.empty:
        return None
    shares = text.value_counts(normalize=True)
    return {"kind": "categorical", "shares": {str(k): float(v) for k, v in shares.head(TOP_CATEGORIES).items()},
            "known": sorted(map(str, shares.index[:5000]))}


def training_profile(frame: pd.DataFrame, kinds: dict) -> dict:
    """Per column the model uses: its distribution in the training rows (numeric or categorical)."""
    profile = {}
    for column, kind in kinds.items():
        if column not in frame.columns or kind not in ("numeric", "categorical", "boolean"):
            continue
        values = frame[column]
        entry = _numeric_profile(values) if kind == "numeric" else _categorical_profile(values)
        if entry is not None:
            entry["missing"] = float(values.isna().mean())
            profile[column] = entry
    return profile


def cached_profile(experiment: Experiment, model) -> dict:
    dataset = experiment.dataset
    key = "drift-profile:" + hashlib.sha256(
        f"{dataset.pk}\0{dataset.file.name}\0{sorted(model.features)}".encode()).hexdigest()[:32]
    profile = cache.get(key)
    if profile is None:
        frame = profiling.load_frame(dataset)
        if experiment.target in frame.columns:
            frame = frame.loc[frame[experiment.target].notna()]
        profile = training_profile(frame, {f: model.feature_kinds.get(f) for f in model.features})
        cache.set(key, profile, 3600)
    return profile


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.clip(expected, EPS, None), np.clip(actual, EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _compare_numeric(entry: dict, values: pd.Series) -> dict:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return {"psi": None, "outside_range": 0.0}
    edges = np.asarray(entry["edges"])
    shares = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1) / len(numbers)
    outside = float(((numbers < entry["min"]) | (numbers > entry["max"])).mean())
    return {"psi": _psi(np.asarray(entry["shares"]), shares), "outside_range": outside}


def _compare_categorical(entry: dict, values: pd.Series) -> dict:
    text = values.dropna().map(lambda v: str(v).strip())
    if text.empty:
        return {"psi": None, "unseen": 0.0}
    known = set(entry["known"])
    shares = text.value_counts(normalize=True)
    top = entry["shares"]
    expected = np.array(list(top.values()) + [max(0.0, 1 - sum(top.values()))])
    actual = np.array([float(shares.get(k, 0.0)) for k in top] + [float(shares[~shares.index.isin(list(top))].sum())])
    return {"psi": _psi(expected, actual), "unseen": float((~text.isin(known)).mean())}


def _reasons(row: dict) -> list[str]:
    reasons = []
    if row.get("psi") is not None and row["psi"] > PSI_SHIFT:
        reasons.append("its values are spread differently")
    if row.get("unseen", 0) > SHARE_OFF:
        reasons.append(f"{row['unseen']:.0%} of its values were never seen in training")
    if row.get("outside_range", 0) > SHARE_OFF:
        reasons.append(f"{row['outside_range']:.0%} of its values are outside the training range")
    if row["missing"] - row["training_missing"] > NEW_MISSING:
        reasons.append(f"{row['missing']:.0%} missing, against {row['training_missing']:.0%} in training")
    return reasons


def compare(profile: dict, frame: pd.DataFrame) -> dict | None:
    """Each column against training, and a summary in words; None when there are too few rows to tell."""
    if len(frame) < MIN_ROWS:
        return None
    columns = []
    for column, entry in profile.items():
        if column not in frame.columns:
            continue  # a missing column is reported by the scoring notes
        values = frame[column]
        row = {"column": column, "kind": entry["kind"], "missing": float(values.isna().mean()),
               "training_missing": entry["missing"]}
        row.update(_compare_numeric(entry, values) if entry["kind"] == "numeric" else _compare_categorical(entry, values))
        row["reasons"] = _reasons(row)
        row["different"] = bool(row["reasons"])
        columns.append(row)
    columns.sort(key=lambda r: (not r["different"], -(r.get("psi") or 0.0)))
    different = [r["column"] for r in columns if r["different"]]
    if different:
        n = len(different)
        summary = (f"{n} column{'s' * (n != 1)} look{'s' * (n == 1)} different from the training data "
                   f"({', '.join(different[:5])}{' and more' if n > 5 else ''}): predictions for these rows may be "
                   "less accurate than the model's scores suggest.")
    else:
        summary = "These rows look like the training data: the model's scores should hold for them."
    return {"summary": summary, "different": different, "columns": columns, "rows": len(frame)}
