"""Actions that change state: importing datasets, starting and stopping experiments, predicting."""
from __future__ import annotations

import csv
import io
import logging
import os
from urllib.parse import urlparse

import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from django.utils import timezone
from django.utils.text import get_valid_filename

from automl_engine import DataError, load_model, read_csv
from automl_engine.schema import profile_columns
from worker.celery_app import enqueue_experiment

from .checks import target_problem
from .fetch import FetchError, fetch
from .tables import finite, without_sep_hint
from .models import ApiToken, Dataset, Experiment, ModelResult
from .options import ExperimentOptions, OptionError
from .options import budget as options_budget
from .uploads import max_upload_bytes, too_large_message

log = logging.getLogger(__name__)
PREVIEW_ROWS = 10
HEADER_DELIMITERS = ",;\t|"


class InputError(Exception):
    """Bad input from a user; the message is safe and helpful to show."""
    status = 400


class TooLarge(InputError):
    status = 413


class LimitReached(InputError):
    """The user has as many experiments waiting or running as allowed."""
    status = 429


def _dataset_warnings(frame: pd.DataFrame, columns: list[dict]) -> list[str]:
    out = []
    for col in columns:
        if col["type"] == "id":
            out.append(f"'{col['name']}' will not be used: {col['reason']}. If its values mean something (a row "
                       "number in the order of time), tick it under Advanced settings, Columns to learn from.")
        elif col["type"] == "constant":
            out.append(f"'{col['name']}' will not be used: {col['reason']}.")
        elif col["type"] == "text":
            out.append(f"'{col['name']}' is {col['reason'] or 'free text'}.")
        elif col["type"] == "categorical" and col["distinct"] > 50:
            out.append(f"'{col['name']}' has {col['distinct']} different values (high cardinality); rare values "
                       "are grouped together.")
        if col["missing"] and col["missing"] / max(1, len(frame)) > 0.3:
            out.append(f"'{col['name']}' is missing in {100 * col['missing'] / len(frame):.0f}% of rows; "
                       "models treat missing values as information.")
    dups = int(frame.duplicated().sum())
    if dups:
        out.append(f"{dups:,} rows are exact duplicates of other rows. They are kept; if they are the same record "
                   "entered twice, remove them from the file, as they make the scores look better than they are.")
    if len(frame) < 50:
        out.append(f"Only {len(frame)} rows: models trained on so little data are unreliable. Every row is used "
                   "for both training and scoring (cross-validation), but expect the scores to vary.")
    return out


def _preview(frame: pd.DataFrame) -> list[list[str]]:
    head = frame.head(PREVIEW_ROWS).astype(object).where(frame.head(PREVIEW_ROWS).notna(), "")
    return [[str(v) for v in row] for row in head.itertuples(index=False)]


def _too_many_columns(n: int) -> InputError:
    return TooLarge(f"The file has {n} columns; the limit is {settings.MAX_COLUMNS}. "
                    "Keep only the columns that can help the prediction.")


def _header_width(content: bytes) -> int:
    """The most fields the first line splits into with any usual delimiter: a cheap upper bound
    on the column count, taken before the whole file is parsed."""
    head = content[:1024 * 1024].decode("utf-8", errors="replace").replace("\x00", "")
    first = next((line for line in head.splitlines() if line.strip()), "")
    return max(first.count(d) + 1 for d in HEADER_DELIMITERS)


def parse_csv(content: bytes, max_rows=None) -> pd.DataFrame:
    """The engine's reader, with every failure on odd bytes turned into a message."""
    try:
        return read_csv(content, max_rows=max_rows)
    except DataError as exc:
        raise InputError(str(exc)) from exc
    except csv.Error as exc:
        raise InputError("A value in this file is longer than the CSV reader allows (about 130,000 characters), "
                         "or a quote is never closed. Check that this is a CSV table, and shorten very long "
                         "text fields.") from exc
    except (ValueError, UnicodeError, OverflowError, LookupError, MemoryError) as exc:
        log.warning("unreadable CSV", exc_info=True)
        raise InputError("This file could not be read as a CSV table "
                         f"({exc.__class__.__name__}). Save it as a comma-separated CSV file and try again.") from exc


def read_table(content: bytes):
    """Parse an upload within the row and column limits, or say which limit it breaks."""
    if len(content) > max_upload_bytes():
        raise TooLarge(too_large_message())
    if _header_width(content) > settings.MAX_COLUMNS:
        raise _too_many_columns(_header_width(content))
    frame = parse_csv(content, max_rows=settings.MAX_ROWS + 1)
    if frame.shape[1] > settings.MAX_COLUMNS:
        raise _too_many_columns(frame.shape[1])
    if len(frame) > settings.MAX_ROWS:
        raise TooLarge(f"The file has more than {settings.MAX_ROWS:,} rows, the limit. "
                       "Upload a sample of the rows.")
    return frame


def _stored_name(name: str) -> str:
    """A short, plain file name for storage, whatever name the upload came with."""
    stem = os.path.splitext(os.path.basename(name.replace("\\", "/")))[0]
    try:
        stem = get_valid_filename(stem)[:80]
    except SuspiciousFileOperation:
        stem = ""
    return (stem or "dataset") + ".csv"


def create_dataset(owner, *, name: str, content: bytes, source_url: str = "") -> Dataset:
    content = without_sep_hint(content)
    frame, infinite = finite(read_table(content))
    columns = [c.to_dict() for c in profile_columns(frame)]
    warnings = [f"'{col}' has {n:,} infinite values (inf, or too large to store); they are treated as missing."
                for col, n in infinite.items()] + _dataset_warnings(frame, columns)
    dataset = Dataset(owner=owner, name=name[:255] or "dataset.csv", source_url=source_url,
                      size_bytes=len(content), n_rows=len(frame), n_cols=frame.shape[1], columns=columns,
                      preview=_preview(frame), warnings=warnings)
    dataset.file.save(_stored_name(name), ContentFile(content), save=False)
    dataset.save()
    return dataset


def read_upload(upload) -> bytes:
    if upload.size is not None and upload.size > max_upload_bytes():
        raise TooLarge(too_large_message())
    return upload.read()


def import_url(owner, url: str) -> Dataset:
    try:
        content, final = fetch(url, max_upload_bytes())
    except FetchError as exc:
        raise InputError(str(exc)) from exc
    name = os.path.basename(urlparse(final).path) or "download.csv"
    return create_dataset(owner, name=name, content=content, source_url=url[:2000])


def parse_options(raw: dict) -> ExperimentOptions:
    """An experiment's settings from what a person sent (the API's JSON, or the form's fields)."""
    try:
        return ExperimentOptions.parse(raw)
    except OptionError as exc:
        raise InputError(str(exc)) from exc


def parse_budget(raw: dict) -> tuple:
    """(max_models, max_runtime_secs) from what a person sent, checked as a new experiment's are."""
    try:
        return options_budget(raw)
    except OptionError as exc:
        raise InputError(str(exc)) from exc


def start_experiment(owner, dataset: Dataset, *, target: str, task: str = "auto", options: ExperimentOptions,
                     name: str = "") -> Experiment:
    """Save a new experiment with its settings (checked by ``parse_options``) and send it to the workers."""
    _check_question(dataset, target, task, options)
    with transaction.atomic():
        reserve_active_slot(owner)
        experiment = Experiment.objects.create(
            owner=owner, dataset=dataset, target=target, task=task or "auto", options=options.stored(),
            name=(name or f"Predict {target}")[:255])
        transaction.on_commit(lambda: send_experiment(experiment.pk))
    return experiment


def _check_question(dataset: Dataset, target: str, task: str, options: ExperimentOptions) -> None:
    names = [c["name"] for c in dataset.columns]
    if target not in names:
        raise InputError(f"'{target[:300]}' is not a column of this dataset. "
                         f"Choose one of: {', '.join(names[:30])}.")
    problem = target_problem(dataset.columns, dataset.n_rows, target, task or "auto", options.keep_columns or ()) \
        or options.column_problem(names, target) or _nothing_left(dataset, target, options)
    if problem:
        raise InputError(problem)


def _nothing_left(dataset: Dataset, target: str, options: ExperimentOptions) -> str | None:
    """A message when the columns left out leave nothing to learn from."""
    ignore, keep = set(options.ignore_columns or ()), set(options.keep_columns or ())
    usable = [c["name"] for c in dataset.columns if c["name"] != target and c["name"] not in ignore
              and (c["type"] not in ("id", "constant") or (c["type"] == "id" and c["name"] in keep))]
    if usable or not ignore:
        return None  # with nothing left out, the run itself says why no column can be used
    return ("With the columns you left out, no column is left to learn from. Keep at least one column "
            "besides the one to predict.")


def estimate_experiment(dataset: Dataset, *, target: str, task: str = "auto", options: ExperimentOptions,
                        name: str = "") -> dict:
    """What an experiment with these settings is expected to do, from the engine's cost model: nothing
    is trained or saved."""
    from automl_engine import AutoML

    _check_question(dataset, target, task, options)
    with default_storage.open(dataset.file.name, "rb") as fh:
        frame, _ = finite(read_csv(fh.read()))
    aml = AutoML(max_runtime_secs=options.max_runtime_secs, task=task or "auto", **options.engine_kwargs())
    try:
        return aml.estimate(frame, target)
    except DataError as exc:
        raise InputError(str(exc)) from exc


def reserve_active_slot(owner) -> None:
    """Inside a transaction, before queueing a run: lock the user's row, then check the limit. The count
    and the insert (or update) that follows are one step (PostgreSQL locks the row; SQLite runs write
    transactions one at a time), so simultaneous requests cannot pass the limit together."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    _check_active_limit(owner)


def _check_active_limit(owner) -> None:
    active = owner.experiments.filter(status__in=[Experiment.Status.QUEUED, Experiment.Status.RUNNING]).count()
    if active >= settings.MAX_ACTIVE_PER_USER:
        raise LimitReached(f"You already have {active} experiments waiting or running, the most allowed. "
                           "Wait for one to finish, or stop one, then start this one.")


def send_experiment(experiment_id: int, countdown: int = 0) -> bool:
    """Hand the experiment to the workers. When the queue cannot be reached the experiment stays
    waiting with enqueued_at unset, and a worker's recovery pass sends it once the queue is back."""
    try:
        enqueue_experiment(experiment_id, countdown=countdown)
    except Exception:
        log.warning("could not send experiment %s to the queue; it will be sent later", experiment_id,
                    exc_info=True)
        return False
    Experiment.objects.filter(pk=experiment_id).update(enqueued_at=timezone.now())
    return True


def cancel_experiment(experiment: Experiment) -> None:
    Experiment.objects.filter(pk=experiment.pk).update(cancel_requested=True)
    # A run that has not started yet is cancelled at once; a running one stops after its current model.
    Experiment.objects.filter(pk=experiment.pk, status=Experiment.Status.QUEUED).update(
        status=Experiment.Status.CANCELLED, finished_at=timezone.now(), error="Stopped before it started.")


def load_result_model(result: ModelResult):
    with default_storage.open(result.file.name, "rb") as fh:
        return load_model(io.BytesIO(fh.read()))


def predict_csv(result: ModelResult, content: bytes) -> tuple[pd.DataFrame, dict]:
    frame, _ = finite(parse_csv(without_sep_hint(content)))
    model = load_result_model(result)
    problems = model.check_input(frame)
    try:
        preds = model.predict(frame)
    except DataError as exc:
        raise InputError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        log.warning("scoring failed for %s", result, exc_info=True)
        raise InputError("This file could not be scored: its columns do not hold the kinds of values the model "
                         f"was trained on ({exc.__class__.__name__}). Check it against the training file.") from exc
    return preds, problems


MAX_TOKEN_DAYS = 3650


def issue_token(user, expires_in_days=None, can_create_tokens: bool = False) -> tuple[ApiToken, str]:
    """A new API token for the user; the key is shown once and only its hash is kept."""
    if expires_in_days is not None and (isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int)
                                        or not 1 <= expires_in_days <= MAX_TOKEN_DAYS):
        raise InputError(f"'expires_in_days' must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, or left out "
                         "for a token that lasts until revoked.")
    return ApiToken.issue(user, expires_in_days, bool(can_create_tokens))


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
