"""DeepLearning: a multi-layer perceptron (scikit-learn)."""
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from .base import BuildContext, Family


def make_model(ctx: BuildContext, config: dict):
    params = {"hidden_layer_sizes": (128, 64), "alpha": 1e-3, "learning_rate_init": 1e-3,
              "early_stopping": True, "max_iter": 300, "n_iter_no_change": 12, "random_state": ctx.seed}
    params.update(config)
    if ctx.task == "regression":
        return TransformedTargetRegressor(regressor=MLPRegressor(**params), transformer=StandardScaler())
    return MLPClassifier(**params)


FAMILY = Family(key="DeepLearning", style="linear", make_model=make_model)
