"""Checks made when an experiment is asked for, from the dataset's stored profile.

They turn the cases the engine would refuse at once (a target with no values or one value, too
few rows, too many categories, no usable feature) into a 400 the person sees right away instead
of a failed run a moment later. The engine still checks everything when the run starts.
"""
from __future__ import annotations

from automl_engine.automl import MIN_ROWS
from automl_engine.schema import MAX_CLASSES, USED_KINDS

MAX_NAME = 255  # Experiment.target is a CharField of this length
LABEL_KINDS = ("categorical", "text")


def target_problem(columns: list[dict], n_rows: int, target: str, task: str, keep=()) -> str | None:
    """A message saying why this target cannot be trained on, or None (``keep``: identifier-like columns
    the person chose to learn from)."""
    by_name = {c["name"]: c for c in columns}
    if len(target) > MAX_NAME:
        return (f"The target's column name is {len(target)} characters long; names up to {MAX_NAME} "
                "characters can be predicted. Shorten the column name in the file and upload it again.")
    col = by_name[target]
    return (_values_problem(col, n_rows) or _task_problem(col, task)
            or _features_problem(columns, target, keep))


def _values_problem(col: dict, n_rows: int) -> str | None:
    name, distinct = col["name"], col["distinct"]
    if distinct < 2:
        what = "no values" if distinct == 0 else "only one value"
        return (f"The target column '{name}' has {what}; there is nothing to predict. "
                "Pick a column whose values differ between rows.")
    with_value = n_rows - col["missing"]
    if with_value < MIN_ROWS:
        return (f"Only {with_value} rows have a value for '{name}'; at least {MIN_ROWS} are needed to "
                "train and check a model. Add more rows.")
    return None


def _task_problem(col: dict, task: str) -> str | None:
    name, distinct, kind = col["name"], col["distinct"], col["type"]
    if task == "binary" and distinct != 2:
        return (f"A binary task needs a target with exactly two values; '{name}' has {distinct}. "
                "Use multiclass or regression instead.")
    if task == "regression" and kind in LABEL_KINDS:
        return f"The target '{name}' holds text, so it cannot be predicted as a number. Use binary or multiclass."
    many = distinct > MAX_CLASSES and distinct != 2
    if many and (task == "multiclass" or (task == "auto" and kind in LABEL_KINDS)):
        return (f"The target column '{name}' has {distinct} different values; that is too many categories "
                f"to learn (at most {MAX_CLASSES}). Pick another target or group its values.")
    return None


def _features_problem(columns: list[dict], target: str, keep=()) -> str | None:
    others = [c for c in columns if c["name"] != target]
    if any(c["type"] in USED_KINDS or (c["type"] == "id" and c["name"] in keep) for c in others):
        return None
    dropped = ", ".join(f"{c['name']} ({c['reason'] or c['type']})" for c in others[:10])
    identifiers = [f"'{c['name']}'" for c in others if c["type"] == "id"][:10]
    hint = (f" If {' or '.join(identifiers)} means something (a time, an order, a measurement), keep it (tick it "
            "under Advanced settings, Columns to learn from; API: keep_columns); otherwise add" if identifiers else " Add")
    return ("No column can be used to predict from: " + (dropped or "the file has only the target")
            + "." + hint + " columns that describe each row.")
