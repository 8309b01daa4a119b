"""One downloadable file per model: the fitted pipeline plus its metadata.

The file is a compressed joblib pickle. Like any pickle it runs code when loaded: load only model
files you created yourself or got from someone you trust.
"""
from __future__ import annotations

import os

import joblib

from .model import TrainedModel, library_versions, now_iso

FORMAT = "automl_engine.model"
FORMAT_VERSION = 1
EXTENSION = ".automl"


def save_model(model: TrainedModel, path) -> str:
    model.metadata.setdefault("created_at", now_iso())
    model.metadata.setdefault("library_versions", library_versions())
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "metadata": model.describe(), "model": model}
    joblib.dump(payload, path, compress=3)
    return os.fspath(path)


def load_model(path) -> TrainedModel:
    """Load a model file written by ``save_model`` (or downloaded from the app)."""
    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise ValueError(f"{path} is not a model file this version can read ({exc.__class__.__name__}).") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an automl_engine model file.")
    return payload["model"]
