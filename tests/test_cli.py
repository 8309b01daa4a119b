"""The command line contract from DESIGN.md."""
import json
import subprocess
import sys

import pandas as pd

from tests.helpers import DATA, ROOT, synthetic


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "automl_engine", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_train_json_then_predict_classification(tmp_path):
    frame = synthetic("binary", n=240)
    frame.iloc[:200].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[200:].to_csv(tmp_path / "test.csv", index=False)
    model = tmp_path / "m.automl"
    result = run_cli("train", tmp_path / "train.csv", "--target", "y", "--test", tmp_path / "test.csv",
                     "--max-models", 2, "--nfolds", 3, "--out", model, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["task"] == "binary" and out["sort_metric"] == "auc"
    assert out["leader"] == out["leaderboard"][0]["model_id"]
    assert {"auc", "logloss", "aucpr", "mean_per_class_error", "rmse", "mse", "training_time_ms",
            "predict_time_per_row_ms"} <= set(out["leaderboard"][0])
    assert 0.5 < out["test_metrics"]["auc"] <= 1.0 and out["elapsed_s"] > 0
    result = run_cli("predict", model, tmp_path / "test.csv", "--out", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["predict", "no", "yes"] and len(preds) == 40
    assert set(preds["predict"]) <= {"yes", "no"}


def test_train_prints_a_leaderboard_table_on_the_wine_file():
    result = run_cli("train", DATA / "wine_quality_train.csv", "--target", "quality", "--max-models", 1,
                     "--nfolds", 2)
    assert result.returncode == 0, result.stderr
    assert "GBM_1" in result.stdout and "rmse" in result.stdout and "regression" in result.stdout


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"")
    result = run_cli("train", tmp_path / "bad.csv", "--target", "y")
    assert result.returncode == 2
    assert "error: The file is empty" in result.stderr and "Traceback" not in result.stderr
