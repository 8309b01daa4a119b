"""GLM: regularized linear regression and logistic regression."""
from sklearn.linear_model import LogisticRegression, RidgeCV

from .base import BuildContext, Family


def make_model(ctx: BuildContext, config: dict):
    if ctx.task == "regression":
        return RidgeCV(alphas=(0.01, 0.1, 1.0, 10.0, 100.0, 1000.0))
    return LogisticRegression(C=config.get("C", 1.0), max_iter=2000, random_state=ctx.seed)


FAMILY = Family(key="GLM", style="linear", make_model=make_model)
