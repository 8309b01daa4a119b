"""The optional test split: rows kept aside from training, on which every model is scored at the end."""
from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

MAX_CLASSES_TO_STRATIFY = 50


def split_for_test(frame: pd.DataFrame, target: str, fraction, seed: int = 1):
    """(training rows, test rows or None). Classes keep their shares in both parts when possible."""
    if not fraction or target not in frame.columns:
        return frame, None
    labelled = frame.loc[frame[target].notna()]
    if len(labelled) < 20:
        return frame, None  # too few rows to spare any; the engine says so if it matters
    y = labelled[target]
    counts = y.value_counts()
    stratify = y if len(counts) <= MAX_CLASSES_TO_STRATIFY and counts.min() >= 2 else None
    train_idx, test_idx = train_test_split(labelled.index, test_size=float(fraction), random_state=seed,
                                           stratify=stratify)
    unlabelled = frame.index.difference(labelled.index)
    train = frame.loc[train_idx.union(unlabelled)].sort_index().reset_index(drop=True)
    return train, frame.loc[test_idx].sort_index().reset_index(drop=True)
