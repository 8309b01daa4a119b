"""Plain words for the dashboard: algorithm and metric names, errors, and a model's score in a sentence."""
from __future__ import annotations

import math
import re

from automl_engine.families import LABELS
from automl_engine.metrics import COLUMNS, HIGHER_IS_BETTER

ALGO_NAMES = LABELS  # the family registry names each family

METRIC_NAMES = {
    "rmse": "RMSE",
    "mse": "MSE",
    "mae": "MAE",
    "rmsle": "RMSLE",
    "mean_residual_deviance": "Deviance",
    "auc": "AUC",
    "logloss": "Log loss",
    "aucpr": "AUC-PR",
    "mean_per_class_error": "Mean per-class error",
}

METRIC_HELP = {
    "rmse": "Typical size of an error, in the target's units (root mean squared error). Lower is better.",
    "mse": "Mean squared error: the square of RMSE. Lower is better.",
    "mae": "Average size of an error, in the target's units (mean absolute error). Lower is better.",
    "rmsle": "Like RMSE but on a log scale, so it measures relative errors. Lower is better.",
    "mean_residual_deviance": "For regression, the same as MSE (H2O's name). Lower is better.",
    "auc": "How well the model ranks positives above negatives: 1 is perfect, 0.5 is guessing. Higher is better.",
    "logloss": "How confident and right the predicted probabilities are. Lower is better.",
    "aucpr": "Area under the precision-recall curve; useful when the positive class is rare. Higher is better.",
    "mean_per_class_error": "Share of rows classified wrongly, averaged over the classes. Lower is better.",
}

TASK_NAMES = {"regression": "predict a number (regression)", "binary": "predict one of two outcomes (binary)",
              "multiclass": "predict a category (multiclass)", "auto": "decided when the run starts"}

_EXCEPTION_PREFIX = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning|Exit)\s*:\s*")


_EXCEPTION_NAME = re.compile(r"\b(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception)\s*:\s*")


def without_exception_names(text: str) -> str:
    """'GBM_1 failed: ValueError: bad input' -> 'GBM_1 failed: bad input'."""
    return _EXCEPTION_NAME.sub("", text or "")


def algo_name(algo: str) -> str:
    return ALGO_NAMES.get(algo, algo)


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


def metric_columns(task: str) -> tuple[str, ...]:
    return COLUMNS.get(task, ())


def plain_error(text: str | None) -> str:
    """An error message without the Python exception class in front ("ValueError: ...")."""
    text = (text or "").strip()
    if text.startswith("Traceback"):  # keep only the last line, the error itself
        text = [line for line in text.splitlines() if line.strip()][-1].strip()
    stripped = _EXCEPTION_PREFIX.sub("", text, count=1).strip()
    if not stripped:
        return "It stopped with an unexpected error."
    first_line = stripped.splitlines()[0]
    return first_line[:400]


def number(value, digits: int = 3) -> str:
    """A short, readable number: 0.5734 -> '0.573', 1234.5 -> '1,234', 0.000123 -> '0.000123'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits:
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def score_in_words(task: str, metrics: dict, target: str, *, labels: list | None = None,
                   baseline_mae: float | None = None, baseline_mean: float | None = None) -> list[str]:
    """One to three sentences saying how good a model is, for someone without ML training."""
    metrics = metrics or {}
    out: list[str] = []
    if task == "regression":
        mae, rmse = metrics.get("mae"), metrics.get("rmse")
        if mae is not None:
            out.append(f"Predicts {target} within ±{number(mae, 2)} on average.")
        if rmse is not None:
            out.append(f"Typical error (RMSE): ±{number(rmse, 2)}; bigger misses count more in this measure.")
        if baseline_mae is not None and mae is not None and baseline_mae > 0:
            gain = 1 - mae / baseline_mae
            out.append(f"Always guessing the average ({number(baseline_mean)}) would be off by "
                       f"±{number(baseline_mae, 2)}, so the model's errors are {percent(max(gain, 0))} smaller.")
        return out
    mpce = metrics.get("mean_per_class_error")
    if task == "binary":
        auc = metrics.get("auc")
        if auc is not None:
            if labels and len(labels) == 2:
                pos, neg = labels[1], labels[0]
                out.append(f"Tells the two outcomes apart: it ranks a random '{pos}' row above a random '{neg}' "
                           f"row {percent(auc)} of the time (AUC {number(auc)}; 50% would be guessing).")
            else:
                out.append(f"Tells the two outcomes apart {percent(auc)} of the time (AUC {number(auc)}; "
                           "50% would be guessing).")
        if mpce is not None:
            out.append(f"Gets {percent(1 - mpce)} of rows right, averaged over the two outcomes.")
        return out
    if mpce is not None:
        n = f" {len(labels)}" if labels else ""
        out.append(f"Picks the right {target} for {percent(1 - mpce)} of rows, averaged over the{n} classes.")
    logloss = metrics.get("logloss")
    if logloss is not None:
        out.append(f"Log loss {number(logloss)}: lower means more confident, correct probabilities.")
    return out


def short_score(task: str, metrics: dict | None) -> str:
    """A few words for lists: '±0.46 on average', 'AUC 0.874', '96% right per class'."""
    metrics = metrics or {}
    if task == "regression" and metrics.get("mae") is not None:
        return f"±{number(metrics['mae'], 2)} on average"
    if task == "binary" and metrics.get("auc") is not None:
        return f"AUC {number(metrics['auc'])}"
    if metrics.get("mean_per_class_error") is not None:
        return f"{percent(1 - metrics['mean_per_class_error'])} right per class"
    return ""
