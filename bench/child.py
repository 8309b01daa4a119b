"""Run one framework on one dataset in this process and print a JSON line (called by bench.__main__).

Besides the framework's test metric, the line carries the constant predictor's test metric on the same
split (the zero of the normalized score in the summary).
"""
import importlib
import json
import sys
import time

from .datasets import constant_predictions, get_spec, load, read_scale, score, split_seed
from .runners import FRAMEWORKS, MODULES


def main() -> None:
    framework, name, budget, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    spec = get_spec(name)
    module = importlib.import_module(MODULES[framework])  # loaded before the clock starts, as in a running worker
    if hasattr(module, "load_libraries"):
        module.load_libraries()  # the engine's model libraries too, as a worker loads them at start
    if spec.source == "scale":  # the test file is read first; the clock counts reading the training file
        test = read_scale(spec.test_file)
        clock = time.time()
        train = read_scale(spec.file)
    else:
        clock = time.time()  # the run's clock: reading the table counts, as it does for a user's upload
        train, test = load(spec)
    started = time.time()
    outcome = FRAMEWORKS[framework](spec, train, test, budget, seed, started_at=clock)
    ended = time.time()
    fit_s = ended - started
    y_test = test[spec.target]
    baseline = score(spec, y_test, constant_predictions(spec, train, len(test)))
    print("BENCH-RESULT " + json.dumps({
        "metric": score(spec, y_test, outcome.predictions), "baseline": baseline, "models": outcome.models,
        "leader": str(outcome.leader), "fit_s": fit_s, "predict_s": outcome.predict_s,
        "run_s": ended - clock - outcome.predict_s,  # the run by its own clock: reading the table and training
        "first_model_s": outcome.first_model_at - clock if outcome.first_model_at else None,
        "train_rows": len(train), "test_rows": len(test),
        "split_seed": None if spec.test_file else split_seed(),  # a table with its own test file is not split
    }), flush=True)  # before any trouble at exit


if __name__ == "__main__":
    main()
