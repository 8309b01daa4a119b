"""Column kinds and task inference.

Each column gets a kind: numeric, categorical, boolean, datetime, text, id or constant. ID-like
and constant columns are dropped from the features, each with a stated reason; free text becomes
word-count features.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError

NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT, ID, CONSTANT = (
    "numeric", "categorical", "boolean", "datetime", "text", "id", "constant")
USED_KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT)
TASKS = ("regression", "binary", "multiclass")
MAX_CLASSES = 100
BOOL_VALUES = {"true", "false", "yes", "no", "t", "f", "y", "n"}
# dates, optionally with a time, and ISO-8601's "Z" or a "+02:00" / "-0500" offset after the time
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
                        r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?\s*$")
DISTINCT_SAMPLE = 200  # distinct values looked at to tell dates from other text


@dataclass
class ColumnInfo:
    name: str
    kind: str
    missing: int
    distinct: int
    reason: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.kind, "missing": self.missing,
                "distinct": self.distinct, "reason": self.reason}


@dataclass
class FeatureSpec:
    """Which raw columns feed the model, by kind."""
    numeric: list[str] = field(default_factory=list)
    boolean: list[str] = field(default_factory=list)
    datetime: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.boolean + self.datetime + self.categorical + self.text

    def kinds(self) -> dict[str, str]:
        out = {c: NUMERIC for c in self.numeric}
        out.update({c: BOOLEAN for c in self.boolean})
        out.update({c: DATETIME for c in self.datetime})
        out.update({c: CATEGORICAL for c in self.categorical})
        out.update({c: TEXT for c in self.text})
        return out


def _as_strings(values) -> pd.Series:
    return pd.Series(values).dropna().astype(str).str.strip()


def _is_bool(series: pd.Series, uniques: np.ndarray) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return True
    if series.dtype == object:
        values = set(_as_strings(uniques).str.lower().unique())
        return 0 < len(values) <= 2 and values <= BOOL_VALUES
    return False


def _is_datetime(series: pd.Series, uniques: np.ndarray) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if series.dtype != object:
        return False
    sample = _as_strings(uniques[:DISTINCT_SAMPLE])
    if sample.empty or not sample.str.match(_DATE_LIKE).mean() > 0.95:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return parsed.notna().mean() > 0.95


def _is_text(uniques: pd.Series, counts: np.ndarray, n_nonnull: int) -> bool:
    """Several words per value, mostly different values: sentences, names, descriptions.

    Works on the distinct values weighted by how often each occurs, so a column costs what its
    distinct values cost, not what its rows cost.
    """
    if uniques.empty:
        return False
    weights = counts / counts.sum()
    words = float(np.dot(uniques.str.split().str.len().to_numpy(float), weights))
    distinct = len(uniques)
    if distinct == n_nonnull:  # unique per row: names and descriptions, not codes
        return words >= 3
    length = float(np.dot(uniques.str.len().to_numpy(float), weights))
    return words >= 4 and length >= 25 and distinct > 0.5 * n_nonnull


def infer_column(series: pd.Series, n_rows: int) -> ColumnInfo:
    name = str(series.name)
    nonnull = series.dropna()
    missing = n_rows - len(nonnull)
    counts = nonnull.value_counts(sort=False)
    distinct = len(counts)
    info = ColumnInfo(name, CATEGORICAL, int(missing), distinct)
    if distinct <= 1:
        info.kind, info.reason = CONSTANT, (
            "it is empty" if distinct == 0 else "it has the same value in every row")
        return info
    uniques = counts.index.to_numpy()
    if _is_bool(series, uniques):
        info.kind = BOOLEAN
        return info
    if pd.api.types.is_numeric_dtype(series):
        is_int = pd.api.types.is_integer_dtype(series) or bool(np.all(np.mod(uniques.astype(float), 1) == 0))
        if is_int and distinct == n_rows and n_rows >= 20 and _looks_like_counter(nonnull):
            info.kind, info.reason = ID, "it is a row number or ID (a different whole number in every row)"
        else:
            info.kind = NUMERIC
        return info
    if _is_datetime(series, uniques):
        info.kind = DATETIME
        return info
    strings = pd.Series(uniques).astype(str).str.strip()
    if _is_text(strings, counts.to_numpy(), len(nonnull)):
        info.kind, info.reason = TEXT, "free text: the models learn from the words it contains"
        return info
    if distinct == len(nonnull) and n_rows >= 20:
        info.kind, info.reason = ID, "it is an identifier (a different value in every row)"
        return info
    return info


def _looks_like_counter(values: pd.Series) -> bool:
    """Unique integers that fill most of their range (1, 2, 3, ...) read as row numbers."""
    span = float(values.max()) - float(values.min()) + 1
    return span <= 2 * len(values)


def profile_columns(frame: pd.DataFrame) -> list[ColumnInfo]:
    return [infer_column(frame[c], len(frame)) for c in frame.columns]


def _numeric_kind(series: pd.Series, n_rows: int) -> ColumnInfo | None:
    """The kind of a column of plain numbers without counting its distinct values, which costs a second
    on a few million rows; None where the count is needed after all (an integer column that may be an ID).
    Its ``distinct`` is -1: not counted."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[~np.isnan(values)]
    missing = n_rows - len(values)
    if not len(values) or values.min() == values.max():
        return None  # empty or constant: infer_column words the reason
    if len(values) == n_rows and bool(np.all(np.mod(values, 1) == 0)):
        return None  # whole numbers in every row: an ID perhaps
    return ColumnInfo(str(series.name), NUMERIC, int(missing), -1)


def check_column_choice(columns, target: str, ignore=(), keep=()) -> None:
    """The columns a person asked to leave out (``ignore``) or to use although they look like identifiers
    (``keep``) must be columns of the table other than the target, and not both."""
    names = {str(c) for c in columns}
    for label, chosen in (("leave out", ignore), ("keep", keep)):
        unknown = [str(c) for c in chosen if str(c) not in names]
        if unknown:
            raise DataError(f"Asked to {label} {', '.join(repr(c[:100]) for c in unknown[:10])}, which "
                            f"{'is not a column' if len(unknown) == 1 else 'are not columns'} of the data. "
                            f"Columns: {', '.join(list(map(str, columns))[:30])}.")
        if target in chosen:
            raise DataError(f"'{target}' is the column to predict; it cannot also be a column to {label}.")
    both = [str(c) for c in ignore if c in set(keep)]
    if both:
        raise DataError(f"{', '.join(repr(c) for c in both[:10])} cannot be both left out and kept. Choose one.")


def _kept(info: ColumnInfo, series: pd.Series) -> ColumnInfo:
    """An identifier a person asked to use: its numbers as numbers, other values as categories."""
    info.kind = NUMERIC if pd.api.types.is_numeric_dtype(series) else CATEGORICAL
    info.reason = ""
    return info


def feature_spec(frame: pd.DataFrame, target: str, ignore: tuple = (), keep: tuple = ()) -> FeatureSpec:
    """The columns the models learn from, by kind, and the ones set aside with the reason. ``ignore``: columns
    a person chose to leave out; ``keep``: columns to use although they look like identifiers (a row number
    that follows the order of something, a code that is unique per row)."""
    spec = FeatureSpec()
    infos = (_numeric_kind(frame[c], len(frame)) or infer_column(frame[c], len(frame))
             for c in frame.columns if c != target)  # no copy of the table
    identifiers = []
    for info in infos:
        if info.kind == ID and info.name in keep:
            info = _kept(info, frame[info.name])
        if info.name in ignore:
            spec.dropped[info.name] = "you chose to leave it out"
        elif info.kind in USED_KINDS:
            getattr(spec, info.kind).append(info.name)
        else:
            spec.dropped[info.name] = info.reason
            identifiers += [info.name] if info.kind == ID else []
    if not spec.columns:
        keep_hint = ""
        if identifiers:  # a row number may also be a time or an order that the target follows
            names = ", ".join(f"'{n}'" for n in identifiers)
            keep_hint = (f" {names} looked like row identifiers; if one means something (a time, an order, a "
                         "measurement), keep it (in the app: tick it under Advanced settings, Columns to learn "
                         "from; command line: --keep-columns; API: keep_columns).")
        raise DataError("No usable feature columns are left once ID-like and constant columns "
                        f"are set aside ({', '.join(spec.dropped) or 'none'}).{keep_hint} "
                        "Otherwise add columns that describe each row.")
    return spec


def infer_task(target: pd.Series) -> tuple[str, str]:
    """Return (task, reason in plain words) for the target column."""
    values = target.dropna()
    name = target.name
    distinct = int(values.nunique())
    if distinct < 2:
        raise DataError(f"The target column '{name}' has {'no values' if distinct == 0 else 'only one value'}; "
                        "there is nothing to predict. Pick a column whose values differ between rows.")
    if distinct == 2:
        return "binary", f"'{name}' has exactly two values, so this is a yes/no (binary) prediction."
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "regression", (f"'{name}' is numeric with {distinct} different values, so the models predict "
                              "a number (regression). Choose multiclass to treat the values as categories.")
    if distinct > MAX_CLASSES:
        raise DataError(f"The target column '{name}' has {distinct} different text values; that is too many "
                        f"categories to learn (at most {MAX_CLASSES}). Pick another target or group its values.")
    return "multiclass", f"'{name}' has {distinct} categories, so the models predict which category (multiclass)."


def check_task(target: pd.Series, task: str) -> None:
    values = target.dropna()
    if task not in TASKS:
        raise DataError(f"Unknown task '{task}'. Use one of: auto, {', '.join(TASKS)}.")
    if task == "regression" and not pd.api.types.is_numeric_dtype(values):
        raise DataError(f"The target '{target.name}' holds text, so it cannot be predicted as a number. "
                        "Use binary or multiclass instead.")
    if task == "binary" and values.nunique() != 2:
        raise DataError(f"A binary task needs a target with exactly two values; '{target.name}' has "
                        f"{values.nunique()}. Use multiclass or regression instead.")
    if task == "multiclass" and values.nunique() > MAX_CLASSES:
        raise DataError(f"The target '{target.name}' has {values.nunique()} values; a multiclass task allows "
                        f"at most {MAX_CLASSES}.")
    if task == "multiclass" and values.nunique() < 2:
        raise DataError(f"The target '{target.name}' has fewer than two values; there is nothing to predict.")
