"""Making data from uploaded files safe to hand back: in CSV downloads and in HTTP headers.

Class labels come from the user's file and end up in the predictions CSV (as values and as
probability column names). A label such as ``=HYPERLINK(...)`` would run as a formula when the
CSV is opened in a spreadsheet, so text cells starting with ``= + - @`` (or a tab or carriage
return) get a leading apostrophe, as OWASP advises. Numbers are left alone.
"""
from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def cell_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    columns = []
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        columns.append(series if pd.api.types.is_numeric_dtype(series) else series.astype(object).map(cell_safe))
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = [cell_safe(str(c)) for c in frame.columns]
    return out


def header_safe(text: str) -> str:
    """A value for an HTTP header: no newlines or other control characters."""
    return _CONTROL.sub(" ", text)
