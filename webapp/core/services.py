"""Actions that change state: importing datasets, starting and stopping experiments, predicting."""
from __future__ import annotations

import io
import os
from urllib.parse import urlparse

import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from automl_engine import DataError, load_model, read_csv
from automl_engine.schema import profile_columns
from worker.celery_app import enqueue_experiment

from .fetch import FetchError, fetch
from .models import Dataset, Experiment, ModelResult

PREVIEW_ROWS = 10
ALGOS = ("GLM", "DRF", "GBM", "XRT", "DeepLearning", "StackedEnsemble")


class InputError(Exception):
    """Bad input from a user; the message is safe and helpful to show."""


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def _dataset_warnings(frame: pd.DataFrame, columns: list[dict]) -> list[str]:
    out = []
    for col in columns:
        if col["type"] in ("id", "constant", "text"):
            out.append(f"'{col['name']}' will not be used: {col['reason']}.")
        elif col["type"] == "categorical" and col["distinct"] > 50:
            out.append(f"'{col['name']}' has {col['distinct']} different values (high cardinality); rare values "
                       "are grouped together.")
        if col["missing"] and col["missing"] / max(1, len(frame)) > 0.3:
            out.append(f"'{col['name']}' is missing in {100 * col['missing'] / len(frame):.0f}% of rows; "
                       "models treat missing values as information.")
    dups = int(frame.duplicated().sum())
    if dups:
        out.append(f"{dups} rows are exact duplicates of other rows.")
    if len(frame) < 50:
        out.append(f"Only {len(frame)} rows: models trained on so little data are unreliable.")
    return out


def _preview(frame: pd.DataFrame) -> list[list[str]]:
    head = frame.head(PREVIEW_ROWS).astype(object).where(frame.head(PREVIEW_ROWS).notna(), "")
    return [[str(v) for v in row] for row in head.itertuples(index=False)]


def create_dataset(owner, *, name: str, content: bytes, source_url: str = "") -> Dataset:
    if len(content) > max_upload_bytes():
        raise InputError(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.")
    try:
        frame = read_csv(content)
    except DataError as exc:
        raise InputError(str(exc)) from exc
    if frame.shape[1] > settings.MAX_COLUMNS:
        raise InputError(f"The file has {frame.shape[1]} columns; the limit is {settings.MAX_COLUMNS}.")
    if len(frame) > settings.MAX_ROWS:
        raise InputError(f"The file has {len(frame)} rows; the limit is {settings.MAX_ROWS}.")
    columns = [c.to_dict() for c in profile_columns(frame)]
    dataset = Dataset(owner=owner, name=name[:255] or "dataset.csv", source_url=source_url,
                      size_bytes=len(content), n_rows=len(frame), n_cols=frame.shape[1], columns=columns,
                      preview=_preview(frame), warnings=_dataset_warnings(frame, columns))
    safe_name = os.path.basename(name) or "dataset.csv"
    dataset.file.save(safe_name if safe_name.lower().endswith(".csv") else safe_name + ".csv",
                      ContentFile(content), save=False)
    dataset.save()
    return dataset


def read_upload(upload) -> bytes:
    if upload.size is not None and upload.size > max_upload_bytes():
        raise InputError(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.")
    return upload.read()


def import_url(owner, url: str) -> Dataset:
    try:
        content, final = fetch(url, max_upload_bytes())
    except FetchError as exc:
        raise InputError(str(exc)) from exc
    name = os.path.basename(urlparse(final).path) or "download.csv"
    return create_dataset(owner, name=name, content=content, source_url=url[:2000])


def start_experiment(owner, dataset: Dataset, *, target: str, task: str = "auto", max_models=None,
                     max_runtime_secs=None, nfolds: int = 5, seed: int = 1, sort_metric: str = "",
                     include_algos=None, exclude_algos=None, name: str = "") -> Experiment:
    names = [c["name"] for c in dataset.columns]
    if target not in names:
        raise InputError(f"'{target}' is not a column of this dataset. Choose one of: {', '.join(names[:30])}.")
    if max_models is None and max_runtime_secs is None:
        max_runtime_secs = settings.DEFAULT_MAX_RUNTIME_SECS
    options = {"max_models": max_models, "max_runtime_secs": max_runtime_secs, "nfolds": nfolds, "seed": seed,
               "sort_metric": sort_metric or None, "include_algos": include_algos or None,
               "exclude_algos": exclude_algos or None}
    with transaction.atomic():
        experiment = Experiment.objects.create(
            owner=owner, dataset=dataset, target=target, task=task or "auto", options=options,
            name=name or f"Predict {target}")
        transaction.on_commit(lambda: enqueue_experiment(experiment.pk))
    return experiment


def cancel_experiment(experiment: Experiment) -> None:
    Experiment.objects.filter(pk=experiment.pk).update(cancel_requested=True)
    # A run that has not started yet is cancelled at once; a running one stops after its current model.
    from django.utils import timezone

    Experiment.objects.filter(pk=experiment.pk, status=Experiment.Status.QUEUED).update(
        status=Experiment.Status.CANCELLED, finished_at=timezone.now(), error="Stopped before it started.")


def load_result_model(result: ModelResult):
    with default_storage.open(result.file.name, "rb") as fh:
        return load_model(io.BytesIO(fh.read()))


def predict_csv(result: ModelResult, content: bytes) -> tuple[pd.DataFrame, dict]:
    try:
        frame = read_csv(content)
    except DataError as exc:
        raise InputError(str(exc)) from exc
    model = load_result_model(result)
    problems = model.check_input(frame)
    try:
        preds = model.predict(frame)
    except DataError as exc:
        raise InputError(str(exc)) from exc
    return preds, problems
