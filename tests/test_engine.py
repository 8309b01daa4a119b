"""The AutoML engine on tiny seeded frames: leaderboards, events, failures, files, isolation."""
import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from automl_engine import AutoML, DataError, load_model
from automl_engine.families import FAMILIES
from automl_engine.metrics import COLUMNS
from tests.helpers import ROOT, synthetic


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_leaderboard_has_h2o_columns_and_is_sorted_by_the_default_metric(task):
    frame = synthetic(task)
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(frame, "y")
    assert aml.task_ == task
    board = aml.leaderboard
    ids = [r["model_id"] for r in board]
    assert {"GLM_1", "DRF_1", "GBM_1"} <= set(ids)
    assert "StackedEnsemble_AllModels_1" in ids
    for row in board:
        assert set(COLUMNS[task]) <= set(row)
        assert row["training_time_ms"] >= 0 and row["predict_time_per_row_ms"] > 0
    metric = aml.sort_metric_
    values = [r[metric] for r in board]
    assert values == sorted(values, reverse=metric in ("auc", "aucpr"))
    assert aml.leader.model_id == ids[0]


def test_models_learn_the_signal():
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(synthetic("regression", n=400), "y")
    assert aml.leaderboard[0]["rmse"] < 0.6  # the noise has sd 0.3; predicting the mean gives about 2.4


def test_events_report_every_model_in_order():
    seen = []
    AutoML(max_models=2, nfolds=3, seed=1, callback=seen.append).fit(synthetic("binary"), "y")
    kinds = [e.kind for e in seen]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    started = [e.model_id for e in seen if e.kind == "model_started"]
    finished = [e.model_id for e in seen if e.kind == "model_finished"]
    assert started == finished == ["GBM_1", "GLM_1", "StackedEnsemble_AllModels_1",
                                    "StackedEnsemble_BestOfFamily_1"]
    for e in seen:
        assert isinstance(e.to_dict(), dict)


def test_a_callback_returning_true_stops_the_run_and_keeps_models():
    aml = AutoML(max_models=5, nfolds=3, seed=1, callback=lambda e: e.kind == "model_finished")
    aml.fit(synthetic("regression"), "y")
    assert aml.stopped_early
    assert [r["model_id"] for r in aml.leaderboard] == ["GBM_1"]


def test_one_failing_model_is_recorded_and_the_run_goes_on(monkeypatch):
    def broken(ctx, config):
        raise RuntimeError("this family is broken")

    monkeypatch.setitem(FAMILIES, "DRF", dataclasses.replace(FAMILIES["DRF"], make_model=broken))
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(synthetic("regression"), "y")
    assert [f["model_id"] for f in aml.failures] == ["DRF_1"]
    assert "this family is broken" in aml.failures[0]["error"]
    assert {"GLM_1", "GBM_1"} <= {r["model_id"] for r in aml.leaderboard}


def test_same_seed_and_max_models_give_the_same_leaderboard():
    frame = synthetic("binary", n=300)
    boards = [AutoML(max_models=4, nfolds=3, seed=7).fit(frame, "y").leaderboard for _ in range(2)]
    strip = [[{k: v for k, v in r.items() if not k.endswith("_ms")} for r in b] for b in boards]
    assert strip[0] == strip[1]


def test_include_and_exclude_algos():
    frame = synthetic("regression")
    only = AutoML(max_models=4, nfolds=3, include_algos=["GBM"]).fit(frame, "y")
    assert {r["algo"] for r in only.leaderboard} == {"GBM"}
    without = AutoML(max_models=3, nfolds=3, exclude_algos=["GLM", "StackedEnsemble"]).fit(frame, "y")
    assert "GLM" not in {r["algo"] for r in without.leaderboard}
    assert "StackedEnsemble" not in {r["algo"] for r in without.leaderboard}


def test_rows_without_a_target_are_dropped_and_counted():
    frame = synthetic("regression")
    frame.loc[:9, "y"] = np.nan
    seen = []
    AutoML(max_models=1, nfolds=3, callback=seen.append).fit(frame, "y")
    assert seen[0].dropped_rows == 10 and seen[0].n_rows == 190


def test_holdout_when_nfolds_is_zero_and_test_metrics_for_every_model():
    frame = synthetic("multiclass", n=300)
    aml = AutoML(max_models=2, nfolds=0, seed=1).fit(frame.iloc[:240], "y", test_frame=frame.iloc[240:])
    for model in aml.models.values():
        assert model.test_metrics is not None and 0 <= model.test_metrics["mean_per_class_error"] <= 1


def test_a_time_budget_ends_the_run():
    aml = AutoML(max_runtime_secs=6, nfolds=3, seed=1).fit(synthetic("regression", n=300), "y")
    assert aml.elapsed() < 6 * 1.05 + 1
    assert len(aml.leaderboard) >= 2


def test_bad_target_is_a_data_error():
    with pytest.raises(DataError, match="not in the data"):
        AutoML(max_models=1).fit(synthetic("regression"), "nope")


def test_model_file_round_trip_predicts_the_same(tmp_path):
    frame = synthetic("multiclass")
    aml = AutoML(max_models=2, nfolds=3, seed=1).fit(frame, "y")
    path = aml.save_model(tmp_path / "leader.automl")
    model = load_model(path)
    before, after = aml.predict(frame), model.predict(frame)
    assert list(after.columns) == ["predict", "high", "low", "mid"]
    assert (before["predict"] == after["predict"]).all()
    np.testing.assert_allclose(after[["high", "low", "mid"]].sum(axis=1), 1.0, rtol=1e-6)
    meta = model.describe()
    assert meta["target"] == "y" and meta["task"] == "multiclass" and meta["classes"] == ["high", "low", "mid"]
    assert "scikit-learn" in model.metadata["library_versions"] and model.metadata["created_at"]


def test_the_engine_imports_no_django_celery_or_plotly():
    code = ("import sys, automl_engine, automl_engine.cli; "
            "bad = [m for m in ('django', 'celery', 'plotly', 'redis') if m in sys.modules]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"engine imported {result.stdout}"


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_explanations_for_every_model_including_ensembles(task):
    frame = synthetic(task, n=300)
    aml = AutoML(max_models=3, nfolds=3, seed=1).fit(frame, "y")
    for model_id in aml.models:
        data = aml.explain(model_id)
        importance = data["variable_importance"]
        assert importance[0]["feature"] == "x1" and importance[0]["importance"] == 1.0
        shap = data["shap"]
        assert shap["method"] == ("tree_shap" if model_id.startswith("GBM") else "surrogate_tree_shap")
        assert len(shap["values"]) == 300 and len(shap["values"][0]) == len(shap["features"]) == 3
        # x1 drives the target, so its SHAP values vary most.
        spread = np.std(np.asarray(shap["values"]), axis=0)
        assert spread[shap["features"].index("x1")] == spread.max()
        pd_x1 = data["partial_dependence"][0]
        assert pd_x1["feature"] == "x1" and len(pd_x1["grid"]) >= 10
        if task == "regression":
            assert len(data["residuals"]["actual"]) == 300
            values = pd_x1["values"]["prediction"]
            assert values[-1] > values[0]  # the target rises with x1
        else:
            matrix = np.asarray(data["confusion_matrix"]["matrix"])
            assert matrix.sum() == 300 and np.trace(matrix) > 150
            assert all(0.5 < curve["auc"] <= 1 for curve in data["roc"])
            assert len(data["pr"]) == (1 if task == "binary" else 3)
    across = aml.explain_models()
    assert across["importance_heatmap"]["models"] == [r["model_id"] for r in aml.leaderboard]
    assert across["importance_heatmap"]["features"][0] == "x1"
    matrix = np.asarray(across["model_correlation"]["matrix"])
    assert matrix.shape == (len(aml.models),) * 2 and np.allclose(np.diag(matrix), 1.0)


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_an_xgboost_model_is_explained_by_its_own_exact_shap_values(task):
    from automl_engine.explain import shap_values

    frame = synthetic(task, n=300)
    aml = AutoML(max_models=1, nfolds=3, seed=1, include_algos=["XGBoost"]).fit(frame, "y")
    model = aml.models[aml.leaderboard[0]["model_id"]]
    assert model.algo == "XGBoost"
    shap = shap_values(model, frame.drop(columns="y"), max_rows=300)
    assert shap["method"] == "tree_shap" and shap["fidelity_r2"] is None
    values = np.asarray(shap["values"])
    spread = np.std(values, axis=0)
    assert spread[shap["features"].index("x1")] == spread.max()
    if task == "regression":  # one model refit on all rows, squared error: the values add up to its prediction
        rows = pd.DataFrame({f: shap["feature_values"][i] for i, f in enumerate(shap["features"])})
        assert np.allclose(values.sum(axis=1) + shap["base_value"], model.predict_raw(rows), atol=1e-3)


def test_a_column_that_gives_the_answer_away_is_flagged_as_leakage():
    frame = synthetic("regression", n=300)
    frame["y_copy"] = frame["y"] * 2 + 1
    seen = []
    AutoML(max_models=1, nfolds=3, callback=seen.append).fit(frame, "y")
    warnings = seen[0].warnings
    assert any("'y_copy' alone predicts the target" in w for w in warnings)
    assert not any("'x2'" in w for w in warnings)


def test_rare_classes_and_few_rows_are_warned_about():
    frame = synthetic("binary", n=80)
    frame["y"] = ["rare" if i < 3 else "common" for i in range(80)]
    seen = []
    AutoML(max_models=1, nfolds=2, callback=seen.append).fit(frame, "y")
    text = " ".join(seen[0].warnings)
    assert "Only 80 rows" in text and "Imbalanced classes: 'rare' (3 of 80 rows) is rare" in text
