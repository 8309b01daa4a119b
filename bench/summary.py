"""The summary over many datasets, after the AutoML Benchmark (AMLB): mean rank and mean normalized score.

Per dataset every tool gets a rank by test error (1 = best; ties share the mean of their places; a tool
without a result ranks last, at the number of tools), a normalized score (0 = a constant predictor,
1 = the best tool; a tool without a result counts as the constant predictor, 0), and whether its error is
within 2% of the best tool's. Only datasets where at least one tool has a result count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

WITHIN = 1.02  # "as good as the best": error at most 2% above the best tool's error


@dataclass
class ToolSummary:
    ranks: list = field(default_factory=list)
    normalized: list = field(default_factory=list)
    within_best: int = 0
    no_model: int = 0

    @property
    def mean_rank(self) -> float:
        return _mean(self.ranks)

    @property
    def mean_normalized(self) -> float:
        return _mean(self.normalized)


def error(metric: str, value: float) -> float:
    """Lower is better for every metric: 1 - AUC, log loss, RMSE."""
    return 1 - value if metric == "auc" else value


def has_result(result: dict | None) -> bool:
    return bool(result) and "metric" in result and math.isfinite(result["metric"])


def ranks(errors: dict[str, float | None]) -> dict[str, float]:
    """Rank by error, 1 = lowest; tied tools share the mean of their places; no result (None) ranks last."""
    done = sorted(e for e in errors.values() if e is not None)
    worst = float(len(errors))
    out = {}
    for tool, e in errors.items():
        if e is None:
            out[tool] = worst
        else:
            first = done.index(e) + 1
            out[tool] = first + (done.count(e) - 1) / 2
    return out


def normalized(value: float, baseline: float, best: float) -> float:
    """0 at the constant predictor's score, 1 at the best tool's; the same formula whichever way the metric points."""
    if best == baseline:
        return 0.0
    return (value - baseline) / (best - baseline)


def summarize(results: dict, metrics: dict[str, str], tools: list[str]) -> tuple[dict[str, ToolSummary], list[str]]:
    """Per tool its summary, and the datasets it covers (those where at least one tool has a result).

    ``results[dataset][tool]`` is a result dict (``metric``, ``baseline``) or one with ``error``;
    ``metrics[dataset]`` is auc, logloss or rmse.
    """
    summary = {tool: ToolSummary() for tool in tools}
    covered = []
    for dataset, metric in metrics.items():
        by_tool = {tool: results.get(dataset, {}).get(tool) for tool in tools}
        ok = {tool: r for tool, r in by_tool.items() if has_result(r)}
        for tool in tools:
            summary[tool].no_model += tool not in ok
        if not ok:
            continue
        covered.append(dataset)
        errors = {tool: error(metric, ok[tool]["metric"]) if tool in ok else None for tool in tools}
        best_tool = min(ok, key=lambda t: errors[t])
        baseline = next((r["baseline"] for r in ok.values() if r.get("baseline") is not None), None)
        for tool, rank in ranks(errors).items():
            s = summary[tool]
            s.ranks.append(rank)
            if baseline is not None:
                value = ok[tool]["metric"] if tool in ok else baseline
                s.normalized.append(normalized(value, baseline, ok[best_tool]["metric"]))
            s.within_best += tool in ok and errors[tool] <= WITHIN * errors[best_tool]
    return summary, covered


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else math.nan
