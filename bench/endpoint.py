"""How fast the app's scoring endpoint answers one row, through ONNX Runtime and through Python.

    python -m bench.endpoint [--budget 60] [--calls 200]

Runs the app in this process on a fresh SQLite database in a temporary folder (the embedded
defaults): uploads the wine quality table, trains an experiment for ``--budget`` seconds, then
posts one row at a time to ``POST /api/experiments/{id}/models/{model_id}/predict/`` for the
leader and the next best models, with the ONNX path on and then off. Prints the median and 95th
percentile of the whole request (authentication, notes and JSON included); asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def timed_calls(client, url: str, rows: list[dict], calls: int) -> tuple[float, float]:
    times = []
    for i in range(calls):
        body = json.dumps({"rows": [rows[i % len(rows)]]})
        started = time.perf_counter()
        response = client.post(url, body, content_type="application/json")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    return float(np.median(times)), float(np.percentile(times, 95))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint")
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--models", type=int, default=4)
    args = parser.parse_args(argv)
    setup_django(tempfile.mkdtemp(prefix="automl-bench-"))
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from webapp.core import json_scoring, runs
    from webapp.core.models import ApiToken

    user = get_user_model().objects.create_user("bench", password="bench-pass-123")
    client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)[1]}")
    train = (DATA / "wine_quality_train.csv").read_bytes()
    dataset = client.post("/api/datasets/", {"file": SimpleUploadedFile("wine.csv", train)}).json()["id"]
    body = {"dataset": dataset, "target": "quality", "max_runtime_secs": args.budget}
    experiment = client.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    runs.run_experiment(experiment, "bench")
    entries = client.get(f"/api/experiments/{experiment}/").json()["leaderboard"]
    rows = pd.read_csv(DATA / "wine_quality_test.csv").drop(columns=["quality"]).to_dict(orient="records")
    print(f"{'model':34s} {'ONNX median':>12s} {'p95':>8s}   {'Python median':>14s} {'p95':>8s}")
    for entry in entries[:args.models]:
        url = f"/api/experiments/{experiment}/models/{entry['model_id']}/predict/"
        timed_calls(client, url, rows, 3)  # loads the model (and writes its ONNX form) once
        onnx = timed_calls(client, url, rows, args.calls)
        saved, json_scoring.ONNX_ROWS = json_scoring.ONNX_ROWS, 0
        python = timed_calls(client, url, rows, args.calls)
        json_scoring.ONNX_ROWS = saved
        print(f"{entry['model_id']:34s} {onnx[0]:9.1f} ms {onnx[1]:5.1f} ms   {python[0]:11.1f} ms {python[1]:5.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
