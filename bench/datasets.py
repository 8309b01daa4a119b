"""The benchmark datasets and their fixed splits (the same for every framework)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


@dataclass(frozen=True)
class Spec:
    name: str
    file: str
    target: str
    task: str  # regression | binary | multiclass
    metric: str  # rmse | auc | logloss
    test_file: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "auc"


SPECS = {s.name: s for s in [
    Spec("wine_quality", "wine_quality_train.csv", "quality", "regression", "rmse", "wine_quality_test.csv"),
    Spec("credit_card", "credit_card_train.csv", "default payment next month", "binary", "auc"),
    Spec("titanic", "titanic.csv", "Survived", "binary", "auc"),
    Spec("car_evaluation", "car_evaluation.csv", "class", "multiclass", "logloss"),
    Spec("diamonds", "diamonds.csv", "price", "regression", "rmse"),
    Spec("bike_sharing_hour", "bike_sharing_hour.csv", "cnt", "regression", "rmse"),
]}


def data_dir() -> Path:
    return Path(os.environ.get("BENCH_DATA_DIR", DEFAULT_DIR))


def load(spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test frames: the given files for wine, else an 80/20 split with random_state=42."""
    folder = data_dir()
    if not (folder / spec.file).exists():
        raise SystemExit(f"{folder / spec.file} not found: set BENCH_DATA_DIR to the folder with the datasets")
    frame = pd.read_csv(folder / spec.file, sep=None, engine="python") if spec.file.endswith("red.csv") \
        else pd.read_csv(folder / spec.file)
    if spec.test_file:
        return frame, pd.read_csv(folder / spec.test_file)
    stratify = frame[spec.target] if spec.task != "regression" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def score(spec: Spec, y_true: pd.Series, predictions: pd.DataFrame) -> float:
    """The benchmark metric from a predictions frame (``predict`` plus one column per class)."""
    if spec.metric == "rmse":
        return float(np.sqrt(np.mean((predictions["predict"].to_numpy(float) - y_true.to_numpy(float)) ** 2)))
    labels = sorted(y_true.unique().tolist(), key=str)
    proba = np.column_stack([predictions[_column(predictions, c)].to_numpy(float) for c in labels])
    if spec.metric == "auc":
        return float(skm.roc_auc_score((y_true == labels[1]).astype(int), proba[:, 1]))
    proba = np.clip(proba, 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y_true.astype(str), proba, labels=[str(c) for c in labels]))


def _column(predictions: pd.DataFrame, label) -> str:
    for candidate in (label, str(label), f"p{label}"):  # H2O writes p0, p1 for numeric labels
        if candidate in predictions.columns:
            return candidate
    raise KeyError(f"no probability column for class {label!r} in {list(predictions.columns)}")
