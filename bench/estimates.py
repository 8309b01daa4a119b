"""How close the engine's pre-flight estimate came to what its runs did.

    python -m bench.estimates RESULTS.json

For every dataset in a benchmark's results file (``python -m bench --json``) with a result of the
engine, the estimate is made again on the same training split with the same budget (the estimate
depends only on the table and the settings, never on the clock) and printed beside the run's
models and peak memory, with the error of each and a summary over all datasets.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

from .datasets import get_spec, load
from .runners import SORT



def estimate_for(name: str, budget: float) -> dict:
    from automl_engine import AutoML

    spec = get_spec(name)
    train, _ = load(spec)
    aml = AutoML(max_runtime_secs=budget, sort_metric=SORT[spec.metric], task=spec.task)
    return aml.estimate(train, spec.target)


def compare(results: dict) -> list[dict]:
    rows = []
    for name, by_framework in results.items():
        run = by_framework.get("automl_engine")
        if not run or "error" in run:
            continue
        estimate = estimate_for(name, run.get("budget") or 60)
        expected = estimate["expected_models"] + estimate["expected_ensembles"]  # the ensembles are models too
        rows.append({"dataset": name, "expected_models": expected, "models": run["models"],
                     "expected_peak_mb": estimate["peak_memory_mb"], "peak_mb": round(run["peak_mb"]),
                     "validation": estimate["validation"]["description"]})
    return rows


def _log_error(expected: float, actual: float) -> float:
    """|log(expected / actual)|: 0 when exact, log 2 when off by a factor of two either way."""
    return abs(math.log(max(expected, 1) / max(actual, 1)))


def summary(rows: list[dict]) -> list[str]:
    if not rows:
        return ["no engine results to compare"]
    lines = []
    for key, label in (("models", "models"), ("peak_mb", "peak memory")):
        errors = [_log_error(r[f"expected_{key}"], r[key]) for r in rows]
        within = sum(e <= math.log(1.5) for e in errors)
        lines.append(f"{label}: median factor off {math.exp(statistics.median(errors)):.2f}, "
                     f"within a factor of 1.5 on {within} of {len(rows)} runs, worst factor {math.exp(max(errors)):.2f}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.estimates")
    parser.add_argument("results", help="a JSON file written by python -m bench --json")
    args = parser.parse_args(argv)
    with open(args.results) as fh:
        rows = compare(json.load(fh))
    print(f"{'dataset':24} {'validation':40} {'models: expected':>17} {'actual':>7}   "
          f"{'peak MB: expected':>17} {'actual':>7}")
    for r in rows:
        print(f"{r['dataset']:24} {r['validation']:40} {r['expected_models']:17} {r['models']:7}   "
              f"{r['expected_peak_mb']:17} {r['peak_mb']:7}")
    for line in summary(rows):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
