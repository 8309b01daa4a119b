"""How a run spends its time: the budget, what each candidate model is expected to cost, and how
models are validated.

The cost model predicts a model's fit time and memory from the table's shape (rows, columns after
preprocessing, classes) and the family, with one coefficient per family measured on a 2-core
machine. Each run then corrects it from its own fits: the ratio of actual to expected time for a
family (and, for a family not tried yet, the typical ratio of the families that were) scales
every later estimate, so a slow machine or a hard table is learnt within the first models.

The same estimates choose the validation (k-fold, a holdout, or a holdout with training on a
sample of rows) and give the pre-flight estimate that the app shows before a run starts.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

import numpy as np

# -- the budget ------------------------------------------------------------------------------------
FIRST_MODEL_SHARE = 0.10  # the first model is on the leaderboard within this share of the budget
# ... so its fits end by this share, leaving time to score it and report it: on the suite's largest
# tables, scoring the 60,000 validation rows after the fit takes about a second (Birthdays: 0.9 s).
FIRST_FIT_SHARE = 0.07
# Scoring the first model, per validation row and predicted column (a class of three or more, else one),
# its preprocessing included: a boosting model of about 70 rounds scored 160,000 rows of 5 classes in
# 1.5 s. On a large holdout with many classes that is more than the window leaves after FIRST_FIT_SHARE,
# so the fits end sooner.
SCORE_SECS_PER_OUTPUT = 2.0e-6
SCORE_SAFETY = 1.3  # the scoring estimate is a rough one: the fits end that much earlier
ENSEMBLE_RESERVE = 0.05  # kept for the stacked ensembles and the last model's wrap-up
MIN_RESERVE_SECS = 2.0
MODEL_SHARE = 0.35  # of the time left, the most one model may take: one slow model cannot eat the run
MIN_MODEL_SECS = 5.0
START_FACTOR = 0.7  # a model starts when this share of its expected time fits in what is left (it can be cut)


@dataclass
class Budget:
    """The run's clock. Without ``max_runtime_secs`` there are no deadlines (a number of models bounds it)."""
    max_runtime_secs: Optional[float]
    started: float = field(default_factory=time.time)
    stack_secs: float = 0.0  # kept for the second layer of stacking while the first layer trains

    def deadline(self, reserve: bool = True) -> Optional[float]:
        if self.max_runtime_secs is None:
            return None
        kept = max(MIN_RESERVE_SECS, ENSEMBLE_RESERVE * self.max_runtime_secs) + self.stack_secs if reserve else 0.0
        return self.started + self.max_runtime_secs - kept

    def left(self, reserve: bool = True) -> Optional[float]:
        end = self.deadline(reserve)
        return None if end is None else end - time.time()

    def out_of_time(self, reserve: bool = True) -> bool:
        left = self.left(reserve)
        return left is not None and left <= 0

    def model_deadline(self, started: float, first: bool = False, scoring_secs: float = 0.0) -> Optional[float]:
        """When one model must wrap up: a share of what is left; the first model, within its window,
        early enough to be scored (``scoring_secs``, expected) before the window closes."""
        end = self.deadline(reserve=True)
        if end is None:
            return None
        limit = started + max(MIN_MODEL_SECS, MODEL_SHARE * (end - started))
        if first:
            fits_end = min(FIRST_FIT_SHARE * self.max_runtime_secs,
                           FIRST_MODEL_SHARE * self.max_runtime_secs - SCORE_SAFETY * scoring_secs)
            limit = min(limit, max(started + 1.0, self.started + fits_end))
        return min(limit, end)


# -- the cost model --------------------------------------------------------------------------------
# Each family's own costs are in its registry entry (families/*.py, ``Family.cost``); what follows is
# shared by all of them.
PREP_SECS_PER_CELL = 3.0e-7  # preprocessing every row of a fit (training and validation rows), per raw column
PROCESS_MB = 350  # the engine's libraries loaded, before any data
BEYOND_CAP_COST = 0.1  # forests: rows beyond a tree's sample still cost this much each (sampling, predicting)
THREAD_SPEEDUP = 0.7  # a fit on k threads takes 1 / k**THREAD_SPEEDUP of its one-thread time


@dataclass(frozen=True)
class TableShape:
    """What the cost of a model depends on."""
    n_rows: int
    n_features: int  # raw feature columns
    tree_width: int  # columns after the tree preprocessing
    linear_width: int  # columns after the linear preprocessing (one-hot, indicators, words)
    n_classes: int  # 0 for regression
    frame_mb: float = 0.0

    @classmethod
    def of(cls, X, spec, n_classes: int) -> "TableShape":
        from .preprocessing import DATETIME_PARTS

        levels = [min(int(X[c].nunique()), 61) for c in spec.categorical]
        tree = (len(spec.numeric) + len(spec.boolean) + len(DATETIME_PARTS) * len(spec.datetime)
                + len(spec.categorical) + 40 * len(spec.text))
        linear = (2 * len(spec.numeric) + 2 * len(spec.boolean) + 2 * len(DATETIME_PARTS) * len(spec.datetime)
                  + sum(levels) + 200 * len(spec.text))
        frame_mb = float(X.memory_usage(deep=False).sum()) / 2**20 + 60 * len(X) * len(spec.categorical) / 2**20
        return cls(n_rows=len(X), n_features=len(spec.columns), tree_width=max(tree, 1),
                   linear_width=max(linear, 1), n_classes=n_classes, frame_mb=frame_mb)

    def width(self, style: str) -> int:
        return self.linear_width if style == "linear" else self.tree_width


HOLDOUT_SHARE = 0.2  # of the rows, held out to score models (see holdout_share for the cap on large tables)


@dataclass(frozen=True)
class Validation:
    """How models are scored: k-fold cross-validation, one holdout, or a holdout with training on a sample."""
    kind: str  # "kfold", "holdout" or "sample"
    nfolds: int = 5
    holdout_share: float = HOLDOUT_SHARE
    sample_rows: Optional[int] = None
    reason: str = ""

    @property
    def n_fits(self) -> int:
        return self.nfolds if self.kind == "kfold" else 1

    def train_rows(self, n_rows: int) -> int:
        if self.kind == "kfold":
            return int(n_rows * (self.nfolds - 1) / self.nfolds)
        rows = int(n_rows * (1 - self.holdout_share))
        return min(rows, self.sample_rows) if self.sample_rows else rows

    def valid_rows(self, n_rows: int) -> int:
        return n_rows - int(n_rows * (self.nfolds - 1) / self.nfolds) if self.kind == "kfold" \
            else n_rows - int(n_rows * (1 - self.holdout_share))

    def describe(self) -> str:
        if self.kind == "kfold":
            return f"{self.nfolds}-fold CV"
        holdout = f"holdout {round(100 * self.holdout_share)}%"
        return f"{holdout}, trained on a sample of {self.sample_rows:,} rows" if self.kind == "sample" else holdout

    @classmethod
    def from_dict(cls, data: dict) -> "Validation":
        """The validation a run stated (``to_dict``): a continued run scores its new models the same way."""
        kind = data.get("kind")
        if kind not in ("kfold", "holdout", "sample"):
            raise ValueError(f"unknown validation {kind!r}")
        return cls(kind, nfolds=int(data.get("nfolds") or 5), holdout_share=float(data.get("holdout_share") or HOLDOUT_SHARE),
                   sample_rows=data.get("sample_rows"), reason=data.get("reason") or "")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "nfolds": self.nfolds if self.kind == "kfold" else 1,
                "holdout_share": None if self.kind == "kfold" else self.holdout_share,
                "sample_rows": self.sample_rows, "description": self.describe(), "reason": self.reason}


class CostModel:
    """Expected seconds and memory of a model on one table, corrected by the run's own fits.

    ``families`` maps a family's key to its registry entry (its ``style`` and ``cost``).
    """

    def __init__(self, shape: TableShape, families: dict, n_jobs: int = 2):
        self.shape = shape
        self.families = families
        self.n_jobs = max(1, n_jobs)
        self._ratios: dict[str, float] = {}

    def _cells(self, family: str, rows: float) -> float:
        entry = self.families[family]
        cost = entry.cost
        factor = float(self.shape.n_classes) if cost.per_class and self.shape.n_classes > 2 else 1.0
        if self.shape.n_classes == 0:
            factor *= cost.regression_factor
        if cost.rows_per_tree and rows > cost.rows_per_tree:
            rows = cost.rows_per_tree + BEYOND_CAP_COST * (rows - cost.rows_per_tree)
        return rows * self.shape.width(entry.style) * factor

    def fit_secs(self, family: str, rows: int, threads: int = 1, seen_rows: Optional[int] = None) -> float:
        """One fit on ``rows`` rows, before any correction; ``seen_rows``, the rows it preprocesses
        (its training and validation rows; all rows unless it trains on a sample)."""
        cost = self.families[family].cost
        prep = PREP_SECS_PER_CELL * (seen_rows or self.shape.n_rows) * self.shape.n_features
        return prep + (cost.fixed_secs + cost.secs_per_cell * self._cells(family, rows)) / max(1, threads) ** THREAD_SPEEDUP

    def model_secs(self, family: str, validation: Validation, refit: bool = False) -> float:
        """A whole model: its fits in waves of ``n_jobs`` parallel folds, and a refit on all rows when it has one."""
        fits = validation.n_fits
        parallel = min(self.n_jobs, fits)
        rows = validation.train_rows(self.shape.n_rows)
        waves = math.ceil(fits / parallel)
        seen = rows + validation.valid_rows(self.shape.n_rows)
        secs = waves * self.fit_secs(family, rows, threads=max(1, self.n_jobs // parallel), seen_rows=seen)
        if refit and validation.kind == "kfold":
            secs += self.fit_secs(family, self.shape.n_rows, threads=self.n_jobs)
        return secs * self.correction(family)

    def scoring_secs(self, validation: Validation) -> float:
        """Scoring one model's validation rows (the folds' rows, scored ``n_jobs`` at a time)."""
        rows = validation.valid_rows(self.shape.n_rows) * validation.n_fits / min(self.n_jobs, validation.n_fits)
        outputs = self.shape.n_classes if self.shape.n_classes > 2 else 1
        return rows * outputs * SCORE_SECS_PER_OUTPUT

    def correction(self, family: str) -> float:
        if family in self._ratios:
            return self._ratios[family]
        return float(np.median(list(self._ratios.values()))) if self._ratios else 1.0

    def observe(self, family: str, expected_uncorrected: float, actual: float) -> None:
        """Learn from a model that ran to its end (a model cut by its deadline says only 'at least')."""
        if expected_uncorrected > 0 and actual > 0:
            self._ratios[family] = float(np.clip(actual / expected_uncorrected, 0.05, 50.0))

    def peak_mb(self, family: str, validation: Validation) -> float:
        parallel = min(self.n_jobs, validation.n_fits)
        entry = self.families[family]
        rows = min(validation.train_rows(self.shape.n_rows), entry.cost.max_rows or self.shape.n_rows)
        working = parallel * rows * self.shape.width(entry.style) * entry.cost.bytes_per_cell / 2**20
        return PROCESS_MB + 2 * self.shape.frame_mb + working


def config_factor(family: str, config: dict) -> float:
    """How much a configuration costs relative to the family's first default.

    Boosting needs about inversely as many trees as its learning rate, and a tree costs more with
    more leaves (roughly with the square root, as deeper levels hold fewer rows). XGBoost grows its
    trees level by level, each level one pass over the rows' histograms: a tree costs about its depth.
    """
    if family not in ("GBM", "XGBoost") or "learning_rate" not in config:
        return 1.0
    if family == "XGBoost":
        return 0.05 / float(config["learning_rate"]) * float(config.get("max_depth", 6)) / 6
    return 0.05 / float(config["learning_rate"]) * (float(config.get("num_leaves", 31)) / 31) ** 0.5


# -- the validation --------------------------------------------------------------------------------
AFFORDABLE_SHARE = 0.25  # a validation is affordable when the yardstick model takes at most this share
MIN_SAMPLE_ROWS = 5_000
MAX_HOLDOUT_ROWS = 200_000
HOLDOUT_ROWS = 500_000  # without a time budget: above this many rows, a holdout replaces k-fold
YARDSTICK = "GBM"  # the model every run starts with: its cost decides what the budget affords


def holdout_share(n_rows: int) -> float:
    """A fifth of the rows, but no more than MAX_HOLDOUT_ROWS: a holdout that large measures every
    model to within a fraction of a percent, and more rows in it only slow down every model's scoring
    and take rows away from training."""
    return min(HOLDOUT_SHARE, MAX_HOLDOUT_ROWS / max(n_rows, 1))


def choose_validation(cost: CostModel, nfolds: int, max_runtime_secs: Optional[float]) -> Validation:
    """k-fold when the budget affords it for the first boosting model; else a holdout; else a sample.

    k-fold scores every row and averages k models, so it is preferred; it costs k fits per model.
    When the yardstick model's k-fold would take more than AFFORDABLE_SHARE of the budget, too few
    models would fit, and a holdout (one fit per model) gives more of them; when even a holdout is
    too costly, models train on a sample of rows sized to fit.
    """
    n = cost.shape.n_rows
    share = holdout_share(n)
    kfold = Validation("kfold", nfolds=max(2, nfolds))
    if nfolds < 2:
        return Validation("holdout", holdout_share=share, reason="you chose no cross-validation (nfolds 0 or 1)")
    if max_runtime_secs is None:
        if n <= HOLDOUT_ROWS:
            return Validation("kfold", nfolds=nfolds, reason="a number of models bounds the run")
        return Validation("holdout", holdout_share=share, reason=f"more than {HOLDOUT_ROWS:,} rows")
    affordable = AFFORDABLE_SHARE * max_runtime_secs
    expected = cost.model_secs(YARDSTICK, kfold)
    if expected <= affordable:
        return Validation("kfold", nfolds=nfolds,
                          reason=f"a boosting model is expected to take {expected:.0f} s with {nfolds}-fold CV")
    holdout = Validation("holdout", holdout_share=share)
    expected_holdout = cost.model_secs(YARDSTICK, holdout)
    if expected_holdout <= affordable:
        return Validation("holdout", holdout_share=share,
                          reason=f"{nfolds}-fold CV would take about {expected:.0f} s per model; "
                                 f"a holdout about {expected_holdout:.0f} s")
    rows = max(MIN_SAMPLE_ROWS, int(round(_affordable_rows(cost, holdout, affordable), -3)))
    if rows >= holdout.train_rows(n):
        return Validation("holdout", holdout_share=share, reason="a holdout is the cheapest validation")
    return Validation("sample", holdout_share=share, sample_rows=rows,
                      reason=f"training on all rows would take about {expected_holdout:.0f} s per model")


def _affordable_rows(cost: CostModel, holdout: Validation, affordable: float) -> int:
    """The most training rows for which the yardstick model is expected within ``affordable`` seconds
    (bisected: the time grows with the rows, but not in proportion, as scoring the holdout is fixed)."""
    low, high = MIN_SAMPLE_ROWS, holdout.train_rows(cost.shape.n_rows)
    while high - low > 1_000:
        middle = (low + high) // 2
        sample = dataclasses.replace(holdout, kind="sample", sample_rows=middle)
        low, high = (middle, high) if cost.model_secs(YARDSTICK, sample) <= affordable else (low, middle)
    return low


def make_splits(validation: Validation, task: str, y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row indices (train, valid) for each fit. Classes rarer than the folds fall back to plain k-fold."""
    from sklearn.model_selection import KFold, StratifiedKFold

    from .sampling import pick

    n = len(y)
    classification = task != "regression"
    min_class = int(np.bincount(y.astype(int)).min()) if classification else n
    if validation.kind == "kfold":
        if classification and min_class >= validation.nfolds:
            splitter = StratifiedKFold(n_splits=validation.nfolds, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits=validation.nfolds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(n), y))
    rng = np.random.default_rng(seed)
    stratified = classification and min_class >= 2
    valid, train = pick(np.arange(n), y if stratified else None, validation.holdout_share, rng)
    if validation.sample_rows and len(train) > validation.sample_rows:
        train, _ = pick(train, y[train] if stratified else None, validation.sample_rows / len(train), rng)
    return [(np.sort(train), np.sort(valid))]


# -- the order of models and the pre-flight forecast -----------------------------------------------
def schedule(defaults: Iterable[tuple[str, int]], too_slow: Callable[[str], bool],
             too_long: Callable[[str], bool]) -> Iterator[tuple[str, int]]:
    """The default models in order; one expected to take too long for its share waits behind the others
    (once), and one that would not finish in the time left is dropped. Both tests are asked at the
    moment a model is due, so they see the time left then."""
    queue, waited = list(defaults), set()
    while queue:
        item = queue.pop(0)
        if too_slow(item[0]):
            continue
        if item not in waited and queue and too_long(item[0]):
            waited.add(item)
            queue.append(item)
            continue
        yield item


MAX_FORECAST_MODELS = 200


def forecast(defaults: list[tuple[str, int]], search: list[str], expected: Callable[[str], float],
             budget_secs: Optional[float], max_models: Optional[int], elapsed: float = 0.0) -> list[tuple[str, float]]:
    """The models a run is expected to train, with the seconds each is expected to take: the plan
    played out on the cost model's estimates instead of real fits."""
    budget = Budget(budget_secs, started=0.0)
    left = [float("inf") if budget_secs is None else budget.deadline() - elapsed]
    limit = min(max_models or MAX_FORECAST_MODELS, MAX_FORECAST_MODELS)

    def too_slow(key):
        return START_FACTOR * expected(key) > left[0]

    def too_long(key):
        return expected(key) > MODEL_SHARE * left[0]

    def take(key):
        secs = min(expected(key), max(MIN_MODEL_SECS, MODEL_SHARE * left[0]))
        left[0] -= secs
        out.append((key, secs))

    out: list[tuple[str, float]] = []
    for key, _ in schedule(defaults, too_slow, too_long):
        if len(out) >= limit:
            return out
        take(key)
    turn = 0
    while search and len(out) < limit and not all(too_slow(k) for k in search):
        key = search[turn % len(search)]
        turn += 1
        if not too_slow(key):
            take(key)
    return out


def budget_words(secs: float) -> str:
    return f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.0f} minutes"
