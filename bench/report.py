"""A results file as Markdown: one row per dataset, the best tool in bold, and the AMLB summary.

    python -m bench.report RESULTS.json [--budget 60]

Reads what ``python -m bench --json`` wrote; prints the tables docs/BENCHMARK.md carries.
"""
from __future__ import annotations

import argparse
import json
import sys

from .datasets import get_spec
from .summary import error, has_result, summarize

ARROW = {"auc": "↑", "logloss": "↓", "rmse": "↓"}


def _cell(result: dict | None, best: bool) -> str:
    if not has_result(result):
        return "no model" if result else "–"
    value = f"{result['metric']:.4g}" if abs(result["metric"]) >= 1 else f"{result['metric']:.4f}"
    text = f"**{value}**" if best else value
    return f"{text} ({result['wall_s']:.0f} s, {result.get('models', '?')} models, {result['peak_mb']:.0f} MB)"


def table(results: dict, tools: list[str]) -> list[str]:
    lines = ["| dataset | metric | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    for name, by_tool in results.items():
        metric = get_spec(name).metric
        ok = {t: r for t, r in by_tool.items() if has_result(r)}
        best = min(ok, key=lambda t: error(metric, ok[t]["metric"])) if ok else None
        lines.append(f"| {name} | {metric} {ARROW[metric]} | "
                     + " | ".join(_cell(by_tool.get(t), t == best) for t in tools) + " |")
    return lines


def summary_table(results: dict, tools: list[str]) -> list[str]:
    summary, covered = summarize(results, {name: get_spec(name).metric for name in results}, tools)
    lines = [f"Over {len(covered)} datasets (rank 1 = best; normalized: 0 = a constant predictor, 1 = the best tool):",
             "", "| tool | mean rank | mean normalized score | within 2% of the best | no model |", "|---|---|---|---|---|"]
    for tool, s in summary.items():
        lines.append(f"| {tool} | {s.mean_rank:.2f} | {s.mean_normalized:.3f} | {s.within_best} of {len(covered)} | "
                     f"{s.no_model} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("results")
    parser.add_argument("--tools", default="automl_engine,h2o,flaml,autogluon")
    args = parser.parse_args(argv)
    with open(args.results) as fh:
        results = json.load(fh)
    tools = args.tools.split(",")
    print("\n".join(table(results, tools) + [""] + summary_table(results, tools)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
