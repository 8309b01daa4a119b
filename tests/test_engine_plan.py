"""The plan from the cost model: validation chosen by expected cost, the first model in its window,
a model on any table, the pre-flight estimate, and fits that stop on time in every family."""
import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OrdinalEncoder

from automl_engine import AutoML, planning
from automl_engine.ensemble import GreedyEnsemble
from automl_engine.families import FAMILIES, BuildContext
from automl_engine.families import deeplearning
from automl_engine.families.glm import GLMEstimator
from automl_engine.planning import CostModel, TableShape, Validation, choose_validation, make_splits
from automl_engine.sampling import pick
from automl_engine.preprocessing import CategoryCodes, ToCategory
from automl_engine.schema import feature_spec, infer_column, profile_columns
from tests.helpers import synthetic


def _cost(n_rows, width=20, n_classes=2):
    return CostModel(TableShape(n_rows=n_rows, n_features=width, tree_width=width, linear_width=3 * width,
                                n_classes=n_classes), FAMILIES)


def _slower(monkeypatch, factor):
    """Every family's fits made ``factor`` times costlier, through the registry."""
    for key, family in list(FAMILIES.items()):
        slower = dataclasses.replace(family.cost, secs_per_cell=family.cost.secs_per_cell * factor)
        monkeypatch.setitem(FAMILIES, key, dataclasses.replace(family, cost=slower))


def test_validation_is_chosen_by_what_the_budget_affords():
    small = choose_validation(_cost(5_000), nfolds=5, max_runtime_secs=60)
    assert small.kind == "kfold" and small.describe() == "5-fold CV"
    large = choose_validation(_cost(400_000), nfolds=5, max_runtime_secs=60)
    assert large.kind == "holdout" and large.describe() == "holdout 20%"
    assert "5-fold CV would take about" in large.reason
    huge = choose_validation(_cost(3_000_000), nfolds=5, max_runtime_secs=60)
    assert huge.kind == "sample" and huge.sample_rows < 2_400_000
    # a holdout of 200,000 rows measures a model well enough: the rest of a large table trains
    assert huge.describe() == f"holdout 7%, trained on a sample of {huge.sample_rows:,} rows"
    (train, valid), = make_splits(huge, "binary", np.arange(3_000_000) % 2, seed=0)
    assert len(valid) == 200_000 and len(train) == huge.sample_rows
    # more time buys a better validation on the same table
    assert choose_validation(_cost(400_000), nfolds=5, max_runtime_secs=3600).kind == "kfold"
    # without a time budget the choice does not depend on the clock (runs stay reproducible)
    assert choose_validation(_cost(400_000), nfolds=5, max_runtime_secs=None).kind == "kfold"
    assert choose_validation(_cost(400_000), nfolds=1, max_runtime_secs=None).kind == "holdout"


def test_the_first_models_fits_end_early_enough_to_score_a_large_holdout_within_its_window():
    budget = planning.Budget(60, started=1000.0)
    # a small table: scoring is quick and the fits may run to 7% of the budget
    assert budget.model_deadline(1001.0, first=True, scoring_secs=0.1) == pytest.approx(1000.0 + 0.07 * 60)
    # 160,000 validation rows of 5 classes: the fits end sooner, so the model is scored by 10%
    cost = _cost(800_000, n_classes=5)
    holdout = Validation("holdout")
    scoring = cost.scoring_secs(holdout)
    assert scoring == pytest.approx(160_000 * 5 * planning.SCORE_SECS_PER_OUTPUT)
    assert scoring > _cost(800_000, n_classes=2).scoring_secs(holdout) * 4  # binary: one column to predict
    fits_end = budget.model_deadline(1001.0, first=True, scoring_secs=scoring)
    assert fits_end == pytest.approx(1000.0 + 6.0 - planning.SCORE_SAFETY * scoring)
    assert fits_end < 1000.0 + 0.07 * 60
    # however late the model starts, it has a second to fit
    assert budget.model_deadline(1005.5, first=True, scoring_secs=scoring) == pytest.approx(1006.5)


def test_a_sample_validation_trains_on_the_sample_and_scores_a_fifth_of_all_rows():
    y = np.arange(10_000) % 3
    (train, valid), = make_splits(Validation("sample", sample_rows=3_000), "multiclass", y, seed=1)
    assert len(train) == 3_000 and len(valid) == 2_000
    assert not set(train) & set(valid)
    assert np.bincount(y[train]).min() > 900  # stratified: every class in proportion


def test_timestamps_with_a_zone_or_offset_are_dates():
    for values in (["2013-01-01T10:00:00Z", "2013-01-02T11:30:00Z"],
                   ["2013-01-01T10:00:00+02:00", "2013-01-02 11:30:00-0500"],
                   ["2013-01-01T10:00:00.250Z", "2013-02-01T00:00:00Z"]):
        series = pd.Series(values * 20, name="when")
        assert infer_column(series, len(series)).kind == "datetime", values
    assert infer_column(pd.Series(["AB-12", "CD-34"] * 20, name="code"), 40).kind == "categorical"


def test_category_values_become_trimmed_strings_with_missing_kept():
    frame = pd.DataFrame({"a": [" x ", 3, None, 2.5], "b": ["y", np.nan, "y", " z"]})
    out = ToCategory().fit(frame).transform(frame)
    assert out[:, 0].tolist()[:2] == ["x", "3"] and out[3, 0] == "2.5" and pd.isna(out[2, 0])
    assert out[:, 1].tolist()[0] == "y" and pd.isna(out[1, 1]) and out[3, 1] == "z"


def test_a_class_rarer_than_the_folds_and_many_classes_train():
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame["y"] = [f"c{i}" for i in rng.integers(0, 49, n)]
    frame.loc[:1, "y"] = "rare"  # two rows: fewer than the five folds
    aml = AutoML(max_models=2, nfolds=5, seed=1, include_algos=["GBM", "GLM"]).fit(frame, "y")
    assert aml.n_classes_ == 50 and not aml.failures
    proba = aml.leader.predict(frame.head(10))
    assert {"rare", "c0", "c48"} <= set(proba.columns)
    np.testing.assert_allclose(proba[[str(c) for c in aml.classes_]].sum(axis=1), 1.0, rtol=1e-6)


def test_a_class_only_in_the_holdouts_validation_rows_keeps_every_probability_in_its_column():
    # One row of class "solo": a holdout puts it in the validation part, so the one fitted model of
    # each family never saw it and has one probability column fewer than there are classes.
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame["y"] = np.where(frame["x1"] > 0.5, "c_hi", np.where(frame["x1"] < -0.5, "c_lo", "c_mid"))
    (_, valid), = make_splits(Validation("holdout"), "multiclass", np.zeros(n, dtype=int), seed=1)
    frame.loc[valid[0], "y"] = "a_solo"  # sorts first: every column after it would shift if not aligned
    algos = ["GLM", "DRF", "XRT", "GBM", "DeepLearning", "CatBoost", "XGBoost"]
    aml = AutoML(max_models=len(algos) + 2, nfolds=0, seed=1, include_algos=algos + ["StackedEnsemble"]).fit(
        frame, "y", test_frame=frame.iloc[300:])
    assert aml.classes_[0] == "a_solo" and not aml.failures
    unseen = [m for m in aml.models.values() if len(getattr(m.estimator, "classes_", aml.classes_)) < len(aml.classes_)]
    assert unseen  # the premise: some models were fitted without the solo class
    test = frame.iloc[300:]
    for model in aml.models.values():
        out = model.predict(test)
        probs = out[[str(c) for c in aml.classes_]]
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
        # the probability of each row's own class stays well above chance (a quarter; a shifted column
        # would put another class's probability, near zero, in its place): columns are aligned
        own = probs.to_numpy()[np.arange(len(test)), [aml.classes_.index(v) for v in test["y"]]]
        assert np.median(own) > 0.4, model.model_id
        assert (out["predict"] == test["y"].to_numpy()).mean() > 0.8, model.model_id
    assert any(m.startswith("StackedEnsemble") for m in aml.models)


def test_a_run_where_no_planned_model_fits_in_time_still_ends_with_a_model(monkeypatch):
    # every family is expected to take hours: nothing from the plan may start
    _slower(monkeypatch, 1e6)
    seen = []
    aml = AutoML(max_runtime_secs=30, nfolds=5, seed=1, callback=seen.append).fit(synthetic("binary", n=400), "y")
    assert [r["model_id"] for r in aml.leaderboard] == ["GBM_1"]
    assert aml.models["GBM_1"].params["sample_rows"] > 0
    assert aml.leaderboard[0]["auc"] > 0.6
    assert seen[0].forecast["budget_too_small"] and "no model would finish" in seen[0].forecast["warning"]


def test_every_leaderboard_row_and_the_start_event_say_how_models_were_scored():
    seen = []
    aml = AutoML(max_models=2, nfolds=3, seed=1, callback=seen.append).fit(synthetic("regression", n=300), "y")
    assert {r["validation"] for r in aml.leaderboard} == {"3-fold CV"}
    assert seen[0].validation == "3-fold CV" and seen[0].validation_reason
    assert seen[0].forecast["expected_models"] == 2


def test_the_pre_flight_estimate_warns_when_the_budget_is_too_small(monkeypatch):
    frame = synthetic("regression", n=2000)
    quick = AutoML(max_runtime_secs=60).estimate(frame, "y")
    assert quick["validation"]["kind"] == "kfold" and quick["expected_models"] >= 5
    assert not quick["budget_too_small"] and quick["warning"] == ""
    assert quick["peak_memory_mb"] > planning.PROCESS_MB
    _slower(monkeypatch, 20_000)
    slow = AutoML(max_runtime_secs=60).estimate(frame, "y")
    assert slow["budget_too_small"] and slow["expected_models"] < 3
    assert slow["warning"].startswith(f"About {slow['seconds_per_model']:.0f} s per model on this table: 60 s")
    counts = [b["expected_models"] for b in slow["models_by_budget"]]
    assert counts[0] == slow["expected_models"] and max(counts) > counts[0]  # more time, more models


def test_a_linear_model_short_of_time_fits_on_a_sample_of_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5))
    y = (X[:, 0] + rng.normal(scale=0.5, size=20_000) > 0).astype(int)
    hurried = GLMEstimator(task="binary", deadline=time.time() + 0.01).fit(X, y)
    assert hurried.rows_used_ < 20_000 and set(hurried.classes_) == {0, 1}
    assert (hurried.predict(X) == y).mean() > 0.8
    assert GLMEstimator(task="binary").fit(X, y).rows_used_ == 20_000  # no deadline: every row


def test_a_small_logistic_model_chooses_its_regularisation_by_cross_validation():
    from automl_engine.families import glm

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (3 * X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.3, size=300) > 0).astype(int)  # nearly separable
    small = GLMEstimator(task="binary").fit(X, y)
    assert small.tuned_ and small.model_.C_[0] in glm.STRENGTHS
    assert small.model_.C_[0] > 1.0  # clean data: weaker regularisation than the default wins
    fixed = GLMEstimator(task="binary", C=1.0).fit(X, y)
    assert not fixed.tuned_ and fixed.model_.C == 1.0
    big = rng.normal(size=(glm.TUNE_CELLS // 4 + 1, 4))
    assert not GLMEstimator(task="binary").fit(big, (big[:, 0] > 0).astype(int)).tuned_  # large: the default


def test_a_logistic_model_takes_the_strength_with_the_lowest_log_loss_over_all_folds():
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    from automl_engine.families import glm
    from automl_engine.validation import cross_validate, out_of_fold

    frame = synthetic("binary", n=300)
    spec = feature_spec(frame, "y")
    X, y = frame[spec.columns], (frame["y"] == "yes").astype(int).to_numpy()
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    ctx = BuildContext(task="binary", spec=spec, n_rows=300, n_classes=2, seed=0, n_jobs=1)
    family = FAMILIES["GLM"]
    _, fitted = cross_validate(lambda: family.build(ctx, {}), X, y, splits, "binary", 2, None)
    losses = [est.named_steps["model"].path_losses_ for est in fitted]
    assert all(set(fold) == set(glm.PATH) for fold in losses)  # every fold fitted the whole path
    pooled = {c: sum(fold[c] for fold in losses) for c in glm.PATH}
    settled = family.settle(fitted)
    assert settled == {"C": min(pooled, key=pooled.get), "C_rows": 240}  # the folds' training rows
    assert {est.named_steps["model"].model_.C for est in fitted} == {settled["C"]}
    oof = out_of_fold(fitted, X, splits, "binary", 2)  # the folds' predictions at the strength they settled on
    assert log_loss(y, oof) == pytest.approx(pooled[settled["C"]] / len(y), rel=1e-6)
    assert log_loss(y, oof) < max(pooled.values()) / len(y)  # the path's strengths differ on these rows

    # Before settling, a fold model predicts at the default strength, not at the one its own rows favour.
    _, unsettled = cross_validate(lambda: family.build(ctx, {}), X, y, splits, "binary", 2, None)
    assert {est.named_steps["model"].model_.C for est in unsettled} == {glm.DEFAULT_C}
    # A fold cut by the clock fits the strengths nearest the default first: the choice stays there.
    late = dataclasses.replace(ctx, deadline=time.time() - 1)
    _, hurried = cross_validate(lambda: family.build(late, {}), X, y, splits, "binary", 2, None)
    assert family.settle(hurried)["C"] == glm.DEFAULT_C

    aml = AutoML(max_models=1, include_algos=["GLM"], seed=1).fit(synthetic("multiclass", n=300), "y")
    model = aml.models["GLM_1"]
    assert model.params["C"] in glm.PATH and model.params["C_rows"] == 240  # on the leaderboard's settings
    # The final model, on all 300 rows, keeps the strength per row chosen on the folds' 240.
    assert model.estimator.named_steps["model"].model_.C == pytest.approx(model.params["C"] * 300 / 240)


@pytest.mark.parametrize("large", [False, True])
def test_a_linear_fold_gets_its_validation_rows_only_where_it_uses_them(large, monkeypatch):
    """The path of strengths reads the fold's validation rows on small tables only; on a large one they are
    not made into a dense one-hot copy for the fit (on a million rows that copy was the run's memory peak)."""
    from sklearn.model_selection import StratifiedKFold

    from automl_engine.families import glm
    from automl_engine.validation import cross_validate

    if large:
        monkeypatch.setattr(glm, "TUNE_CELLS", 100)
    given = []
    fit = glm.GLMEstimator.fit
    monkeypatch.setattr(glm.GLMEstimator, "fit", lambda self, X, y, eval_set=None: (
        given.append(eval_set), fit(self, X, y, eval_set=eval_set))[1])
    frame = synthetic("binary", n=300)
    spec = feature_spec(frame, "y")
    X, y = frame[spec.columns], (frame["y"] == "yes").astype(int).to_numpy()
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    ctx = BuildContext(task="binary", spec=spec, n_rows=300, n_classes=2, seed=0, n_jobs=1)
    oof, fitted = cross_validate(lambda: FAMILIES["GLM"].build(ctx, {}), X, y, splits, "binary", 2, None)
    assert len(given) == 3 and np.isfinite(oof).all()  # every fold predicts its validation rows either way
    if large:
        assert all(e is None for e in given) and all(est.named_steps["model"].path_losses_ is None for est in fitted)
    else:
        assert [len(e[1]) for e in given] == [len(v) for _, v in splits]
        assert all(est.named_steps["model"].path_losses_ for est in fitted)


@pytest.mark.parametrize("key", ["GBM", "CatBoost", "XGBoost"])
def test_boosting_models_of_numbers_are_refit_on_all_rows_and_of_classes_average_their_folds(key, monkeypatch):
    from sklearn.model_selection import KFold

    from automl_engine.families.base import REFIT_ROUNDS
    from automl_engine.validation import FoldAverage, cross_validate

    frame = synthetic("regression", n=400)
    spec = feature_spec(frame, "y")
    X, y = frame[spec.columns], frame["y"].to_numpy()
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))
    ctx = BuildContext(task="regression", spec=spec, n_rows=400, n_classes=0, seed=0, n_jobs=1)
    family = FAMILIES[key]
    _, fitted = cross_validate(lambda: family.build(ctx, {}), X, y, splits, "regression", 0, None)
    models = [est.named_steps["model"] for est in fitted]
    best = [m.model_.tree_count_ if key == "CatBoost" else m.best_iteration_ for m in models]
    rounds = family.refit_config(fitted, {})["rounds"]
    assert rounds == round(np.mean(best) * REFIT_ROUNDS) > np.mean(best)  # the folds' mean, scaled up for more rows

    aml = AutoML(max_models=1, include_algos=[key], seed=1).fit(frame, "y")
    final = aml.models[f"{key}_1"].estimator
    assert not isinstance(final, FoldAverage)  # one model, refit on all 400 rows
    model = final.named_steps["model"]
    grown = {"GBM": lambda: model.booster_.current_iteration(), "CatBoost": lambda: model.model_.tree_count_,
             "XGBoost": lambda: model.booster_.num_boosted_rounds()}[key]()
    assert model.rounds >= 10 and grown == model.rounds and not model.cut_short_

    # The refit falls back on the folds' average when it has no time within the model's deadline ...
    refit = aml._refit(family, {}, ctx, fitted, time.time(), 1, X, model_deadline=None)  # there is time: a refit
    assert not isinstance(refit, FoldAverage) and refit.named_steps["model"].rounds == rounds
    assert isinstance(aml._refit(family, {}, ctx, fitted, time.time() - 30, 1, X, model_deadline=time.time()),
                      FoldAverage)
    # ... and a refit cut by its deadline before its rounds says so (the run then keeps the average).
    hurried = family.build(dataclasses.replace(ctx, deadline=time.time() - 1), {"rounds": 100_000})
    assert hurried.fit(X, y).named_steps["model"].cut_short_

    classes = AutoML(max_models=1, include_algos=[key], seed=1).fit(synthetic("binary", n=300), "y")
    assert isinstance(classes.models[f"{key}_1"].estimator, FoldAverage)  # classes: the fold models averaged
    from automl_engine.families import base

    monkeypatch.setattr(base, "REFIT_MAX_ROWS", 399)  # a table past the rows a refit is for: the average too
    larger = AutoML(max_models=1, include_algos=[key], seed=1).fit(frame, "y")
    assert isinstance(larger.models[f"{key}_1"].estimator, FoldAverage)


def test_a_net_past_its_deadline_stops_within_an_epoch_on_a_large_table(monkeypatch):
    monkeypatch.setattr(deeplearning, "EPOCH_STRETCH_ROWS", 100)
    frame = synthetic("regression", n=1000)
    spec = __import__("automl_engine.schema", fromlist=["feature_spec"]).feature_spec(frame, "y")
    ctx = BuildContext(task="regression", spec=spec, n_rows=1000, n_classes=0, seed=0, n_jobs=1,
                       deadline=time.time() - 1)
    net = FAMILIES["DeepLearning"].build(ctx, {}).fit(frame[spec.columns], frame["y"].to_numpy())
    assert net.named_steps["model"].net_.t_ <= 100  # one stretch of rows, not a whole epoch of 900


def test_the_ensemble_selection_stops_at_its_deadline():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    Z = np.column_stack([y + rng.normal(scale=s, size=500) for s in (0.5, 0.6, 0.7)])
    stopped = GreedyEnsemble(task="regression", deadline=time.time() - 1).fit(Z, y)
    assert np.count_nonzero(stopped.weights_) == 1  # the best single model, nothing added
    full = GreedyEnsemble(task="regression").fit(Z, y)
    assert np.count_nonzero(full.weights_) > 1


def test_an_ensemble_ranked_by_auc_chooses_its_weights_by_auc():
    from sklearn.metrics import roc_auc_score

    from automl_engine.ensemble import _auc_loss, make_metalearner

    rng = np.random.default_rng(1)
    score = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * score))).astype(int)
    # A ranks the rows well but its probabilities hug 0.5 (a poor log loss); B is calibrated but ranks worse.
    ranker = 0.5 + 0.01 * np.tanh(score + rng.normal(scale=0.3, size=3000))
    calibrated = 1 / (1 + np.exp(-2 * (score + rng.normal(scale=1.5, size=3000))))
    Z = np.column_stack([ranker, calibrated])
    assert roc_auc_score(y, ranker) > roc_auc_score(y, calibrated)
    by_loss = make_metalearner("binary", 2).fit(Z, y)
    by_auc = make_metalearner("binary", 2, sort_metric="auc").fit(Z, y)
    assert by_auc.metric == "auc" and make_metalearner("regression", 0, sort_metric="auc").metric == "loss"
    auc = {name: roc_auc_score(y, ens.predict_proba(Z)[:, 1]) for name, ens in [("loss", by_loss), ("auc", by_auc)]}
    assert auc["auc"] >= roc_auc_score(y, ranker) - 1e-12  # never below its best member
    assert auc["auc"] > auc["loss"]
    assert _auc_loss(np.column_stack([1 - ranker, ranker]), y) == pytest.approx(1 - roc_auc_score(y, ranker))


def _sampled_classes(rng, proba):
    return (rng.random(len(proba))[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)


def test_the_ensemble_calibrates_its_class_probabilities_on_the_out_of_fold_rows():
    from sklearn.metrics import roc_auc_score

    from automl_engine.ensemble import _loss, calibrate

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = _sampled_classes(rng, truth)
    # Two members that are too timid (as averages are): the calibration sharpens them (T < 1).
    timid = [calibrate(truth, 2.0, 0.0, None), calibrate(truth, 1.8, 0.0, None)]
    ens = GreedyEnsemble(task="multiclass", n_classes=3).fit(np.hstack(timid), y)
    average = ens._average(np.hstack(timid))
    assert ens.temperature_ < 1.0
    assert _loss("multiclass", ens.predict_proba(np.hstack(timid)), y) < _loss("multiclass", average, y) - 0.02
    # A member sure of the wrong class on some rows: the class frequencies are mixed in, no zero is left.
    sure = np.eye(3)[np.argmax(truth, axis=1)]
    ens = GreedyEnsemble(task="multiclass", n_classes=3).fit(sure, y)
    assert ens.prior_share_ > 0 and ens.predict_proba(sure).min() > 0
    assert np.isfinite(_loss("multiclass", ens.predict_proba(sure), y))
    # Calibrated binary probabilities rank the rows as before: the AUC is the same.
    p = np.clip(rng.beta(0.5, 0.5, size=3000), 1e-6, 1 - 1e-6)
    yb = (rng.random(3000) < p ** 2).astype(int)  # the model is over-confident about the positives
    ens = GreedyEnsemble(task="binary", n_classes=2).fit(p[:, None], yb)
    assert (ens.temperature_, ens.prior_share_) != (1.0, 0.0)
    assert roc_auc_score(yb, ens.predict_proba(p[:, None])[:, 1]) == pytest.approx(roc_auc_score(yb, p), abs=1e-12)
    # Well-calibrated probabilities are left as they are.
    ens = GreedyEnsemble(task="multiclass", n_classes=3).fit(truth, y)
    assert abs(ens.temperature_ - 1.0) <= 0.15 and ens.prior_share_ <= 1e-3


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_a_large_table_in_a_short_budget_gives_models_on_time(task):
    frame = synthetic(task, n=120_000)
    aml = AutoML(max_runtime_secs=20, seed=1).fit(frame, "y")
    assert aml.leaderboard
    assert aml.elapsed() <= 20 * 1.05


def test_a_stratified_pick_takes_the_share_of_every_class_and_splits_every_row_once():
    labels = np.repeat([0, 1, 2, 3, 5], [1, 2, 5_000, 3, 997])  # class 4 has no rows
    idx = np.arange(100, 100 + len(labels))
    taken, rest = pick(idx, labels, 0.2, np.random.default_rng(0))
    assert len(taken) == round(0.2 * len(labels)) and len(rest) == len(labels) - len(taken)
    assert sorted(np.concatenate([taken, rest]).tolist()) == idx.tolist()
    got = np.bincount(labels[taken - 100], minlength=6)
    assert got[2] == 1_000 and abs(got[5] - 199) <= 1
    assert got[1] == 1 and 1 <= got[3] <= 2  # a class of two or three rows is on both sides
    again, _ = pick(idx, labels, 0.2, np.random.default_rng(0))
    assert again.tolist() == taken.tolist()  # the seed decides


def test_numeric_columns_get_the_same_kind_without_counting_their_values():
    n = 200
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "float": rng.normal(size=n), "row_id": np.arange(n), "counts": rng.integers(0, 5, n).astype(float),
        "gappy": np.where(np.arange(n) % 7 == 0, np.nan, np.arange(n, dtype=float)),
        "const": np.full(n, 2.5), "empty": np.full(n, np.nan), "flag": rng.random(n) > 0.5,
        "nullable": pd.array(np.where(np.arange(n) % 5 == 0, None, np.arange(n)), dtype="Int64"),
        "target": rng.normal(size=n)})
    spec = feature_spec(frame, "target")
    expected = {info.name: info.kind for info in profile_columns(frame.drop(columns="target"))}
    got = dict(spec.kinds(), **{name: ("id" if "ID" in why else "constant") for name, why in spec.dropped.items()})
    assert got == expected
    assert got["float"] == "numeric" and got["row_id"] == "id" and got["const"] == "constant"


def test_category_codes_match_scikit_learns_ordinal_encoder():
    rng = np.random.default_rng(0)
    levels = np.array([f"v{i}" for i in range(400)] + [np.nan], dtype=object)
    weights = np.r_[rng.pareto(1.0, 400) + 0.01, 5.0]  # some levels rare (grouped), some missing
    train = levels[rng.choice(len(levels), size=(20_000, 3), p=weights / weights.sum())]
    train[:, 2] = np.where(rng.random(20_000) < 0.5, "a", "b")  # a column without missing values
    test = levels[rng.integers(0, len(levels), size=(5_000, 3))]
    test[:7, 0] = ["new", "v0", np.nan, "v399", "x", "v1", "v2"]
    test[:3, 2] = [np.nan, "c", "a"]  # missing and unknown where training had neither
    options = dict(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan,
                   min_frequency=3, max_categories=250)
    ours = CategoryCodes(**options).fit(train)
    reference = OrdinalEncoder(**options).fit(train)
    for frame in (train, test):
        np.testing.assert_array_equal(ours.transform(frame), reference.transform(frame))
    assert np.isnan(ours.transform(test)[:2, 2]).all() and ours.transform(test)[2, 2] == 0
