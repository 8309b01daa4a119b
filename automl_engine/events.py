"""Progress events emitted by the engine.

Events are small, frozen and JSON-safe (``to_dict``). The engine passes each one to the
callback given to :class:`automl_engine.AutoML`; a callback that returns ``True`` asks the run
to stop after the current model (every model trained so far is kept).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Event:
    kind: str = field(init=False, default="event")
    ts: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class RunStarted(Event):
    kind: str = field(init=False, default="run_started")
    task: str
    task_reason: str
    sort_metric: str
    n_rows: int
    n_features: int
    planned_models: Optional[int]
    max_runtime_secs: Optional[float]
    dropped_columns: dict = field(default_factory=dict)
    dropped_rows: int = 0
    warnings: list = field(default_factory=list)
    validation: str = ""  # how models are scored: "5-fold CV", "holdout 20%", ...
    validation_reason: str = ""
    forecast: dict = field(default_factory=dict)  # the cost model's expectations: models, peak memory, ...
    library_versions: dict = field(default_factory=dict)  # what the models are trained with
    machine: dict = field(default_factory=dict)  # cores, memory and system of the machine that trains them


@dataclass(frozen=True)
class ModelStarted(Event):
    kind: str = field(init=False, default="model_started")
    model_id: str
    algo: str


@dataclass(frozen=True)
class ModelFinished(Event):
    kind: str = field(init=False, default="model_finished")
    model_id: str
    algo: str
    metrics: dict
    training_time_ms: int
    predict_time_per_row_ms: float
    params: dict = field(default_factory=dict)
    test_metrics: Optional[dict] = None


@dataclass(frozen=True)
class ModelFailed(Event):
    kind: str = field(init=False, default="model_failed")
    model_id: str
    algo: str
    error: str


@dataclass(frozen=True)
class RunFinished(Event):
    kind: str = field(init=False, default="run_finished")
    leader: Optional[str]
    n_models: int
    elapsed_s: float
    stopped_early: bool = False
    reason: str = ""


Callback = Callable[[Event], Optional[bool]]
