"""LightGBM calls side by side: only with the same number of threads (else LightGBM can crash).

LightGBM keeps its number of threads in one process-wide setting that each call sets; a prediction
without ``num_threads`` resets it to all cores while a one-thread fold trains in the next thread.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np

from automl_engine.families.gbm import LIGHTGBM_THREADS, LGBMEstimator


def _call(threads: int, name: str, order: list, inside: threading.Event = None, release: threading.Event = None):
    def run():
        with LIGHTGBM_THREADS.use(threads):
            order.append(name + " in")
            if inside is not None:
                inside.set()
                release.wait(10)
            order.append(name + " out")
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_calls_with_the_same_thread_count_overlap_and_another_count_waits_its_turn():
    order, inside, release = [], threading.Event(), threading.Event()
    fit = _call(1, "one-thread fit", order, inside, release)
    assert inside.wait(10)
    _call(1, "one-thread prediction", order).join(10)  # the same count goes in beside the fit
    assert order == ["one-thread fit in", "one-thread prediction in", "one-thread prediction out"]
    two = _call(2, "two-thread prediction", order)
    two.join(0.5)
    assert two.is_alive()  # another count waits while the fit runs
    later = _call(1, "later one-thread call", order)
    later.join(0.5)
    assert later.is_alive()  # and is not overtaken by calls that came after it
    release.set()
    for thread in (fit, two, later):
        thread.join(10)
    assert order[3:] == ["one-thread fit out", "two-thread prediction in", "two-thread prediction out",
                         "later one-thread call in", "later one-thread call out"]


def test_predictions_keep_the_models_thread_count():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + rng.normal(scale=0.1, size=300)
    model = LGBMEstimator(task="regression", n_estimators=20, n_jobs=1).fit(X, y)
    seen = []
    booster_predict = model.booster_.predict
    model.booster_.predict = lambda data, **kwargs: seen.append(kwargs) or booster_predict(data, **kwargs)
    model.predict(X[:5])
    assert seen and seen[0]["num_threads"] == 1


RACE = textwrap.dedent("""
    import threading
    import numpy as np
    from automl_engine.families.gbm import LGBMEstimator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 30))
    y = X[:, 0] + rng.normal(size=len(X))
    two = LGBMEstimator(task="regression", n_estimators=10, n_jobs=2).fit(X[:2000], y[:2000])
    done = threading.Event()

    def predict_beside():
        while not done.is_set():
            two.predict(X[:50])

    beside = threading.Thread(target=predict_beside)
    beside.start()
    for seed in range(20):
        params = {"bagging_fraction": 0.8, "bagging_freq": 1}
        LGBMEstimator(task="regression", params=params, n_estimators=30, n_jobs=1, random_state=seed).fit(X, y)
    done.set()
    beside.join()
    print("trained")
""")


def test_a_fit_beside_predictions_of_a_model_with_more_threads_finishes():
    """The pattern that crashed: one-thread fits while another model predicts on two threads."""
    run = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "trained"
