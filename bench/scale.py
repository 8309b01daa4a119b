"""Generated tables for the scale suite: how time to the first model, wall time and memory grow with rows.

Each table has 20 feature columns of the kinds a user's upload brings (numbers, categoricals with 10 to
5,000 levels, an ISO-8601 datetime as text), 2% missing values in every one of them, and a target that
depends on numbers, categoricals and the date, plus noise. Tables are made with seeded, vectorised numpy
(3M rows in seconds), split 80/20 as every benchmark table is, and written once to a CSV cache: a
training file and a test file. A run reads the training file within its clock, the way a worker reads a
user's upload, and the test file before the clock starts, as the scoring data a user brings later.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets import METRIC, Spec, split

DATA_SEED = 2024  # fixed, so the cached files stay valid whatever --seed the frameworks get
TABLE_VERSION = 2  # in the cached file's name: bump it when make_table changes, so old files are not reused
N_NUMERIC = 15
CATEGORICAL_LEVELS = (10, 100, 1000, 5000)
MISSING_SHARE = 0.02
N_CLASSES = 5
DATE_START = np.datetime64("2019-01-01T00", "h")
DATE_HOURS = 5 * 365 * 24  # five years, hourly
NOISE = 0.5  # standard deviation of the noise, against a signal of standard deviation about 1.9
TARGET = "target"
DATE_COLUMN = "event_time"
DECIMALS = 4  # numbers as a user's export would have them; also keeps the CSV small
DEFAULT_ROWS = (100_000, 1_000_000, 3_000_000)
TASKS = ("regression", "binary", "multiclass")
CACHE_DIR = Path(__file__).resolve().parent / ".cache"  # ignored by bench/.gitignore


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR", CACHE_DIR))


def scale_name(task: str, rows: int) -> str:
    return f"scale-{task}-{rows}"


def scale_spec(name: str) -> Spec:
    """The spec of a generated table from its name, ``scale-<task>-<rows>``."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "scale" or parts[1] not in TASKS or not parts[2].isdigit():
        raise KeyError(f"unknown dataset {name!r}")
    task, rows = parts[1], parts[2]
    stem = cache_dir() / f"{task}-{rows}-seed{DATA_SEED}-v{TABLE_VERSION}"
    return Spec(name, f"{stem}-train.csv", TARGET, task, METRIC[task], test_file=f"{stem}-test.csv",
                source="scale")


def ensure_csv(spec: Spec) -> Path:
    """Write the training and test files to the cache unless they are there already; the training file's path.

    Each is written under a temporary name, then renamed, the test file last: it is the sign of a whole pair.
    """
    path, test_path = Path(spec.file), Path(spec.test_file)
    if not test_path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = int(spec.name.rsplit("-", 1)[1])
        for part, target in zip(split(make_table(rows, spec.task), spec), (path, test_path)):
            partial = target.with_suffix(".partial")
            write_csv(part, partial)
            partial.replace(target)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """pyarrow's writer where installed (3M rows in about 10 s, against over a minute for pandas)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:
        frame.to_csv(path, index=False)
        return
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # No generated value holds a delimiter or a quote, so nothing needs quoting.
    pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="none"))


def make_table(rows: int, task: str, seed: int = DATA_SEED) -> pd.DataFrame:
    """The features and the target; the signal is computed before values go missing."""
    rng = np.random.default_rng(seed)
    x = [rng.standard_normal(rows) for _ in range(N_NUMERIC)]  # only the first five carry signal
    columns = {f"num_{i}": np.round(values, DECIMALS) for i, values in enumerate(x)}
    signal = x[0] + 0.5 * x[1] * x[2] + np.sin(2 * x[3]) + 0.3 * x[4] ** 2
    for levels in CATEGORICAL_LEVELS:
        codes = rng.integers(0, levels, rows)
        columns[f"cat_{levels}"] = _level_names(f"c{levels}_", levels)[codes]
        signal += rng.normal(0, 0.5, levels)[codes]  # every level has its own effect
    hours = rng.integers(0, DATE_HOURS, rows)
    columns[DATE_COLUMN] = np.datetime_as_string(DATE_START + np.arange(DATE_HOURS), unit="s").astype(object)[hours]
    signal += _date_effect(hours)
    for name in columns:
        _knock_out(rng, columns[name])
    columns[TARGET] = _target(signal + rng.normal(0, NOISE, rows), task)
    return pd.DataFrame(columns)


def _level_names(prefix: str, levels: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(levels)], dtype=object)


def _date_effect(hours: np.ndarray) -> np.ndarray:
    """A trend over the years, a yearly season and a weekend bump: learnable from the date's parts."""
    days = hours // 24
    years = days / 365.25
    weekday = (days + _weekday(DATE_START)) % 7  # 0 = Monday
    return 0.3 * years + 0.6 * np.sin(2 * np.pi * years) + 0.5 * (weekday >= 5)


def _weekday(stamp: np.datetime64) -> int:
    days_since_1970 = int(stamp.astype("datetime64[D]").astype(np.int64))
    return (days_since_1970 + 3) % 7  # 1970-01-01 was a Thursday


def _knock_out(rng: np.random.Generator, values: np.ndarray) -> None:
    """Exactly 2% of the values become missing (NaN for numbers, None for text), in place."""
    where = rng.choice(len(values), size=round(MISSING_SHARE * len(values)), replace=False)
    values[where] = np.nan if values.dtype.kind == "f" else None


def _target(latent: np.ndarray, task: str) -> np.ndarray:
    if task == "regression":
        return np.round(10 * latent + 100, 3)
    if task == "binary":
        return np.where(latent > np.median(latent), "yes", "no").astype(object)
    edges = np.quantile(latent, np.linspace(0, 1, N_CLASSES + 1)[1:-1])
    return _level_names("class_", N_CLASSES)[np.searchsorted(edges, latent)]
