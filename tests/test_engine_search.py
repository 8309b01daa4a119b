"""The search's choices: the time trend of dates, which models start near the end of the budget,
faster boosting when time is short, log-scale nets for skewed targets, count losses carried over,
and ensembles scored from cached predictions."""
import time

import numpy as np
import pandas as pd
import pytest

from automl_engine import AutoML
from automl_engine.families import FAMILIES
from automl_engine.families.deeplearning import MLPEstimator
from automl_engine.planning import MIN_SAMPLE_ROWS, Budget, CostModel, TableShape, Validation
from automl_engine.preprocessing import DatetimeParts, ToCategory
from automl_engine.validation import FoldAverage
from tests.helpers import synthetic


def _parts(values):
    frame = pd.DataFrame({"when": values})
    parts = DatetimeParts().fit(frame)
    return pd.DataFrame(parts.transform(frame), columns=parts.get_feature_names_out())


def test_dates_also_give_days_since_1970_so_a_trend_needs_one_split():
    out = _parts(["1970-01-11", "2020-01-01 12:00", "not a date"])
    assert out["when.days"].tolist()[:2] == [10.0, 18262.5]
    assert out["when.year"].tolist()[:2] == [1970.0, 2020.0]
    assert out.iloc[2].isna().all()
    with_offset = _parts(["2020-01-02T12:00+02:00", "2020-01-03T18:30+02:00"])
    assert with_offset["when.hour"].tolist() == [12.0, 18.0]  # the clock time as written
    assert with_offset["when.days"].tolist() == [18263.5, 18264.770833333332]


def test_a_model_file_saved_before_the_trend_part_still_gets_its_six_parts():
    frame = pd.DataFrame({"when": ["2021-03-04", "2022-05-06"]})
    parts = DatetimeParts().fit(frame)
    del parts.parts_  # as unpickled from an older model file
    assert parts.transform(frame).shape == (2, 6)
    assert "when.days" not in parts.get_feature_names_out()


def _planned(max_runtime_secs=60, n=2000, width=20, n_classes=2, validation=Validation("kfold", nfolds=5)):
    """An AutoML past its preparation, with a cost model for a table of ``n`` rows."""
    aml = AutoML(max_runtime_secs=max_runtime_secs)
    aml.budget = Budget(max_runtime_secs)
    aml.cost_ = CostModel(TableShape(n_rows=n, n_features=width, tree_width=width, linear_width=2 * width,
                                     n_classes=n_classes), FAMILIES)
    aml.validation_ = validation
    aml._pace = {}
    return aml


def test_a_model_that_would_not_finish_in_the_time_left_is_not_started():
    aml = _planned()
    aml.budget.started = time.time() - 50  # the run's own deadline is 57 s after the start: 7 s are left
    assert not aml._too_slow("GBM") and not aml._too_slow("DRF")  # a small table: every model fits
    aml.cost_.observe("DRF", 1.0, 40.0)  # this run's forests take 40 times what was expected
    assert aml._too_slow("DRF")
    assert aml._too_slow("XRT")  # not tried yet: expected to be as far off as the families seen so far
    aml.cost_.observe("GLM", 1.0, 1.0)
    assert not aml._too_slow("GLM")
    assert aml.cost_.correction("XRT") == 20.5  # the median of what was seen


def test_a_slow_default_waits_behind_the_quicker_ones_on_a_large_table():
    aml = _planned(n=400_000, n_classes=0, validation=Validation("holdout"))
    aml.cost_.observe("GBM", 1.0, 1.0)  # as a run learns it from its first models
    aml.cost_.observe("DRF", 1.0, 2.0)
    assert aml._too_long("DRF") and not aml._too_long("GBM")
    aml.task_, aml.include_algos = "regression", ["GBM", "DRF"]
    plan = aml._plan()
    first = [next(plan)[0] for _ in range(8)]
    assert first == ["GBM_1", "GBM_2", "GBM_3", "GBM_4", "GBM_5", "GBM_6", "GBM_7", "DRF_1"]  # it waited, still fits


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_model_of_classes_is_given_no_setting_that_only_numbers_use(task):
    aml = _planned(n_classes=0 if task == "regression" else 3)
    aml.task_, aml.seed, aml.models, aml.max_models, aml._tried = task, 0, {}, 60, set()
    aml.include_algos = ["GBM", "DeepLearning"]
    configs = [config for _, _, config in aml._plan()]
    assert len(configs) == 60
    numbers_only = [c for c in configs if "objective" in c or "log_target" in c]
    if task == "regression":
        assert len(numbers_only) > 20  # the count losses and the log scale are searched
    else:
        assert numbers_only == []  # they would do nothing, yet show on the leaderboard


def test_the_first_model_trains_on_a_sample_when_its_window_is_too_short_for_all_rows():
    aml = _planned(n=400_000)
    aml._y = np.zeros(400_000)
    aml.seed = 1
    aml._splits = [(np.arange(320_000), np.arange(320_000, 400_000))]
    aml.validation_ = Validation("holdout")
    splits = aml._within("GBM", {"learning_rate": 0.2}, allowed=1.0)
    assert MIN_SAMPLE_ROWS <= len(splits[0][0]) < 320_000
    assert np.array_equal(splits[0][1], aml._splits[0][1])  # scored on the same rows as every model
    assert aml._within("GBM", {"learning_rate": 0.2}, allowed=600.0) is aml._splits


def test_a_boosting_model_short_of_time_learns_faster_instead_of_being_cut_off():
    aml = _planned(n=400_000, validation=Validation("holdout"))
    start = time.time()
    default = {"learning_rate": 0.05, "num_leaves": 31, "objective": "poisson"}
    first = aml._paced("GBM", default, start, start + 5)  # nothing converged yet: the cost model tells
    assert first["learning_rate"] > 0.05
    aml._pace = {"GBM": ({"learning_rate": 0.05, "num_leaves": 31}, 10.0)}  # converged in 10 s
    assert aml._paced("GBM", default, start, start + 20) == default  # it has the time it needs
    assert aml._paced("GBM", default, start, None) == default  # no time budget: as configured
    assert aml._paced("DRF", {"learning_rate": 0.05}, start, start + 1) == {"learning_rate": 0.05}
    assert aml._paced("GBM", default, start, start + 5) == {**default, "learning_rate": 0.125}
    slow = {"learning_rate": 0.03, "num_leaves": 128}  # more leaves cost more per tree
    assert aml._paced("GBM", slow, start, start + 5) == {"learning_rate": 0.2, "num_leaves": 128}
    # XGBoost is paced by its own converged model: its trees cost about their depth
    xgb = {"learning_rate": 0.05, "max_depth": 6}
    aml._pace["XGBoost"] = ({"learning_rate": 0.05, "max_depth": 3}, 4.0)  # depth 3 converged in 4 s
    assert aml._paced("XGBoost", xgb, start, start + 20) == xgb  # depth 6: about 8 s of the 20
    assert aml._paced("XGBoost", xgb, start, start + 5) == {**xgb, "learning_rate": 0.1}  # 8 s in 5: twice as fast


def test_a_boosting_model_cut_by_its_deadline_makes_the_next_one_learn_faster():
    """A model cut off at its deadline needed more than the time it had: the next one of its family is
    paced as if it had needed CUT_PACE times as long, not left to the cost model's guess again."""
    from automl_engine.automl import CUT_PACE

    aml = _planned(n=400_000, validation=Validation("holdout"))
    start = time.time()
    default = {"learning_rate": 0.05, "num_leaves": 31}
    aml._pace = {}
    assert aml._cut_pace("GBM", default, 4.0) == (default, CUT_PACE * 4.0)
    aml._pace["GBM"] = aml._cut_pace("GBM", default, 4.0)  # cut after 4 s: about 8 s needed
    assert aml._paced("GBM", default, start, start + 20) == default  # 20 s is enough
    assert aml._paced("GBM", default, start, start + 5) == {**default, "learning_rate": 0.1}  # 8 s in 5
    # A record that says longer still is kept: a cut model's time is a lower bound, not a measurement
    aml._pace["GBM"] = (default, 30.0)
    assert aml._cut_pace("GBM", {"learning_rate": 0.1, "num_leaves": 31}, 4.0)[1] == pytest.approx(15.0)


def test_the_budget_ends_a_run_of_slow_models_before_the_deadline_not_after(monkeypatch):
    """No model or fold starts once the budget less the ensembles' reserve is spent, and every fold is told
    to wrap up by then. How long the run then takes depends also on what else the machine runs (beside
    another test process on two cores it once took 10.3 s of 8), so the run's clock against the budget is
    measured by the benchmark, on every table, not asserted here."""
    from automl_engine import validation
    from automl_engine.planning import MIN_RESERVE_SECS

    folds, starts = [], []
    fit_fold = validation._fit_fold

    def timed_fold(make_estimator, X, y, train_idx, valid_idx, deadline, stop_by, *args):
        start = time.time()
        result = fit_fold(make_estimator, X, y, train_idx, valid_idx, deadline, stop_by, *args)
        folds.append((start, stop_by))  # only a fold that ran
        return result

    monkeypatch.setattr(validation, "_fit_fold", timed_fold)
    frame = synthetic("regression", n=3000)
    aml = AutoML(max_runtime_secs=8, nfolds=3, seed=1, include_algos=["GBM", "DRF", "XRT"],
                 callback=lambda e: starts.append(time.time()) if e.kind == "model_started" else None)
    aml.fit(frame, "y")
    last_start = aml.budget.started + 8 - MIN_RESERVE_SECS
    assert len(aml.models) >= 2 and len(folds) >= 6 and len(starts) >= 2
    assert max(starts) <= last_start
    assert all(start <= last_start and stop_by is not None and stop_by <= last_start for start, stop_by in folds)


def test_fold_models_predict_in_parallel_with_the_same_result():
    frame = synthetic("multiclass", n=300)
    aml = AutoML(max_models=2, nfolds=3, seed=1, include_algos=["GBM"]).fit(frame, "y")
    model = aml.models["GBM_1"]
    assert isinstance(model.estimator, FoldAverage) and model.estimator.n_jobs == 2
    parallel = model.predict_raw(frame)
    model.estimator.n_jobs = 1
    np.testing.assert_allclose(model.predict_raw(frame), parallel)


def test_ensemble_test_metrics_match_predicting_the_test_frame_afresh():
    frame = synthetic("binary", n=400)
    aml = AutoML(max_models=4, nfolds=3, seed=1).fit(frame.iloc[:300], "y", test_frame=frame.iloc[300:])
    ensembles = [m for m in aml.models.values() if m.algo == "StackedEnsemble"]
    assert ensembles
    for model in ensembles:
        fresh = model.predict_raw(frame.iloc[300:])
        cached = model.combine([aml._test_raw[m.model_id] for m in model.base_models], frame.iloc[300:])
        np.testing.assert_allclose(cached, fresh)
        assert model.predict_time_per_row_ms > 0


def test_a_net_learns_a_skewed_price_on_a_log_scale_and_stays_within_the_seen_range():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 3))
    price = np.exp(1.5 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.1, size=800))
    net = MLPEstimator(log_target=True, hidden_layer_sizes=(32,), max_epochs=60).fit(X[:600], price[:600])
    assert net.log_target_
    far = net.predict(np.full((1, 3), 50.0))  # far outside anything seen in training
    assert price[:600].min() - 1e-9 <= far[0] <= price[:600].max() + 1e-9
    log_rmse = np.sqrt(np.mean((np.log1p(net.predict(X[600:])) - np.log1p(price[600:])) ** 2))
    assert log_rmse < 0.3
    symmetric = rng.normal(size=600)
    assert not MLPEstimator(log_target=True, max_epochs=2).fit(X[:600], symmetric).log_target_


def test_boosting_defaults_take_the_count_loss_when_it_beat_squared_error():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.uniform(0, 2, 1500), "b": rng.normal(size=1500)})
    frame["y"] = rng.poisson(np.exp(3 * frame["a"] + 0.5 * frame["b"]))  # counts from a few to a few hundred
    aml = AutoML(max_models=6, nfolds=3, seed=1, include_algos=["GBM"]).fit(frame, "y")
    # the defaults in order: squared error (four), Poisson, then one more without a loss of its own
    losses = [aml.models[f"GBM_{i}"].params.get("objective") for i in range(1, 7)]
    assert losses[:5] == [None, None, None, None, "poisson"]
    assert aml.models["GBM_5"].metrics["rmse"] < min(aml.models[f"GBM_{i}"].metrics["rmse"] for i in (1, 2, 3, 4))
    assert losses[5] == "poisson"  # it builds on the loss that won
    assert aml._adapted("GBM", {"objective": "regression"})["objective"] == "regression"
    assert "objective" not in aml._adapted("DRF", {})


def test_category_values_become_trimmed_text_whatever_their_type():
    frame = pd.DataFrame({"text": [" a", "b ", None, "a", np.nan, "c"],
                          "mixed": [1, 1.0, True, " x ", None, 2.5]})
    out = ToCategory().fit(frame).transform(frame)
    assert [out[i, 0] for i in (0, 1, 3, 5)] == ["a", "b", "a", "c"]
    assert np.isnan(out[2, 0]) and np.isnan(out[4, 0]) and np.isnan(out[4, 1])
    assert out[:, 1].tolist()[:4] == ["1", "1.0", "True", "x"]  # 1, 1.0 and True stay apart


def _noisy_classes(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = np.where(frame["a"] + 0.5 * frame["b"] + rng.normal(scale=1.5, size=n) > 0, "yes", "no")
    return frame


def test_extra_trees_for_classes_grow_leaves_of_several_rows_and_predict_a_noisy_target_better():
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    frame = _noisy_classes()
    aml = AutoML(max_models=1, nfolds=5, seed=1, include_algos=["XRT"]).fit(frame, "y")
    model = aml.models["XRT_1"]
    assert model.params["min_samples_leaf"] == 10  # shown on the leaderboard as trained
    assert model.estimator.named_steps["model"].forest_.min_samples_leaf == 10
    X, y = frame[["a", "b", "c", "d"]], (frame["y"] == "yes").astype(int)
    single_rows = cross_val_predict(ExtraTreesClassifier(n_estimators=100, random_state=0), X, y,
                                    cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    assert model.metrics["logloss"] < log_loss(y, single_rows) - 0.02  # votes of single rows are over-confident


def test_extra_trees_for_numbers_keep_leaves_of_single_rows():
    aml = AutoML(max_models=1, nfolds=3, seed=1, include_algos=["XRT"]).fit(synthetic("regression", n=300), "y")
    model = aml.models["XRT_1"]
    assert "min_samples_leaf" not in model.params
    assert model.estimator.named_steps["model"].forest_.min_samples_leaf == 1
