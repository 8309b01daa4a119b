"""The registry of model families, in the order H2O AutoML tries them."""
from .base import BuildContext, Family  # noqa: F401
from . import catboost_family, deeplearning, drf, gbm, glm, xgboost_family, xrt

FAMILIES: dict[str, Family] = {f.key: f for f in (
    glm.FAMILY, drf.FAMILY, gbm.FAMILY, xrt.FAMILY, deeplearning.FAMILY, catboost_family.FAMILY,
    xgboost_family.FAMILY)}
ENSEMBLE_ALGO = "StackedEnsemble"
ALGOS = tuple(FAMILIES) + (ENSEMBLE_ALGO,)
LABELS = {**{k: f.label for k, f in FAMILIES.items()}, ENSEMBLE_ALGO: "Stacked ensemble"}
