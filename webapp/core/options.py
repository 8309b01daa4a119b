"""An experiment's settings, defined and validated in one place.

The new-experiment page, the API (create and estimate), "run again exactly" and the worker all go
through ``ExperimentOptions``: the page's form turns its fields (budget presets, percent test split,
algorithm checkboxes) into the same dict the API takes as JSON, ``ExperimentOptions.parse`` checks
it, the experiment stores ``stored()`` whole, and the worker unpacks it once with ``engine_kwargs()``.
The page and the API cannot disagree about what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

from django.conf import settings

from automl_engine.families import ENSEMBLE_ALGO
from automl_engine.metrics import COLUMNS

ALGOS = ("GLM", "DRF", "GBM", "XRT", "DeepLearning", "CatBoost", "XGBoost", ENSEMBLE_ALGO)
SORT_METRICS = sorted({m for cols in COLUMNS.values() for m in cols})
MAX_MODELS = 500
MAX_TEST_SPLIT = 0.5
TASKS = ("auto", "regression", "binary", "multiclass")


def limits() -> dict[str, tuple[int, int]]:
    """The range of each whole-number setting: what ``parse`` accepts and what the API schema states."""
    return {"max_models": (1, MAX_MODELS), "max_runtime_secs": (5, settings.MAX_RUNTIME_SECS_LIMIT),
            "nfolds": (0, 10), "seed": (0, 2**31 - 1)}


# What each setting means, for the API's description (the OpenAPI schema is built from these).
DESCRIPTIONS = {
    "max_models": "How many models to train (stacked ensembles not counted). With a seed, the run repeats exactly.",
    "max_runtime_secs": "Time budget for the whole run, in seconds (default 60 when max_models is not given either).",
    "nfolds": "Cross-validation folds; 0 scores on one holdout instead.",
    "seed": "Random seed for the folds and the search.",
    "sort_metric": "How to rank the models; default RMSE, AUC or log loss by task.",
    "include_algos": "Only these algorithm families.",
    "exclude_algos": "Leave these algorithm families out (at least one besides StackedEnsemble must remain).",
    "test_split": f"Share of rows kept aside for a final test score, 0 to {MAX_TEST_SPLIT}.",
    "ignore_columns": "Columns not to learn from (for example one that is only known after the fact).",
    "keep_columns": "Columns to learn from although they look like identifiers (a different value in every row), "
                    "which are otherwise set aside: for example a row number that follows the order of time.",
}
COLUMN_CHOICES = ("ignore_columns", "keep_columns")
MAX_NAME = 1000  # characters of a column name


class OptionError(ValueError):
    """A setting that is not allowed; the message names it and says what is."""


def _whole(raw: dict, key: str, low: int, high: int) -> Optional[int]:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or int(value) != value):
        raise OptionError(f"'{key}' must be a whole number.")
    if not low <= value <= high:
        raise OptionError(f"'{key}' must be between {low} and {high}.")
    return int(value)


def _algos(raw: dict, key: str) -> Optional[list[str]]:
    value = raw.get(key)
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OptionError(f"'{key}' must be a list of algorithm names.")
    known = {a.lower(): a for a in ALGOS}
    unknown = [v[:50] for v in value if v.lower() not in known]
    if unknown:
        raise OptionError(f"Unknown algorithm(s) in '{key}': {', '.join(unknown)}. Known: {', '.join(ALGOS)}.")
    return list(dict.fromkeys(known[v.lower()] for v in value))


def _columns(raw: dict, key: str) -> Optional[list[str]]:
    """Column names as sent: a list of names (whether they are the dataset's is checked against it)."""
    value = raw.get(key)
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in value):
        raise OptionError(f"'{key}' must be a list of column names.")
    return list(dict.fromkeys(value))


def budget(raw: dict) -> tuple[Optional[int], Optional[int]]:
    """(max_models, max_runtime_secs) as sent, checked: a new experiment's budget or a continuation's."""
    bounds = limits()
    return (_whole(raw, "max_models", *bounds["max_models"]),
            _whole(raw, "max_runtime_secs", *bounds["max_runtime_secs"]))


@dataclass(frozen=True)
class ExperimentOptions:
    max_models: Optional[int] = None  # a number of models (stacked ensembles not counted), or
    max_runtime_secs: Optional[int] = None  # a time budget for the whole run; either or both
    nfolds: int = 5  # 0: a single holdout
    seed: int = 1
    sort_metric: Optional[str] = None  # None: the usual one for the task
    include_algos: Optional[list] = None
    exclude_algos: Optional[list] = None
    test_split: float = 0.0  # share of rows kept aside for a final test
    ignore_columns: Optional[list] = None  # columns not to learn from
    keep_columns: Optional[list] = None  # columns to learn from although they look like identifiers

    @classmethod
    def parse(cls, raw: dict) -> "ExperimentOptions":
        """Check settings sent by a person (the API's JSON, or the form's fields turned into it)."""
        max_models, max_runtime_secs = budget(raw)
        if max_models is None and max_runtime_secs is None:
            max_runtime_secs = settings.DEFAULT_MAX_RUNTIME_SECS
        bounds = limits()
        nfolds = _whole(raw, "nfolds", *bounds["nfolds"])
        if nfolds == 1:
            raise OptionError("'nfolds' must be 0 (a single holdout) or at least 2.")
        sort_metric = raw.get("sort_metric") or None
        if sort_metric is not None and (not isinstance(sort_metric, str) or sort_metric not in SORT_METRICS):
            raise OptionError(f"Unknown sort metric {str(sort_metric)[:50]!r}. Use one of: {', '.join(SORT_METRICS)}.")
        test_split = raw.get("test_split") or 0
        if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) \
                or not 0 <= test_split <= MAX_TEST_SPLIT:
            raise OptionError(f"'test_split' must be the share of rows kept aside for a final test, from 0 to "
                              f"{MAX_TEST_SPLIT} (0.2 keeps 20%).")
        include, exclude = _algos(raw, "include_algos"), _algos(raw, "exclude_algos")
        ignore, keep = _columns(raw, "ignore_columns"), _columns(raw, "keep_columns")
        if ignore and keep and set(ignore) & set(keep):
            raise OptionError(f"{', '.join(repr(c[:100]) for c in ignore if c in keep)} cannot be both left out "
                              "('ignore_columns') and kept ('keep_columns'). Choose one.")
        chosen = [a for a in (include or ALGOS) if a not in (exclude or [])]
        if not [a for a in chosen if a != ENSEMBLE_ALGO]:
            raise OptionError("Keep at least one algorithm besides stacked ensembles.")
        return cls(max_models=max_models, max_runtime_secs=max_runtime_secs,
                   nfolds=5 if nfolds is None else nfolds, seed=_whole(raw, "seed", *bounds["seed"]) or 1,
                   sort_metric=sort_metric, include_algos=include, exclude_algos=exclude,
                   test_split=float(test_split), ignore_columns=ignore, keep_columns=keep)

    @classmethod
    def from_stored(cls, stored: dict) -> "ExperimentOptions":
        """The options of a saved experiment (older rows may lack some keys: their defaults apply)."""
        known = {k: stored[k] for k in cls.__dataclass_fields__ if k in stored and stored[k] is not None}
        return cls(**known)

    def stored(self) -> dict:
        return asdict(self)

    def engine_kwargs(self) -> dict:
        """The engine's settings (the time budget is the worker's to split with the explanations)."""
        return {"max_models": self.max_models, "nfolds": self.nfolds, "seed": self.seed,
                "sort_metric": self.sort_metric, "include_algos": self.include_algos,
                "exclude_algos": self.exclude_algos, "ignore_columns": self.ignore_columns or (),
                "keep_columns": self.keep_columns or ()}

    def column_problem(self, columns: list[str], target: str) -> Optional[str]:
        """What is wrong with the chosen columns on a dataset with these columns, in words, or None."""
        for key in COLUMN_CHOICES:
            chosen = getattr(self, key) or []
            unknown = [c for c in chosen if c not in columns]
            if unknown:
                return (f"'{key}' names {', '.join(repr(c[:100]) for c in unknown[:10])}, not "
                        f"{'a column' if len(unknown) == 1 else 'columns'} of this dataset. "
                        f"Columns: {', '.join(columns[:30])}.")
            if target in chosen:
                return f"'{target}' is the column to predict; it cannot also be in '{key}'."
        return None
