"""Time limits inside long fits, holdout validation for large tables, Excel's text export, memory given back."""
import time

import numpy as np
import pytest

from automl_engine import AutoML, read_csv
from automl_engine import planning
from automl_engine.families.gbm import MIN_ROUNDS
from automl_engine.families import FAMILIES, BuildContext
from automl_engine.schema import feature_spec
from tests.helpers import synthetic


def _context(frame, task, deadline):
    spec = feature_spec(frame, "y")
    return spec, BuildContext(task=task, spec=spec, n_rows=len(frame), n_classes=0 if task == "regression" else 2,
                              seed=0, n_jobs=1, deadline=deadline)


def test_a_forest_past_its_deadline_stops_after_its_first_chunk_of_trees():
    frame = synthetic("regression", n=300)
    spec, ctx = _context(frame, "regression", deadline=time.time() - 1)
    forest = FAMILIES["DRF"].build(ctx, {"n_estimators": 200, "chunk": 10}).fit(frame[spec.columns], frame["y"])
    assert len(forest.named_steps["model"].forest_.estimators_) == 10


def test_boosting_past_its_deadline_stops_adding_trees():
    frame = synthetic("binary", n=400)
    y = (frame["y"] == "yes").astype(int).to_numpy()
    spec, ctx = _context(frame, "binary", deadline=time.time() - 1)
    gbm = FAMILIES["GBM"].build(ctx, {"learning_rate": 0.01}).fit(frame[spec.columns], y)
    assert gbm.named_steps["model"].booster_.current_iteration() <= MIN_ROUNDS + 1


def test_catboost_past_its_deadline_stops_adding_trees():
    from automl_engine.families.catboost_family import MIN_ROUNDS as CATBOOST_MIN_ROUNDS

    frame = synthetic("binary", n=400)
    y = (frame["y"] == "yes").astype(int).to_numpy()
    spec, ctx = _context(frame, "binary", deadline=time.time() - 1)
    model = FAMILIES["CatBoost"].build(ctx, {"learning_rate": 0.01}).fit(frame[spec.columns], y)
    assert model.named_steps["model"].model_.tree_count_ <= CATBOOST_MIN_ROUNDS + 1
    spec, ctx = _context(frame, "binary", deadline=None)
    free = FAMILIES["CatBoost"].build(ctx, {"learning_rate": 0.01}).fit(frame[spec.columns], y)
    assert free.named_steps["model"].model_.tree_count_ > 50  # without a deadline it learns on


def test_xgboost_past_its_deadline_stops_adding_trees_and_stops_early_on_its_own_rows():
    from automl_engine.families.xgboost_family import MIN_ROUNDS as XGB_MIN_ROUNDS

    frame = synthetic("binary", n=400)
    y = (frame["y"] == "yes").astype(int).to_numpy()
    spec, ctx = _context(frame, "binary", deadline=time.time() - 1)
    model = FAMILIES["XGBoost"].build(ctx, {"learning_rate": 0.01}).fit(frame[spec.columns], y)
    assert model.named_steps["model"].booster_.num_boosted_rounds() <= XGB_MIN_ROUNDS + 1
    spec, ctx = _context(frame, "binary", deadline=None)
    free = FAMILIES["XGBoost"].build(ctx, {"learning_rate": 0.1}).fit(frame[spec.columns], y)
    booster = free.named_steps["model"]
    assert booster.booster_.num_boosted_rounds() > 50  # without a deadline it learns on
    # a tenth of the rows told it where to stop, and it keeps the rounds up to its best one
    import xgboost
    from sklearn.metrics import log_loss

    from automl_engine.families.base import stopping_split

    Z = np.asarray(free.named_steps["prep"].transform(frame[spec.columns]), dtype=np.float32)
    _, Z_stop, _, y_stop = stopping_split(Z, y, "binary", 0)
    kept = booster.booster_.num_boosted_rounds()
    losses = [log_loss(y_stop, booster.booster_.predict(xgboost.DMatrix(Z_stop), iteration_range=(0, i)), labels=[0, 1])
              for i in range(1, kept + 1)]
    assert booster.best_iteration_ == kept == int(np.argmin(losses)) + 1 < 3000
    proba = free.predict_proba(frame[spec.columns])
    assert proba.shape == (400, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba[:, 1] > 0.5) == y).mean() > 0.8


def test_xgboost_on_too_few_rows_to_hold_out_counts_its_rounds_and_gives_every_class_a_column():
    from sklearn.metrics import log_loss

    from automl_engine.families.xgboost_family import ROUNDS, XGBEstimator

    rng = np.random.default_rng(3)
    X = rng.normal(size=(596, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=596), [-0.6, 0.6])
    params = {"learning_rate": 0.1, "max_depth": 6}
    model = XGBEstimator(task="multiclass", params=dict(params), n_jobs=1, n_classes=4).fit(X[:96], y[:96])
    assert 10 <= model.booster_.num_boosted_rounds() < ROUNDS
    proba = model.predict_proba(X[96:])
    # A class no training row has still gets a column, and far less probability than the classes learnt
    assert proba.shape == (500, 4) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert proba[:, 3].mean() < 0.05 < proba[:, :3].mean(axis=0).min()
    every_round = XGBEstimator(task="multiclass", params=dict(params), n_jobs=1, n_classes=4, rounds=ROUNDS // 3)
    every_round.fit(X[:96], y[:96])
    counted, uncounted = (log_loss(y[96:], m.predict_proba(X[96:]), labels=[0, 1, 2, 3]) for m in (model, every_round))
    assert counted < 0.8 * uncounted


def test_boosting_sets_aside_no_more_leaves_than_its_rows_allow_and_grows_the_same_trees():
    import lightgbm

    from automl_engine.families.gbm import LGBMEstimator, leaves_that_fit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5))  # too few rows to hold some out for early stopping: all of them train
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(scale=0.5, size=90) > 1).astype(int)
    config = {"learning_rate": 0.1, "num_leaves": 255, "min_child_samples": 6, "bagging_fraction": 0.8,
              "bagging_freq": 1}
    assert leaves_that_fit(config, 90) == 15 and leaves_that_fit({"num_leaves": 7}, 600) == 7
    assert leaves_that_fit({"min_child_samples": 80}, 50) == 2
    assert leaves_that_fit({"num_leaves": 63, "min_data_in_leaf": 10}, 100) == 10  # LightGBM's own name
    model = LGBMEstimator(task="binary", params=dict(config), n_estimators=60, n_jobs=1).fit(X, y)
    uncapped = lightgbm.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 0,
                               "deterministic": True, "force_row_wise": True, **config},
                              lightgbm.Dataset(X, y), num_boost_round=model.booster_.current_iteration())
    assert model.booster_.params["num_leaves"] == 15
    assert np.array_equal(model.booster_.predict(X), uncapped.predict(X))


def test_boosting_on_a_small_table_lowers_the_rows_per_leaf_so_its_trees_can_split():
    from automl_engine.families.gbm import LGBMEstimator, rows_per_leaf_that_fit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4))  # a fold of iris: 96 rows, three classes
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=96), [-0.5, 0.5])
    config = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 80}
    assert rows_per_leaf_that_fit(config, 96) == 12 and rows_per_leaf_that_fit(config, 5000) == 80
    assert rows_per_leaf_that_fit({}, 96) == 12 and rows_per_leaf_that_fit({"min_data_in_leaf": 5}, 96) == 5
    model = LGBMEstimator(task="multiclass", params=dict(config), n_estimators=50, n_jobs=1, n_classes=3).fit(X, y)
    assert model.booster_.params["min_child_samples"] == 12
    proba = model.predict_proba(X)
    assert np.ptp(proba[:, 0]) > 0.3  # rows told apart, not the class shares for every row
    assert (np.argmax(proba, axis=1) == y).mean() > 0.8


def test_boosting_on_too_few_rows_to_hold_out_counts_its_rounds_by_an_inner_cross_validation():
    import lightgbm
    from sklearn.metrics import log_loss

    from automl_engine.families.gbm import LGBMEstimator

    rng = np.random.default_rng(3)
    X = rng.normal(size=(596, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=596), [-0.6, 0.6])
    params = {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 10}
    model = LGBMEstimator(task="multiclass", params=dict(params), n_estimators=1500, n_jobs=1, n_classes=3)
    model.fit(X[:96], y[:96])  # fewer than 100 rows: none can be held out to stop training
    assert 10 <= model.booster_.current_iteration() < 1500
    every_round = lightgbm.train({"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1,
                                  **params}, lightgbm.Dataset(X[:96], y[:96]), num_boost_round=1500)
    counted, uncounted = (log_loss(y[96:], p, labels=[0, 1, 2])
                          for p in (model.predict_proba(X[96:]), every_round.predict(X[96:])))
    assert counted < 0.8 * uncounted  # 1,500 rounds on 96 rows: confident and often wrong


def test_catboost_on_too_few_rows_to_hold_out_counts_its_rounds_for_classes_by_an_inner_cross_validation(
        monkeypatch):
    from sklearn.metrics import log_loss

    from automl_engine.families import catboost_family
    from automl_engine.families.catboost_family import ROUNDS, CatBoostEstimator

    rng = np.random.default_rng(3)
    X = rng.normal(size=(690, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=690) > 0).astype(int)  # noisy: many rounds overfit
    params = {"learning_rate": 0.06, "depth": 6}
    model = CatBoostEstimator(task="binary", params=params, n_jobs=1, n_classes=2).fit(X[:90], y[:90])
    assert 10 <= model.model_.tree_count_ < ROUNDS
    every_round = CatBoostEstimator(task="binary", params=params, n_jobs=1, n_classes=2)
    every_round._rounds_by_cv = lambda make, X_, y_: ROUNDS  # the model as it was before the rounds were counted
    every_round.fit(X[:90], y[:90])
    assert every_round.model_.tree_count_ == ROUNDS
    counted, uncounted = (log_loss(y[90:], m.predict_proba(X[90:])[:, 1]) for m in (model, every_round))
    assert counted < 0.8 * uncounted
    monkeypatch.setattr(catboost_family, "ROUNDS", 40)  # a number: every round, its error levels off
    numbers = CatBoostEstimator(task="regression", params=params, n_jobs=1).fit(X[:90], X[:90, 0] + X[:90, 1])
    assert numbers.model_.tree_count_ == 40


def test_an_inner_cross_validation_past_its_share_of_the_time_leaves_the_fit_its_rounds():
    from automl_engine.families.base import INNER_SHARE, inner_deadline, inner_folds

    assert inner_deadline(None) is None
    now = time.time()
    assert now + INNER_SHARE * 10 - 0.5 < inner_deadline(now + 10) <= time.time() + INNER_SHARE * 10
    assert inner_deadline(now - 5) <= time.time()  # past the deadline already: no time for the inner folds
    y = np.array([0] * 40 + [1] * 40 + [2] * 3)  # the rarest class has fewer rows than folds
    folds = inner_folds(y, "multiclass", seed=0)
    assert len(folds) == 5 and sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(len(y)))
    assert len(inner_folds(y, "multiclass", seed=0, folds=3)) == 3 and len(inner_folds(y[:6], "regression", 0)) == 3
    balanced = inner_folds(np.array([0, 1] * 45), "binary", seed=0)
    assert all(np.bincount(np.array([0, 1] * 45)[v]).tolist() == [9, 9] for _, v in balanced)


def test_catboost_keeps_the_model_read_back_from_its_saved_form_which_predicts_the_same(monkeypatch):
    from catboost import CatBoostClassifier

    from automl_engine.families import catboost_family
    from automl_engine.families.catboost_family import CatBoostEstimator

    monkeypatch.setattr(catboost_family, "ROUNDS", 80)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    params = {"learning_rate": 0.1, "depth": 4}
    ours = CatBoostEstimator(task="multiclass", params=params, n_jobs=1, n_classes=3).fit(X, y)
    rounds = ours.model_.tree_count_  # counted by an inner cross-validation: 90 rows are too few to hold some out
    assert 10 <= rounds <= 80
    direct = CatBoostClassifier(loss_function="MultiClass", class_names=[0, 1, 2], thread_count=1, random_seed=0,
                                verbose=False, allow_writing_files=False, iterations=rounds, **params).fit(X, y)
    assert np.array_equal(ours.predict_proba(X), direct.predict_proba(X))
    assert np.allclose(ours.feature_importances_, direct.get_feature_importance())


def test_the_model_libraries_load_before_a_run_when_asked():
    # A worker loads them as it starts, so a run's clock does not count importing them.
    import subprocess
    import sys

    code = ("import sys, automl_engine; before = {'lightgbm', 'catboost'} & set(sys.modules); "
            "automl_engine.load_libraries(); print(sorted(before), sorted({'lightgbm', 'catboost'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["[]", "['catboost',", "'lightgbm']"]


def test_a_neural_net_past_its_deadline_stops_after_one_epoch():
    frame = synthetic("regression", n=300)
    spec, ctx = _context(frame, "regression", deadline=time.time() - 1)
    net = FAMILIES["DeepLearning"].build(ctx, {}).fit(frame[spec.columns], frame["y"].to_numpy())
    assert net.named_steps["model"].net_.t_ <= 300  # samples seen: one pass over the training rows


def test_large_tables_switch_to_a_single_holdout(monkeypatch):
    monkeypatch.setattr(planning, "HOLDOUT_ROWS", 100)
    aml = AutoML(max_models=2, nfolds=5, seed=1).fit(synthetic("binary", n=300), "y")
    assert len(aml._splits) == 1
    assert len(aml._splits[0][1]) == 60  # a fifth of the rows
    assert aml.leaderboard and all(r["auc"] > 0.5 for r in aml.leaderboard)


def test_reads_a_table_saved_by_excel_as_unicode_text():
    text = "name\tamount\tok\r\nÅsa\t1,5\tyes\r\nJosé\t2,25\tno\r\nZoë\t3,0\tyes\r\n"
    frame = read_csv(b"\xff\xfe" + text.encode("utf-16-le"))
    assert frame["name"].tolist() == ["Åsa", "José", "Zoë"]
    assert frame["amount"].tolist() == [1.5, 2.25, 3.0]


def test_datetime_columns_become_parts_that_the_models_use():
    rng = np.random.default_rng(0)
    days = np.array("2023-01-01", dtype="datetime64[D]") + rng.integers(0, 365, 400)
    frame = synthetic("regression", n=400)
    frame["when"] = days.astype(str)
    frame["y"] = frame["y"] + 5 * (days.astype("datetime64[M]").astype(int) % 12 >= 6)
    aml = AutoML(max_models=2, nfolds=3, seed=1).fit(frame, "y")
    assert aml.spec_.datetime == ["when"]
    importance = {r["feature"]: r["importance"] for r in aml.explain("GBM_1")["variable_importance"]}
    assert importance["when"] > importance["x2"]


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_free_text_feeds_the_models(task):
    frame = synthetic(task, n=300)
    words = {"yes": "a glowing review of the product", "no": "an awful experience with this thing",
             "low": "cold and rainy morning outside", "mid": "mild weather with some sun",
             "high": "a very hot summer afternoon"}
    frame["note"] = [words[v] + f" number {i}" for i, v in enumerate(frame["y"])]
    aml = AutoML(max_models=2, nfolds=3, seed=1).fit(frame, "y")
    assert aml.spec_.text == ["note"]
    assert aml.leaderboard[0]["mean_per_class_error"] < 0.05  # the words give the class away


def test_infinite_and_huge_numbers_do_not_break_training():
    frame = synthetic("regression", n=200)
    frame.loc[:4, "x2"] = np.inf
    frame.loc[5:9, "x2"] = 1e308
    frame.loc[10, "y"] = np.inf
    seen = []
    aml = AutoML(max_models=2, nfolds=3, seed=1, callback=seen.append).fit(frame, "y")
    assert not aml.failures and {"GLM_1", "GBM_1"} <= set(aml.models)
    assert seen[0].dropped_rows == 1


def test_memory_freed_between_models_goes_back_to_the_system():
    # Small blocks freed in the middle of the heap stay resident under glibc until it is asked to
    # give them back; the run asks after every model, so its memory does not grow model by model.
    import subprocess
    import sys

    code = """
import psutil
from automl_engine.memory import release_freed_memory
p = psutil.Process()
blocks, pins = [], []
for _ in range(3000):
    blocks.append(bytearray(100_000))
    pins.append(bytearray(1_000))
del blocks
before = p.memory_info().rss
release_freed_memory()
print((before - p.memory_info().rss) >> 20)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert int(out.stdout) > 150  # of the 300 MB freed


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_linear_model_fits_on_a_sample_of_a_large_table_and_predicts_every_row(task, monkeypatch):
    """Beyond max_fit_rows the linear model fits on a sample (its one-hot matrix of every row would cost
    gigabytes on a million rows); it keeps a row of every class, and still predicts every row."""
    from automl_engine.families import glm
    from automl_engine import validation

    monkeypatch.setattr(glm.GLMEstimator, "max_fit_rows", 300)
    monkeypatch.setattr(glm, "ALPHA_ROWS", 150)  # ridge picks alpha on a sample, then solves on the rest
    monkeypatch.setattr(validation, "PREDICT_ROWS", 170)  # and predictions go in slices
    frame = synthetic(task, n=1200)
    frame.loc[0, "y"] = "rare" if task == "multiclass" else frame.loc[0, "y"]
    aml = AutoML(max_models=1, nfolds=3, seed=1, include_algos=["GLM"], task=task).fit(frame, "y")
    model = aml.models["GLM_1"]
    fitted = model.estimator.named_steps["model"]
    assert fitted.rows_used_ <= 300 + 4
    if task == "regression":
        assert type(fitted.model_).__name__ == "Ridge" and fitted.model_.alpha > 0
    else:
        assert "rare" in model.classes and fitted.model_.classes_.size == len(model.classes)
    raw = model.predict_raw(frame)
    assert len(raw) == len(frame) and np.isfinite(raw).all()
    monkeypatch.setattr(validation, "PREDICT_ROWS", 10_000)
    np.testing.assert_allclose(model.predict_raw(frame), raw)  # slices change nothing
    metric = "rmse" if task == "regression" else "logloss"
    assert model.metrics[metric] < (1.0 if task == "regression" else 0.9)  # cross-validated: it learned


@pytest.mark.parametrize("key", ["GBM", "CatBoost", "XGBoost"])
def test_boosting_fold_models_of_a_small_table_stop_where_their_fold_stops_improving(key, monkeypatch):
    """Below a thousand rows a fold model holding out a tenth of its own rows would learn from 72% of the
    table; the fold's validation rows tell it when to stop instead, as they do on large tables."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    from automl_engine.families import catboost_family, gbm, xgboost_family
    from automl_engine.validation import cross_validate

    def no_holdout(*args, **kwargs):
        raise AssertionError("a fold model held out rows of its own")

    for module in (gbm, catboost_family, xgboost_family):
        monkeypatch.setattr(module, "stopping_split", no_holdout)
    frame = synthetic("binary", n=300, seed=4)
    X, y = frame.drop(columns="y"), (frame["y"] == "yes").to_numpy().astype(int)
    family = FAMILIES[key]
    _, ctx = _context(frame, "binary", None)
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    oof, fitted = cross_validate(lambda: family.build(ctx, dict(family.defaults("binary")[0])), X, y, splits,
                                 "binary", 2, None)
    assert not np.isnan(oof).any()
    for est, (train_idx, valid_idx) in zip(fitted, splits):
        Xv = est.named_steps["prep"].transform(X.iloc[valid_idx])
        model = est.named_steps["model"]
        if key == "GBM":  # LightGBM keeps the rounds up to the best one, as CatBoost keeps its trees
            kept = model.booster_.current_iteration()
            losses = [log_loss(y[valid_idx], model.booster_.predict(Xv, num_iteration=i), labels=[0, 1])
                      for i in range(1, kept + 1)]
            assert model.best_iteration_ == int(np.argmin(losses)) + 1  # the best round is the last one kept
        elif key == "XGBoost":  # XGBoost too
            import xgboost

            kept = model.booster_.num_boosted_rounds()
            rows = xgboost.DMatrix(np.asarray(Xv, dtype=np.float32))
            losses = [log_loss(y[valid_idx], model.booster_.predict(rows, iteration_range=(0, i)), labels=[0, 1])
                      for i in range(1, kept + 1)]
            assert model.best_iteration_ == kept == int(np.argmin(losses)) + 1
        else:
            losses = [log_loss(y[valid_idx], p[:, 1], labels=[0, 1])
                      for p in model.model_.staged_predict_proba(model._data(Xv))]
            assert int(np.argmin(losses)) == len(losses) - 1  # the best tree is the last one kept
