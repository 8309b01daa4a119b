"""Preprocessing that ships inside every model's pipeline.

``build_preprocessor(spec, style)`` returns a ``ColumnTransformer`` whose output columns come in
a fixed order: numeric, boolean, datetime parts, categorical codes, then word counts per text
column (one transformer per text column, so each column's outputs can be found again). ``style`` is ``"tree"``
(missing values left to the model, categories as integer codes) or ``"linear"`` (imputed,
scaled, one-hot encoded).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from .schema import BOOL_VALUES, FeatureSpec

# "days" counts days since 1970-01-01, so trees can follow a trend over time with a single split
DATETIME_PARTS = ("year", "month", "day", "dayofweek", "hour", "dayofyear", "days")
EARLIER_PARTS = DATETIME_PARTS[:-1]  # what model files saved before "days" was added expect
TRUE_VALUES = {"true", "yes", "t", "y", "1", "1.0"}


LARGEST = 1e15  # beyond this, values are clipped: no real measurement needs more and scaling would overflow


class ToNumber(BaseEstimator, TransformerMixin):
    """Coerce columns to floats; anything unparseable or infinite becomes missing, huge values are clipped."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        values[np.isinf(values)] = np.nan
        return np.clip(values, -LARGEST, LARGEST)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class ToBool(ToNumber):
    """Map yes/no, true/false, 1/0 (any case) to 1.0/0.0; other values become missing."""

    def transform(self, X):
        def convert(col: pd.Series) -> pd.Series:
            text = col.astype(str).str.strip().str.lower()
            known = text.isin(BOOL_VALUES | TRUE_VALUES | {"0", "0.0"})
            return text.isin(TRUE_VALUES).astype(float).where(known & col.notna())

        return pd.DataFrame(X).apply(convert).to_numpy(dtype=float)


class DatetimeParts(BaseEstimator, TransformerMixin):
    """Split each datetime column into year, month, day, day of week, hour and day of year."""

    def fit(self, X, y=None):
        self.columns_ = list(pd.DataFrame(X).columns)
        self.parts_ = DATETIME_PARTS
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        parts = []
        for col in frame.columns:
            values = _parse_dates(frame[col])
            for part in self._parts():
                if part == "days":
                    parts.append(((values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float))
                else:
                    parts.append(getattr(values.dt, part).astype(float).to_numpy())
        if not parts:
            return np.empty((len(frame), 0))
        return np.column_stack(parts)

    def _parts(self):
        return getattr(self, "parts_", EARLIER_PARTS)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{c}.{p}" for c in self.columns_ for p in self._parts()], dtype=object)


def _parse_dates(column: pd.Series) -> pd.Series:
    """Datetimes from text, parsing each distinct value once (a table repeats its dates many times).

    A time zone or offset is dropped after parsing: hours and days are kept as written.
    """
    codes, uniques = pd.factorize(column)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), errors="coerce", format="mixed")
        if not hasattr(parsed, "dt"):  # offsets that differ from row to row: compare in UTC
            parsed = pd.to_datetime(pd.Series(uniques, dtype=object), errors="coerce", format="mixed", utc=True)
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_localize(None)
    values = parsed.to_numpy()
    out = np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else np.datetime64("NaT"),
                   np.datetime64("NaT"))
    return pd.Series(out.astype("datetime64[ns]"), index=column.index)


class ToCategory(ToNumber):
    """Turn category values into strings (missing stays missing) so mixed types encode cleanly."""

    def transform(self, X):
        frame = pd.DataFrame(X)
        out = np.empty(frame.shape, dtype=object)
        for i, (_, col) in enumerate(frame.items()):
            if pd.api.types.infer_dtype(col, skipna=True) == "string":  # a CSV's text: each distinct value once
                codes, uniques = pd.factorize(col)
                words = pd.Series(uniques, dtype=object).str.strip().to_numpy(dtype=object)
                out[:, i] = np.append(words, np.nan)[codes]  # code -1, a missing value, picks the NaN at the end
                continue
            known = col.notna().to_numpy()  # numbers too (1 and 1.0 are the same key to factorize)
            values = col.to_numpy(dtype=object)
            values[known] = col[known].astype(str).str.strip().to_numpy(dtype=object)
            values[~known] = np.nan
            out[:, i] = values
        return out


class TextColumn(BaseEstimator, TransformerMixin):
    """Word features from one text column: binary counts of frequent words (trees) or TF-IDF (linear)."""

    def __init__(self, max_words=40, tfidf=False):
        self.max_words = max_words
        self.tfidf = tfidf

    def _text(self, X):
        values = pd.DataFrame(X).iloc[:, 0]
        return values.fillna("").astype(str).to_numpy()

    def fit(self, X, y=None):
        cls = TfidfVectorizer if self.tfidf else CountVectorizer
        options = {} if self.tfidf else {"binary": True}
        self.vectorizer_ = cls(max_features=self.max_words, min_df=3, token_pattern=r"(?u)\b\w\w+\b",
                               lowercase=True, dtype=np.float64, **options)
        try:
            self.vectorizer_.fit(self._text(X))
            self.words_ = list(self.vectorizer_.get_feature_names_out())
        except ValueError:  # no word occurs often enough
            self.words_ = []
        self.column_ = str(pd.DataFrame(X).columns[0])
        return self

    def transform(self, X):
        if not self.words_:
            return np.zeros((len(X), 0))
        return self.vectorizer_.transform(self._text(X)).toarray()

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{self.column_}:{w}" for w in self.words_], dtype=object)


class CategoryCodes(OrdinalEncoder):
    """scikit-learn's ordinal encoder, fitted the same way, whose transform looks every value up in a hash
    table at once instead of checking values one by one in Python (seconds on a million rows).

    Each known category's code, the rare ones grouped included, is what scikit-learn's own transform
    gives it: ``fit`` asks it once for the categories themselves. Unknown and missing values are NaN.
    """

    def fit(self, X, y=None):
        super().fit(X, y)
        longest = max(len(c) for c in self.categories_)
        table = np.empty((longest, len(self.categories_)), dtype=object)
        for j, cats in enumerate(self.categories_):
            table[:, j] = np.resize(np.asarray(cats, dtype=object), longest)  # padded by repeating
        codes = super().transform(table)
        self.lookups_ = [(pd.Index(np.asarray(cats, dtype=object)), np.append(codes[: len(cats), j], np.nan))
                         for j, cats in enumerate(self.categories_)]
        return self

    def transform(self, X):
        values = np.asarray(X, dtype=object)
        out = np.empty(values.shape, dtype=float)
        for j, (index, codes) in enumerate(self.lookups_):
            out[:, j] = codes[index.get_indexer(values[:, j])]  # -1, not a known category: the NaN at the end
        return out


def n_outputs_before_categorical(spec: FeatureSpec) -> int:
    return len(spec.numeric) + len(spec.boolean) + len(DATETIME_PARTS) * len(spec.datetime)


def build_preprocessor(spec: FeatureSpec, style: str = "tree") -> ColumnTransformer:
    linear = style == "linear"

    def numeric_steps(first):
        if linear:
            return make_pipeline(first, SimpleImputer(strategy="median", add_indicator=True,
                                                      keep_empty_features=True), StandardScaler())
        return first

    parts = []
    if spec.numeric:
        parts.append(("num", numeric_steps(ToNumber()), spec.numeric))
    if spec.boolean:
        parts.append(("bool", numeric_steps(ToBool()), spec.boolean))
    if spec.datetime:
        parts.append(("dt", numeric_steps(DatetimeParts()), spec.datetime))
    if spec.categorical:
        if linear:
            encoder = make_pipeline(
                ToCategory(), SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=60,
                              sparse_output=False))
        else:
            encoder = make_pipeline(
                ToCategory(), CategoryCodes(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                            encoded_missing_value=np.nan, min_frequency=3, max_categories=250))
        parts.append(("cat", encoder, spec.categorical))
    for i, column in enumerate(spec.text):
        parts.append((f"text{i}", TextColumn(max_words=200 if linear else 40, tfidf=linear), [column]))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)
