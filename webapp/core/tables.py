"""Small clean-ups of uploaded tables that the engine's reader leaves as they are.

Used on upload (services), when a worker reads the stored file (runs) and when a file is scored.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def without_sep_hint(content: bytes) -> bytes:
    """Drop the ``sep=;`` first line that Excel writes to name the delimiter."""
    bom = b"\xef\xbb\xbf" if content.startswith(b"\xef\xbb\xbf") else b""
    first, newline, rest = content[len(bom):].partition(b"\n")
    if newline and first.startswith(b"sep=") and len(first.strip()) <= 6:
        return bom + rest
    return content


def finite(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Infinite numbers ('inf', '-inf', or too large to store) as missing values, counted per column."""
    counts = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column):
            n = int(np.isinf(column.to_numpy()).sum())
            if n:
                counts[str(name)] = n
    if counts:
        frame = frame.replace([np.inf, -np.inf], np.nan)
    return frame, counts
