"""Every family, both ensembles and the second layer of stacking, written as ONNX, predict what the Python model predicts.

A generated table holds every kind of column the engine reads (numbers with gaps, yes/no, dates
with gaps, categories with rare and missing values, free text), for each task. The models are
trained with fixed sizes (max_models), converted, and run with onnxruntime alone on held-out rows
that also carry values never seen in training.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

onnxruntime = pytest.importorskip("onnxruntime")

from automl_engine import AutoML  # noqa: E402
from automl_engine.model import StackedModel  # noqa: E402
from automl_engine.onnx_export import NotConvertible, onnx_inputs, to_onnx  # noqa: E402

WORDS = ["great", "service", "slow", "delivery", "broken", "perfect", "price", "quality", "late", "refund",
         "the", "parcel", "arrived", "box", "staff", "friendly", "order", "again", "never", "cheap"]


def mixed_table(n: int, task: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.exponential(2.0, size=n)
    city = rng.choice(["north", "south", "east", "west", "centre"], size=n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    city = city.astype(object)
    city[rng.random(n) < 0.03] = "rare-" + str(seed)
    city[rng.random(n) < 0.05] = np.nan
    member = rng.choice(["yes", "no"], size=n).astype(object)
    member[rng.random(n) < 0.05] = np.nan
    when = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365 * 24, size=n), unit="h")
    when_text = when.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object)
    when_text[rng.random(n) < 0.05] = np.nan
    note = [" ".join(rng.choice(WORDS, size=rng.integers(4, 10))) for _ in range(n)]
    signal = x1 + 0.5 * np.log1p(x2) + (city == "north") * 1.0 + (member == "yes") * 0.7 \
        + when.month.to_numpy() / 12 + np.array(["broken" in t for t in note]) * 0.8
    x1 = x1.copy()
    x1[rng.random(n) < 0.08] = np.nan
    frame = pd.DataFrame({"x1": x1, "x2": x2, "city": city, "member": member, "when": when_text, "note": note})
    noisy = signal + rng.normal(scale=0.5, size=n)
    if task == "regression":
        frame["y"] = noisy * 10 + 50
    elif task == "binary":
        frame["y"] = np.where(noisy > np.median(noisy), "high", "low")
    else:
        frame["y"] = pd.cut(noisy, np.quantile(noisy, [0, 0.3, 0.6, 1.0]), labels=["a", "b", "c"],
                            include_lowest=True).astype(str)
    return frame


_CONVERTED = {}  # model object id -> its graph: each trained model is converted once for the module's tests


def converted(model):
    key = id(model)
    if key not in _CONVERTED:
        _CONVERTED[key] = (model, to_onnx(model))  # the model is kept so that its id is not reused
    return _CONVERTED[key][1]


def onnx_predict(model, frame: pd.DataFrame) -> dict:
    session = onnxruntime.InferenceSession(converted(model).SerializeToString())
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_inputs(model, frame))))


@pytest.fixture(scope="module", params=["regression", "binary", "multiclass"])
def trained(request):
    task = request.param
    train = mixed_table(1500, task, seed=1)
    aml = AutoML(max_models=9, nfolds=3, seed=3)  # the first nine defaults hold every family
    aml.fit(train, "y")
    test = mixed_table(400, task, seed=2).drop(columns="y")
    return task, aml, test


def test_every_family_and_ensemble_matches_python(trained):
    task, aml, test = trained
    algos = {m.algo for m in aml.models.values()}
    assert {"GLM", "DRF", "GBM", "XRT", "DeepLearning", "CatBoost", "XGBoost", "StackedEnsemble"} <= algos
    # the second layer too (a binary target has none)
    assert any(isinstance(m, StackedModel) for m in aml.models.values()) == (task != "binary")
    kinds = set(next(iter(aml.models.values())).feature_kinds.values())
    assert kinds == {"numeric", "boolean", "datetime", "categorical", "text"}
    for model_id, model in aml.models.items():
        expected = model.predict(test)
        got = onnx_predict(model, test)
        if task == "regression":
            np.testing.assert_allclose(got["predict"], expected["predict"].to_numpy(float), rtol=1e-5, atol=1e-8,
                                       err_msg=model_id)
            continue
        probabilities = expected[[str(c) for c in model.classes]].to_numpy(float)
        np.testing.assert_allclose(got["probabilities"], probabilities, rtol=1e-5, atol=1e-9, err_msg=model_id)
        # the same class on every row, except where two classes tie (then either is right)
        top_two = np.sort(probabilities, axis=1)[:, -2:]
        clear = top_two[:, 1] - top_two[:, 0] > 1e-9
        assert clear.mean() > 0.9
        labels = np.array([str(v) for v in expected["predict"]], dtype=object)
        assert list(got["predict"][clear]) == list(labels[clear]), model_id


def test_a_calibrated_ensemble_matches_python(trained):
    import copy

    task, aml, test = trained
    ensembles = [m for m in aml.models.values() if m.algo == "StackedEnsemble" and not isinstance(m, StackedModel)]
    assert ensembles
    if task == "regression":  # no calibration: numbers are not probabilities
        assert all(getattr(m.estimator, "prior_", None) is None for m in ensembles)
        return
    # The calibration steps are the same in every ensemble: the one with the fewest members shows them.
    model = copy.deepcopy(min(ensembles, key=lambda m: len(m.base_models)))
    model.estimator.temperature_, model.estimator.prior_share_ = 1.7, 0.02  # both steps in the graph
    expected = model.predict(test)[[str(c) for c in model.classes]].to_numpy(float)
    np.testing.assert_allclose(onnx_predict(model, test)["probabilities"], expected, rtol=1e-5, atol=1e-9)
    assert expected.min() >= 0.02 * model.estimator.prior_.min() * 0.999


def test_inputs_are_the_columns_by_name_with_their_types(trained):
    task, aml, _ = trained
    model = aml.leader
    proto = converted(model)
    inputs = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    assert set(inputs) == set(model.features)
    # 11 is double, 8 is string
    assert inputs["x1"] == 11 and inputs["when"] == 11 and inputs["city"] == 8 and inputs["note"] == 8
    outputs = [o.name for o in proto.graph.output]
    assert outputs == (["predict"] if task == "regression" else ["probabilities", "predict"])


def test_an_unknown_part_says_why():
    from automl_engine.model import TrainedModel

    model = TrainedModel(model_id="X_1", algo="X", task="regression", target="y", features=["a"],
                         feature_kinds={"a": "numeric"}, estimator=object())
    with pytest.raises(NotConvertible, match="not a pipeline"):
        to_onnx(model)


def _split_kinds(model) -> set:
    """The kinds of split in a CatBoost model's fold models (from CatBoost's JSON form)."""
    import json
    import tempfile
    from pathlib import Path

    kinds = set()
    with tempfile.TemporaryDirectory() as tmp:
        for pipe in getattr(model.estimator, "estimators", [model.estimator]):  # fold models, or a refit
            path = Path(tmp) / "model.json"
            pipe.named_steps["model"].model_.save_model(str(path), format="json")
            dump = json.loads(path.read_text())
            kinds |= {s["split_type"] for tree in dump["oblivious_trees"] for s in tree.get("splits") or []}
    return kinds


def test_catboost_splits_categories_one_against_the_rest_and_its_onnx_form_gives_the_same(trained):
    """The first CatBoost default is told the columns that are categories: its trees test one category
    against the rest (a hash of the category in CatBoost's own form), which the ONNX form turns into
    lookups over the category codes. Missing, rare and unseen categories land where they do in Python."""
    task, aml, test = trained
    model = aml.models["CatBoost_1"]
    assert model.params.get("native_categorical", True)
    assert "OneHotFeature" in _split_kinds(model)
    first = getattr(model.estimator, "estimators", [model.estimator])[0]  # a fold model, or the refit (numbers)
    assert first.named_steps["model"].model_.get_cat_feature_indices()
    rows = test.copy()
    rows.loc[rows.index[:40], "city"] = np.nan
    rows.loc[rows.index[40:80], "city"] = "a city never seen"
    expected = model.predict(rows)
    got = onnx_predict(model, rows)
    if task == "regression":
        np.testing.assert_allclose(got["predict"], expected["predict"].to_numpy(float), rtol=1e-5, atol=1e-8)
    else:
        probabilities = expected[[str(c) for c in model.classes]].to_numpy(float)
        np.testing.assert_allclose(got["probabilities"], probabilities, rtol=1e-5, atol=1e-9)


def test_catboost_on_category_codes_keeps_threshold_splits():
    from automl_engine.families import FAMILIES, BuildContext
    from automl_engine.families.catboost_family import DEFAULTS
    from automl_engine.schema import feature_spec

    frame = mixed_table(600, "binary", seed=4)
    spec = feature_spec(frame, "y")
    y = (frame["y"] == "high").to_numpy(int)
    ctx = BuildContext(task="binary", spec=spec, n_rows=len(frame), n_classes=2, seed=0, n_jobs=1)
    assert DEFAULTS[1]["native_categorical"] is False
    codes = FAMILIES["CatBoost"].build(ctx, dict(DEFAULTS[1])).fit(frame[spec.columns], y)
    told = FAMILIES["CatBoost"].build(ctx, dict(DEFAULTS[0])).fit(frame[spec.columns], y)
    assert codes.named_steps["model"].model_.get_cat_feature_indices() == []
    assert len(told.named_steps["model"].model_.get_cat_feature_indices()) == len(spec.categorical) == 1


def test_xgboost_on_a_log_link_for_counts_matches_python(monkeypatch):
    """A model of numbers takes the best LightGBM model's loss: on counts, XGBoost's Poisson and Tweedie
    losses predict exp of the trees' sum, which the ONNX form writes out."""
    import dataclasses
    import json

    from automl_engine.families import FAMILIES

    family = FAMILIES["XGBoost"]
    configs = tuple({**family.default_configs[0], "objective": name} for name in ("poisson", "tweedie"))
    monkeypatch.setitem(FAMILIES, "XGBoost", dataclasses.replace(family, default_configs=configs))
    train = mixed_table(600, "regression", seed=5)
    train["y"] = np.random.default_rng(5).poisson(np.exp((train["y"] - 50) / 10))  # counts around a log-linear mean
    aml = AutoML(max_models=2, nfolds=3, seed=1, include_algos=["XGBoost"]).fit(train, "y")
    test = mixed_table(200, "regression", seed=6).drop(columns="y")
    for model_id, name in (("XGBoost_1", "count:poisson"), ("XGBoost_2", "reg:tweedie")):
        model = aml.models[model_id]
        learner = json.loads(model.estimator.named_steps["model"].booster_.save_config())["learner"]
        assert learner["objective"]["name"] == name
        expected = model.predict(test)["predict"].to_numpy(float)
        assert expected.min() > 0  # a log link: never below zero
        np.testing.assert_allclose(onnx_predict(model, test)["predict"], expected, rtol=1e-5, err_msg=model_id)
