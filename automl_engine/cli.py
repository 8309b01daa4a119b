"""Command line: ``python -m automl_engine train ...`` and ``python -m automl_engine predict ...``."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from .automl import AutoML
from .errors import DataError
from .io import read_csv
from .metrics import COLUMNS
from .model_file import load_model, save_model


def _csv_list(value: str | None):
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m automl_engine", description="Train and use AutoML models.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train models on a CSV file and rank them")
    train.add_argument("data")
    train.add_argument("--target", required=True)
    train.add_argument("--test")
    train.add_argument("--task", default="auto", choices=["auto", "regression", "binary", "multiclass"])
    train.add_argument("--max-models", type=int)
    train.add_argument("--max-runtime-secs", type=float)
    train.add_argument("--nfolds", type=int, default=5)
    train.add_argument("--seed", type=int, default=1)
    train.add_argument("--sort-metric")
    train.add_argument("--include-algos")
    train.add_argument("--exclude-algos")
    train.add_argument("--ignore-columns", help="columns not to learn from, comma-separated")
    train.add_argument("--keep-columns", help="columns to learn from although they look like IDs, comma-separated")
    train.add_argument("--out", help="write the leader's model file here")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    predict = sub.add_parser("predict", help="score a CSV file with a model file")
    predict.add_argument("model")
    predict.add_argument("data")
    predict.add_argument("--out", help="write predictions to this CSV file (default: standard output)")
    return parser


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _print_table(aml: AutoML) -> None:
    cols = ["model_id"] + list(COLUMNS[aml.task_]) + ["training_time_ms", "predict_time_per_row_ms"]
    widths = [max(len(r["model_id"]) for r in aml.leaderboard) + 2] + [max(len(c) + 2, 12) for c in cols[1:]]
    print(f"Task: {aml.task_} ({aml.task_reason_})  sorted by {aml.sort_metric_}")
    print(f"Validation: {aml.validation_.describe()} ({aml.validation_.reason})")
    print("".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in aml.leaderboard:
        cells = [row["model_id"]] + ["-" if row.get(c) is None else f"{row[c]:.6g}" for c in cols[1:]]
        print("".join(c.ljust(w) for c, w in zip(cells, widths)))


def train(args) -> int:
    started = time.time()  # the budget counts reading the file
    frame = read_csv(args.data)
    test = read_csv(args.test) if args.test else None
    aml = AutoML(max_models=args.max_models, max_runtime_secs=args.max_runtime_secs, nfolds=args.nfolds,
                 seed=args.seed, sort_metric=args.sort_metric, include_algos=_csv_list(args.include_algos),
                 exclude_algos=_csv_list(args.exclude_algos), task=args.task, started_at=started,
                 ignore_columns=_csv_list(args.ignore_columns), keep_columns=_csv_list(args.keep_columns))
    aml.fit(frame, args.target, test_frame=test)
    if args.out:
        save_model(aml.leader, args.out)
    if args.json:
        out = {"task": aml.task_, "sort_metric": aml.sort_metric_, "leaderboard": aml.leaderboard,
               "leader": aml.leader.model_id, "elapsed_s": aml.elapsed(),
               "validation": aml.validation_.to_dict(),
               "failures": [{k: f[k] for k in ("model_id", "algo", "error")} for f in aml.failures]}
        if test is not None:
            out["test_metrics"] = aml.leader.test_metrics
        print(json.dumps(_clean(out)))
    else:
        _print_table(aml)
        if test is not None:
            print(f"Leader {aml.leader.model_id} on the test file: {aml.leader.test_metrics}")
        if args.out:
            print(f"Leader saved to {args.out}")
    return 0


def predict(args) -> int:
    model = load_model(args.model)
    frame = read_csv(args.data)
    problems = model.check_input(frame)
    if problems["missing"]:
        print("warning: missing columns filled as unknown: " + ", ".join(problems["missing"]), file=sys.stderr)
    preds = model.predict(frame)
    if args.out:
        preds.to_csv(args.out, index=False)
    else:
        preds.to_csv(sys.stdout, index=False)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return train(args) if args.command == "train" else predict(args)
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
