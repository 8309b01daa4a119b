"""Benchmark: our engine against H2O AutoML, FLAML and AutoGluon on the same splits and budget.

    python -m bench [--budget 60] [--datasets wine_quality,titanic] [--frameworks automl_engine,h2o]

Each framework runs in its own process, one after another. Printed per dataset: the test metric,
models trained, wall time (whole process, imports included) and peak memory of the process tree.
Frameworks that are not installed are skipped (see requirements-bench.txt).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time

from .datasets import SPECS
from .runners import FRAMEWORKS, MODULES


def _tree_rss(proc) -> int:
    try:
        import psutil
    except ImportError:
        return 0
    try:
        root = psutil.Process(proc.pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


def run_one(framework: str, dataset: str, budget: float, seed: int, timeout: float) -> dict:
    started, peak = time.time(), 0
    proc = subprocess.Popen([sys.executable, "-m", "bench.child", framework, dataset, str(budget), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc))
        if time.time() - started > timeout:
            proc.kill()
            break
        time.sleep(0.2)
    out, err = proc.communicate()
    wall = time.time() - started
    for line in out.splitlines():
        if line.startswith("BENCH-RESULT "):
            result = json.loads(line[len("BENCH-RESULT "):])
            result.update(wall_s=wall, peak_mb=peak / 2**20)
            return result
    return {"error": (err.strip().splitlines() or ["no output"])[-1][:200], "wall_s": wall, "peak_mb": peak / 2**20}


def installed(framework: str) -> bool:
    try:
        return importlib.util.find_spec(MODULES[framework]) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--datasets", default=",".join(SPECS))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write all results to this file")
    args = parser.parse_args(argv)
    frameworks = [f for f in args.frameworks.split(",") if f in FRAMEWORKS and installed(f)]
    skipped = [f for f in args.frameworks.split(",") if f not in frameworks]
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}")
    results = {}
    for name in args.datasets.split(","):
        spec = SPECS[name]
        for fw in frameworks:
            r = run_one(fw, name, args.budget, args.seed, timeout=args.budget * 4 + 120)
            results.setdefault(name, {})[fw] = r
            print(_line(spec, fw, r), flush=True)
        print(_ratios(spec, results[name], frameworks), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


def _line(spec, fw, r) -> str:
    if "error" in r:
        return f"{spec.name:18} {fw:14} failed: {r['error']}"
    return (f"{spec.name:18} {fw:14} {spec.metric} {r['metric']:.5g}  models {r['models']:3}  "
            f"wall {r['wall_s']:5.1f} s  peak {r['peak_mb']:6.0f} MB  leader {r['leader']}")


def _ratios(spec, rows: dict, frameworks) -> str:
    ours = rows.get("automl_engine")
    if not ours or "error" in ours:
        return ""
    parts = []
    for fw in frameworks:
        other = rows.get(fw)
        if fw == "automl_engine" or not other or "error" in other:
            continue
        quality = ours["metric"] / other["metric"]
        parts.append(f"vs {fw}: {spec.metric} ratio {quality:.3f} ({'higher' if spec.higher_is_better else 'lower'}"
                     f" is better), wall ratio {ours['wall_s'] / other['wall_s']:.2f}, "
                     f"memory ratio {ours['peak_mb'] / max(other['peak_mb'], 1):.2f}")
    return "    " + "; ".join(parts) if parts else ""


if __name__ == "__main__":
    sys.exit(main())
