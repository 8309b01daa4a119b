"""The benchmark command runs the engine on a dataset's fixed split and skips frameworks that are not installed."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import installed

ROOT = Path(__file__).resolve().parent.parent


def test_a_framework_whose_package_is_missing_counts_as_not_installed(monkeypatch):
    from bench import __main__ as cmd

    monkeypatch.setitem(cmd.MODULES, "imaginary", "no_such_package.tabular")
    assert installed("imaginary") is False
    assert installed("automl_engine") is True


@pytest.mark.skipif(installed("autogluon"), reason="shows the skip message only where AutoGluon is missing")
def test_the_benchmark_prints_metric_models_wall_and_memory(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "BENCH_DATA_DIR": str(ROOT / "tests" / "data")}
    run = subprocess.run([sys.executable, "-m", "bench", "--budget", "4", "--datasets", "titanic",
                          "--frameworks", "automl_engine,autogluon", "--json", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "not installed, skipped: autogluon" in run.stdout
    line = next(l for l in run.stdout.splitlines() if l.startswith("titanic"))
    assert "auc" in line and "wall" in line and "peak" in line
    result = json.loads(out.read_text())["titanic"]["automl_engine"]
    assert result["metric"] > 0.75 and result["models"] >= 2
    assert result["wall_s"] > 0 and result["peak_mb"] > 0
