"""Shared helpers for the tests: data files, small synthetic frames, a real worker process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = ROOT / "test-artifacts"


def synthetic(task: str, n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A tiny table whose target depends on its columns, with a categorical and some gaps."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.uniform(-1, 1, size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = 2 * x1 - x2 + (colour == "red") * 1.5
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour})
    frame.loc[rng.choice(n, 10, replace=False), "x2"] = np.nan
    if task == "regression":
        frame["y"] = signal + rng.normal(scale=0.3, size=n)
    elif task == "binary":
        frame["y"] = np.where(signal + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    else:
        frame["y"] = pd.cut(signal, [-np.inf, -0.5, 1.0, np.inf], labels=["low", "mid", "high"]).astype(str)
    return frame


def database_url_for_workers() -> str:
    """The test database, as a URL a worker process can open."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


class WorkerProcess:
    """A real ``celery worker`` process on the test database and broker.

    ``env`` adds environment variables (e.g. small HEARTBEAT_SECS for fault tests, or its own
    EXPERIMENT_QUEUE). The worker runs in its own process group, so :meth:`kill` can SIGKILL it
    together with its pool processes, as when a machine or container dies.
    """

    def __init__(self, name: str = "w1", concurrency: int = 1, env: dict | None = None):
        self.name = name
        self.concurrency = concurrency
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        # one log per process of a parallel test run, whose workers may share a name
        self.log_path = ARTIFACTS / f"worker-{name}{os.environ.get('PYTEST_XDIST_WORKER', '')}.log"

    def start(self, timeout: float = 60) -> "WorkerProcess":
        ARTIFACTS.mkdir(exist_ok=True)
        env = {**os.environ, "DATABASE_URL": database_url_for_workers(), "PYTHONUNBUFFERED": "1", **self.env}
        queue = env.get("EXPERIMENT_QUEUE", "experiments")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", queue,
             "-c", str(self.concurrency), "-n", f"{self.name}@%h", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if "ready." in self.log_path.read_text():
                return self
            time.sleep(0.3)
        raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _processes(self, field: int) -> list[int]:
        """Processes whose /proc stat field (1: parent, 2: process group) is the worker's pid."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[field]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (its children)."""
        return self._processes(1)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self._processes(2):  # pool processes left behind by an unclean shutdown
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if getattr(self, "_log", None) and not self._log.closed:
            self._log.close()


def wait_for(predicate, timeout: float, interval: float = 0.5, message: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
