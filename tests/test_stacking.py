"""The second layer of stacking: models on the columns plus the first layer's out-of-fold predictions."""
from __future__ import annotations

import types

import numpy as np
import pytest

from automl_engine import AutoML, load_model
from automl_engine.ensemble import GreedyEnsemble
from automl_engine.model import EnsembleModel, StackedModel, level_one_features
from automl_engine.stacking import STACK_COLUMNS, choose_inputs, column_names, families_that_fit
from automl_engine.validation import covered

from .helpers import synthetic


def _model(model_id: str, algo: str):
    return types.SimpleNamespace(model_id=model_id, algo=algo)


def test_inputs_are_the_best_of_each_family_first_then_the_next_best():
    ranked = [_model("GBM_3", "GBM"), _model("GBM_1", "GBM"), _model("XRT_1", "XRT"), _model("GBM_2", "GBM"),
              _model("GLM_1", "GLM"), _model("DRF_1", "DRF")]
    chosen = [m.model_id for m in choose_inputs(ranked, n_classes=0)]
    assert chosen == ["GBM_3", "XRT_1", "GLM_1", "DRF_1", "GBM_1"]
    # fifty classes give fifty columns a model: the columns' cap leaves one model
    assert [m.model_id for m in choose_inputs(ranked, n_classes=50)] == ["GBM_3"]
    assert len(choose_inputs(ranked, n_classes=20)) == STACK_COLUMNS // 20 == 3


def test_prediction_columns_never_take_a_feature_column_s_name():
    names = column_names(3, ["stacked_prediction_1", "age"])
    assert len(names) == 3 and not set(names) & {"stacked_prediction_1", "age"}
    assert column_names(2, ["age"]) == ["stacked_prediction_1", "stacked_prediction_2"]


def test_the_layer_gets_the_families_that_fit_in_its_share_of_the_budget():
    secs = {"GBM": 1.0, "XRT": 2.0, "DRF": 4.0}.__getitem__
    assert families_that_fit(["GBM", "XRT", "DRF", "GLM"], secs, None) == ["GBM", "XRT", "DRF"]
    # 60 s: 9 s for the layer; with the margin GBM and XRT fit (3.9 s), DRF would not (9.1 s)
    assert families_that_fit(["GBM", "XRT", "DRF"], secs, 60) == ["GBM", "XRT"]
    assert families_that_fit(["XRT", "DRF"], secs, 60) == ["XRT", "DRF"]  # without GBM, DRF fits (7.8 s)
    assert families_that_fit(["GBM", "XRT", "DRF"], {"GBM": 100.0, "XRT": 1, "DRF": 1}.__getitem__, 60) == []


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_second_layer_models_learn_from_the_columns_and_the_first_layer(task, tmp_path):
    frame = synthetic(task, n=400, seed=1)
    aml = AutoML(max_models=4, nfolds=3, seed=1).fit(frame.iloc[:300], "y", test_frame=frame.iloc[300:])
    stacked = [m for m in aml.models.values() if isinstance(m, StackedModel)]
    assert {m.model_id for m in stacked} == {"StackedEnsemble_GBM_1", "StackedEnsemble_XRT_1",
                                             "StackedEnsemble_DRF_1"}
    first_layer = [m.model_id for m in aml.models.values() if m.algo != "StackedEnsemble"]
    for model in stacked:
        assert model.algo == "StackedEnsemble" and model.features == aml.spec_.columns
        assert model.params["base_models"] and set(model.params["base_models"]) <= set(first_layer)
        width = level_one_features(aml.task_, [aml._oof[m] for m in model.params["base_models"]]).shape[1]
        assert len(model.stack_columns) == width
        assert covered(aml.out_of_fold(model.model_id)).all()  # every row scored out of fold
        # the leaderboard's test metric is that of predicting the test rows afresh
        fresh = model.predict_raw(frame.iloc[300:])
        np.testing.assert_allclose(fresh, aml._test_raw[model.model_id])
        path = aml.save_model(tmp_path / f"{model.model_id}.automl", model.model_id)
        again = load_model(path).predict_raw(frame.iloc[300:].drop(columns="y"))
        # a forest sums its trees in threads: the last digits may differ from one call to the next
        np.testing.assert_allclose(again, model.predict_raw(frame.iloc[300:].drop(columns="y")), rtol=1e-9)
    # the final weighted ensemble may take them in; its members are on the leaderboard
    members = aml.models["StackedEnsemble_AllModels_1"].params["base_models"]
    assert set(members) <= set(aml.models)


def test_a_holdout_has_no_second_layer():
    frame = synthetic("regression", n=400, seed=2)
    aml = AutoML(max_models=3, seed=1, validation={"kind": "holdout", "holdout_share": 0.2}).fit(frame, "y")
    assert not [m for m in aml.models.values() if isinstance(m, StackedModel)]
    assert "StackedEnsemble_AllModels_1" in aml.models


def test_without_ensembles_there_is_no_second_layer():
    frame = synthetic("regression", n=300, seed=3)
    aml = AutoML(max_models=3, nfolds=3, seed=1, exclude_algos=["StackedEnsemble"]).fit(frame, "y")
    assert all(m.algo != "StackedEnsemble" for m in aml.models.values())


def test_a_binary_target_has_no_second_layer_and_its_ensembles_are_chosen_by_auc():
    frame = synthetic("binary", n=300, seed=3)
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(frame, "y")
    assert not [m for m in aml.models.values() if isinstance(m, StackedModel)]
    assert aml.models["StackedEnsemble_AllModels_1"].params["selected_by"] == "1 - AUC"
    aml = AutoML(max_models=3, nfolds=3, seed=1, sort_metric="logloss").fit(frame, "y")
    assert aml.models["StackedEnsemble_AllModels_1"].params["selected_by"] == "log loss"


def test_a_budget_keeps_time_for_the_second_layer_and_the_run_ends_on_time():
    frame = synthetic("regression", n=2000, seed=4)
    estimate = AutoML(max_runtime_secs=15, nfolds=3, seed=1).estimate(frame, "y")
    assert estimate["expected_ensembles"] >= 3  # the two weighted ensembles and at least one stacked model
    aml = AutoML(max_runtime_secs=15, nfolds=3, seed=1).fit(frame, "y")
    assert aml.elapsed() <= 15 * 1.05
    stacked = [m for m in aml.models.values() if isinstance(m, StackedModel)]
    assert stacked and aml._stack_reserve() > 0 and aml.budget.stack_secs == 0.0  # kept, then spent


def test_an_ensemble_over_stacked_models_runs_each_first_layer_model_once():
    frame = synthetic("regression", n=300, seed=5)
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(frame, "y")
    first_layer = [m for m in aml.models.values() if m.algo != "StackedEnsemble"]
    stacked = [m for m in aml.models.values() if isinstance(m, StackedModel)]
    members = first_layer + stacked
    meta = GreedyEnsemble(task="regression")
    meta.weights_ = np.full(len(members), 1 / len(members))
    ensemble = EnsembleModel(model_id="E", algo="StackedEnsemble", task="regression", target="y",
                             features=aml.spec_.columns, feature_kinds=aml.spec_.kinds(), estimator=meta,
                             base_models=members)
    each = [m.predict_raw(frame) for m in members]
    calls = {m.model_id: 0 for m in first_layer}

    def counted(model):
        original = model.predict_raw

        def predict_raw(frame_):
            calls[model.model_id] += 1
            return original(frame_)
        return predict_raw

    for m in first_layer:
        m.predict_raw = counted(m)
    got = ensemble.predict_raw(frame)
    assert set(calls.values()) == {1}  # once each, though every stacked member uses some of them
    np.testing.assert_allclose(got, np.mean(each, axis=0))
