"""The small contract every model family follows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from sklearn.pipeline import Pipeline

from ..preprocessing import build_preprocessor
from ..schema import FeatureSpec

ALL_TASKS = ("regression", "binary", "multiclass")


@dataclass(frozen=True)
class BuildContext:
    """What a family needs to build one estimator."""
    task: str
    spec: FeatureSpec
    n_rows: int
    n_classes: int
    seed: int
    n_jobs: int = 2
    deadline: Optional[float] = None  # absolute time.time() by which a long fit must stop


@dataclass(frozen=True)
class Family:
    key: str
    style: str  # preprocessing style: "tree" or "linear"
    make_model: Callable[[BuildContext, dict], object]
    default_configs: tuple[dict, ...] = ({},)
    sample_config: Optional[Callable[[np.random.Generator], dict]] = None
    tasks: tuple[str, ...] = field(default=ALL_TASKS)
    # True: the final model averages the cross-validation fold models (no refit on all rows).
    bag_folds: bool = False
    # Given the fitted fold estimators and the config, the config for the refit on all rows.
    refit_config: Optional[Callable[[list, dict], dict]] = None

    def build(self, ctx: BuildContext, config: dict) -> Pipeline:
        return Pipeline([("prep", build_preprocessor(ctx.spec, self.style)),
                         ("model", self.make_model(ctx, config))])
