"""How fast a trained model answers: one row at a time (latency) and a large batch (throughput).

    python -m bench.scoring [--budget 60] [--rows 100000] [--train FILE --target COLUMN]

Trains on the wine quality table (tests/data, or --train) for ``--budget`` seconds, then for the
leader and each of the next best models: the median and 95th percentile time to predict one row
(a fresh one-row frame each call, as the JSON endpoint does), and rows per second on ``--rows``
rows (the test file repeated). Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from automl_engine import AutoML

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SINGLE_CALLS = 200


def single_row_ms(model, rows: pd.DataFrame) -> tuple[float, float]:
    times = []
    for i in range(SINGLE_CALLS):
        row = rows.iloc[[i % len(rows)]].reset_index(drop=True)
        started = time.perf_counter()
        model.predict(row)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def rows_per_second(model, rows: pd.DataFrame, n: int) -> float:
    big = pd.concat([rows] * (n // len(rows) + 1), ignore_index=True).head(n)
    model.predict(big.head(1000))  # warm up
    started = time.perf_counter()
    model.predict(big)
    return n / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring")
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=5, help="how many of the best models to time")
    parser.add_argument("--train", default=str(DATA / "wine_quality_train.csv"))
    parser.add_argument("--test", default=str(DATA / "wine_quality_test.csv"))
    parser.add_argument("--target", default="quality")
    args = parser.parse_args(argv)
    train, test = pd.read_csv(args.train), pd.read_csv(args.test)
    aml = AutoML(max_runtime_secs=args.budget, seed=1).fit(train, args.target)
    rows = test.drop(columns=[args.target])
    print(f"{'model':34s} {'one row median':>15s} {'p95':>8s} {'rows/s':>12s}")
    for entry in aml.leaderboard[:args.models]:
        model = aml.get_model(entry["model_id"])
        median, p95 = single_row_ms(model, rows)
        rate = rows_per_second(model, rows, args.rows)
        print(f"{entry['model_id']:34s} {median:12.1f} ms {p95:6.1f} ms {rate:12,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
