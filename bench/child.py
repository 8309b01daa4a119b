"""Run one framework on one dataset in this process and print a JSON line (called by bench.__main__)."""
import json
import sys
import time

from .datasets import SPECS, load, score
from .runners import FRAMEWORKS


def main() -> None:
    framework, name, budget, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    spec = SPECS[name]
    train, test = load(spec)
    started = time.time()
    preds, n_models, leader = FRAMEWORKS[framework](spec, train, test, budget, seed)
    fit_s = time.time() - started
    print("BENCH-RESULT " + json.dumps({"metric": score(spec, test[spec.target], preds), "models": n_models,
                                        "leader": str(leader), "fit_s": fit_s}))


if __name__ == "__main__":
    main()
