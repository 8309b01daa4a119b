"""Does a whole experiment end within the budget the user chose? Measured through the API.

    python -m bench.api_budget [--budget 60] [--datasets wine_quality,titanic,...]

For each dataset: upload it and start an experiment with ``max_runtime_secs`` through the JSON API
(Django's test client, on a throw-away SQLite database and data folder), run it as a worker does
(``webapp.core.runs.run_experiment``, in this process), and print the time from the worker picking it
up to "succeeded" with its charts, against the budget (the goal: at most budget + 5%). Asserts nothing.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_budget")
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--datasets", default="wine_quality,credit_card,titanic,car_evaluation,diamonds,bike_sharing_hour")
    args = parser.parse_args(argv)
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="api-budget-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from webapp.core import runs
    from webapp.core.models import Experiment

    from .datasets import get_spec, load

    user = get_user_model().objects.create_user("bench", password="a-long-passphrase-9")
    client = Client()
    client.force_login(user)
    print(f"{'dataset':20} {'budget':>7} {'worker to succeeded':>20} {'ratio':>6}  models")
    for name in args.datasets.split(","):
        spec = get_spec(name)
        train, _ = load(spec)
        buffer = io.BytesIO(train.to_csv(index=False).encode())
        dataset = client.post("/api/datasets/", {"file": SimpleUploadedFile(f"{name}.csv", buffer.getvalue())}).json()
        body = {"dataset": dataset["id"], "target": spec.target, "task": spec.task, "max_runtime_secs": args.budget}
        created = client.post("/api/experiments/", body, content_type="application/json").json()
        started = time.time()
        runs.run_experiment(created["id"], "bench")
        wall = time.time() - started
        state = client.get(f"/api/experiments/{created['id']}/").json()
        row = Experiment.objects.get(pk=created["id"])
        span = (row.finished_at - row.started_at).total_seconds()
        print(f"{name:20} {args.budget:6d}s {span:18.1f} s {span / args.budget:6.2f}  {len(state['leaderboard'])}"
              f"  (status {state['status']}, in-process {wall:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
