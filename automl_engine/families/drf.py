"""DRF: random forest (and the shared builder that XRT uses)."""
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier,
                              RandomForestRegressor)

from .base import BuildContext, Family

FORESTS = {
    "DRF": (RandomForestRegressor, RandomForestClassifier),
    "XRT": (ExtraTreesRegressor, ExtraTreesClassifier),
}


def forest(kind: str, ctx: BuildContext, config: dict):
    regressor, classifier = FORESTS[kind]
    cls = regressor if ctx.task == "regression" else classifier
    params = {"n_estimators": 100, "min_samples_leaf": 1,
              "max_features": 0.5 if ctx.task == "regression" else "sqrt"}
    params.update(config)
    return cls(n_jobs=ctx.n_jobs, random_state=ctx.seed, **params)


def make_model(ctx: BuildContext, config: dict):
    return forest("DRF", ctx, config)


FAMILY = Family(key="DRF", style="tree", make_model=make_model)
