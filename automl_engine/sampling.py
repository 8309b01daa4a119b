"""Random rows: a share of them stratified by class, or a sample that keeps a row of every class."""
from __future__ import annotations

from typing import Optional

import numpy as np


def pick(idx: np.ndarray, labels: Optional[np.ndarray], share: float,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random ``share`` of ``idx`` and the rest; with ``labels``, that share of every class (rounded so
    that the whole is the share of all rows, and a class of two or more rows on both sides). Vectorised:
    a few million rows take a fraction of a second, where scikit-learn's stratified split takes over one."""
    order = rng.permutation(len(idx))
    if labels is None:
        take = np.zeros(len(idx), dtype=bool)
        take[: int(round(share * len(idx)))] = True
    else:
        labels = np.asarray(labels).astype(np.int16 if len(labels) and labels.max() < 2**15 else np.int64)
        order = order[np.argsort(labels[order], kind="stable")]  # grouped by class, shuffled within (a radix
        counts = np.bincount(labels[order])  # sort for 16-bit labels: a few million rows in a few ms)
        counts = counts[counts > 0]
        exact = share * counts
        most = np.where(counts >= 2, counts - 1, counts)
        wanted = np.where(counts >= 2, np.clip(np.floor(exact).astype(int), 1, most), 0)
        short = int(round(share * len(idx))) - int(wanted.sum())  # rows that rounding down left out go to
        first = np.argsort(np.where(wanted < most, wanted - exact, np.inf), kind="stable")[:max(short, 0)]
        wanted[first[wanted[first] < most[first]]] += 1  # the classes with the largest remainders
        starts = np.cumsum(counts) - counts
        take = np.arange(len(idx)) - np.repeat(starts, counts) < np.repeat(wanted, counts)
    return idx[order[take]], idx[order[~take]]


def sample_keeping_classes(rows: np.ndarray, labels: Optional[np.ndarray], size: int, seed: int) -> np.ndarray:
    """``size`` random entries of ``rows`` (sorted), plus the first row of any class the draw missed;
    ``labels`` are the classes of ``rows``, None for regression."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(rows), size=size, replace=False)
    if labels is not None:
        picked = np.union1d(picked, np.unique(labels, return_index=True)[1])
    return np.sort(rows[picked])
