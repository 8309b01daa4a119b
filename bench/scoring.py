"""How fast a trained model answers: one row at a time (latency) and a large batch (throughput).

    python -m bench.scoring [--budget 60] [--rows 100000] [--train FILE --target COLUMN]

Trains on the wine quality table (tests/data, or --train) for ``--budget`` seconds, then for the
leader and each of the next best models: the median and 95th percentile time to predict one row
(a fresh one-row frame each call, as the JSON endpoint does), and rows per second on ``--rows``
rows (the test file repeated); the same through the model's ONNX file and onnxruntime. Prints the
figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from automl_engine import AutoML
from automl_engine.onnx_export import NotConvertible, onnx_inputs, to_onnx

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SINGLE_CALLS = 200


class OnnxScorer:
    """The model's ONNX file in an onnxruntime session, scoring a frame like ``model.predict``."""

    def __init__(self, model):
        import onnxruntime

        self.model = model
        self.session = onnxruntime.InferenceSession(to_onnx(model).SerializeToString(),
                                                    providers=["CPUExecutionProvider"])

    def predict(self, frame: pd.DataFrame):
        return self.session.run(None, onnx_inputs(self.model, frame))


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


def figures(model, rows: pd.DataFrame, n: int) -> str:
    median, p95 = single_row_ms(model, rows)
    return f"{median:9.1f} ms {p95:7.1f} ms {rows_per_second(model, rows, n):10,.0f}"


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
    head = f"{'one row':>12s} {'p95':>10s} {'rows/s':>10s}"
    print(f"{'':34s} {'Python model':^34s}   {'ONNX, onnxruntime':^34s}")
    print(f"{'model':34s} {head}   {head}")
    for entry in aml.leaderboard[:args.models]:
        model = aml.get_model(entry["model_id"])
        try:
            onnx = figures(OnnxScorer(model), rows, args.rows)
        except NotConvertible as exc:
            onnx = f"no ONNX form: {exc}"
        print(f"{entry['model_id']:34s} {figures(model, rows, args.rows)}   {onnx}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
