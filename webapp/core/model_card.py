"""A model's card and its export: what a person needs to trust and use a model without the app.

The card is one page a non-expert can read and print: what is predicted from what, the data and
what was done about it, how good the model is in words and figures, what drives it, how it ranked,
what it should not be used for (the ranges and categories it has seen), and how to use it. It is
self-contained (inline styles, static bars, no script) so it also works as a downloaded file.

The export is a zip to use the model elsewhere: the model as an ONNX file (any language, with
ONNX Runtime alone) when it can be written as one, the Python model file, a requirements.txt
pinned to the versions that trained it, a README with sample code (ONNX, Python, and the app's
scoring endpoint), an example input row, and the card.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import pandas as pd
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from automl_engine.model import PIP_NAMES, library_versions
from automl_engine.onnx_export import NotConvertible, checked_onnx, input_type

from . import drift, services
from .insights import score_sentences
from .models import Experiment, ModelResult
from .status import leaderboard_rows, run_info
from .wording import algo_name, metric_columns, metric_name, number

TASK_KINDS = {"regression": "a number", "binary": "one of two outcomes", "multiclass": "one of several classes"}
TOP_DRIVERS = 10
TOP_MODELS = 5
SHOWN_CATEGORIES = 12
PINNED = ("numpy", "pandas", "scikit-learn", "lightgbm", "catboost", "xgboost", "scipy", "joblib")
ONNX_FILE = "model.onnx"
ONNX_MISSING = "ONNX_NOT_INCLUDED.txt"


def _drivers(result: ModelResult) -> list[dict]:
    rows = ((result.explanation or {}).get("variable_importance") or [])[:TOP_DRIVERS]
    return [{"feature": r["feature"], "importance": r["importance"], "width": max(1, round(100 * r["importance"]))}
            for r in rows]


def _seen(experiment: Experiment, model) -> list[dict]:
    """What the model has seen, per column: the range of numbers, or the categories."""
    try:
        profile = drift.cached_profile(experiment, model)
    except Exception:  # the training file is unreadable: the card goes on without this part
        return []
    out = []
    for column, entry in profile.items():
        if entry["kind"] == "numeric":
            text = f"from {number(entry['min'])} to {number(entry['max'])}"
        else:
            cats = list(entry["shares"])
            more = len(entry["known"]) - min(len(cats), SHOWN_CATEGORIES)
            text = ", ".join(cats[:SHOWN_CATEGORIES]) + (f" and {more} more" if more > 0 else "")
        if entry.get("missing"):
            text += f" ({entry['missing']:.0%} missing)"
        out.append({"column": column, "kind": entry["kind"], "seen": text})
    return out


def card_context(experiment: Experiment, result: ModelResult, base_url: str = "") -> dict:
    model = services.load_result_model(result)
    info = run_info(experiment)
    metric = experiment.sort_metric
    board = [{"rank": r["rank"], "model_id": r["model_id"], "algo_name": r["algo_name"],
              "score": number(r.get(metric), 4), "is_this": r["model_id"] == result.model_id}
             for r in leaderboard_rows(experiment)[:TOP_MODELS]]
    measures = [{"name": metric_name(m), "cv": number((result.metrics or {}).get(m), 4),
                 "test": number((result.test_metrics or {}).get(m), 4) if result.test_metrics else None}
                for m in metric_columns(experiment.task)]
    endpoint = base_url + reverse("api-model-predict", args=[experiment.pk, result.model_id])
    return {
        "experiment": experiment, "result": result, "algo_name": algo_name(result.algo),
        "task_kind": TASK_KINDS.get(experiment.task, experiment.task), "features": model.features,
        "dropped": info["dropped_columns"], "warnings": info["warnings"], "dropped_rows": info["dropped_rows"],
        "rows_used": f"{info['n_rows']:,}" if info["n_rows"] else None, "data_rows": f"{experiment.dataset.n_rows:,}", "validation": info["validation"], "sentences": score_sentences(experiment, result),
        "metric_name": metric_name(metric), "measures": measures, "has_test": bool(result.test_metrics),
        "drivers": _drivers(result), "board": board, "seen": _seen(experiment, model),
        "is_leader": result.model_id == experiment.leader_model_id, "endpoint": endpoint,
        "file_name": f"{experiment.pk}_{result.model_id}.automl",
        "created": timezone.now(),
    }


def render_card(experiment: Experiment, result: ModelResult, base_url: str = "") -> str:
    return render_to_string("model_card.html", card_context(experiment, result, base_url))


def requirements(versions: dict) -> str:
    versions = {**library_versions(), **{k: v for k, v in (versions or {}).items() if v}}
    lines = ["# The libraries at the versions that trained this model.",
             "# The engine itself: pip install /path/to/a/copy/of/the/app (it is a package), or a wheel of it.",
             f"automl-engine=={versions.get('automl-engine', '0')}"]
    lines += [f"{PIP_NAMES.get(name, name)}=={versions[name]}" for name in PINNED if versions.get(name)]
    return "\n".join(lines) + "\n"


def example_row(experiment: Experiment, model) -> dict:
    """One row of the training data as the model takes it (the target left out)."""
    from .explanations import training_rows

    row = training_rows(experiment)[model.features].head(1)
    return json.loads(row.to_json(orient="records", date_format="iso"))[0]


def onnx_file(experiment: Experiment, model) -> tuple[bytes | None, str]:
    """The model's ONNX file, checked against the Python model on training rows; or None and why not."""
    from .explanations import training_rows

    try:
        return checked_onnx(model, training_rows(experiment)), ""
    except NotConvertible as exc:
        return None, f"This model has no ONNX file: {exc}."
    except Exception as exc:  # an unexpected converter error must not cost the user the rest of the export
        return None, f"This model has no ONNX file: writing it failed ({exc.__class__.__name__}: {exc})."


def onnx_section(model, reason: str) -> str:
    """The README's ONNX part: the inputs and outputs, and sample code with onnxruntime alone."""
    if reason:
        return (f"{reason} The Python model file below works, and the app's scoring endpoint serves the model "
                "to any language over HTTP.")
    rows = "\n".join(f"| `{c}` | {model.feature_kinds.get(c)} | {input_type(model.feature_kinds.get(c))} |"
                     for c in model.features)
    dates = [c for c in model.features if model.feature_kinds.get(c) == "datetime"]
    outputs = ("`predict`: the predicted number." if model.task == "regression" else
               "`predict`: the predicted class; `probabilities`: one column per class, in this order: "
               + ", ".join(f"`{c}`" for c in model.classes) + ".")
    return f"""`{ONNX_FILE}` is the whole model, preparation of the columns included. It runs with ONNX Runtime
alone (Python, C#, Java, JavaScript, C++ ...), without this app, its engine or Python's scikit-learn
and LightGBM. It was checked to give the same predictions as the Python model on the training rows.

Inputs: one per column, by name, each of shape [rows, 1]:

| column | kind | ONNX type |
|---|---|---|
{rows}

Missing values: NaN for numbers and dates, an empty string for the others. Dates are given as
seconds since 1970-01-01 00:00, the time as written (drop any time zone). Yes/no and category
values are matched as text, so write them as in the training file.

Outputs: {outputs}

    pip install onnxruntime pandas

    import numpy as np, pandas as pd, onnxruntime as ort

    DATES = {dates!r}
    session = ort.InferenceSession("{ONNX_FILE}")
    rows = pd.read_csv("example.csv")     # or your own rows, with the same columns

    def column(name, kind):
        values = rows[name] if name in rows else pd.Series([None] * len(rows), dtype=object)
        if name in DATES:
            when = pd.to_datetime(values, errors="coerce", format="mixed")
            values = (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
        if kind == "tensor(double)":
            return pd.to_numeric(values, errors="coerce").to_numpy(float).reshape(-1, 1)
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
        return text.to_numpy(object).reshape(-1, 1)

    feed = {{i.name: column(i.name, i.type) for i in session.get_inputs()}}
    names = [o.name for o in session.get_outputs()]
    print(dict(zip(names, session.run(None, feed))))
"""


def readme(experiment: Experiment, result: ModelResult, row: dict, endpoint: str, onnx: str) -> str:
    name = f"{experiment.pk}_{result.model_id}.automl"
    body = json.dumps({"rows": [row]}, ensure_ascii=False).replace("'", "'\\''")  # inside '...' in a shell
    return f"""# {result.model_id}: predicts {experiment.target}

{algo_name(result.algo)}, from the experiment "{experiment}". `model_card.html` says what it does,
how good it is and what it should not be used for.

## ONNX: any language, no Python needed

{onnx}

## In Python, with this app's engine

    python -m venv venv && . venv/bin/activate
    pip install -r requirements.txt        # the engine: see the first lines of requirements.txt

    import pandas as pd
    from automl_engine import load_model

    model = load_model("{name}")
    print(model.predict(pd.read_csv("example.csv")))   # or your own rows, with the same columns

The model file is a pickle: load only files you trust.

## From any language, over HTTP

With an API token from the app (Account, API tokens):

    curl -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" \\
         -d '{body}' \\
         {endpoint}

The answer has `predictions` (with class probabilities for a classifier), `notes` on missing or
unexpected values, and `drift` when enough rows are sent.
"""


def export_zip(experiment: Experiment, result: ModelResult, base_url: str = "") -> bytes:
    model = services.load_result_model(result)
    versions = run_info(experiment)["library_versions"]
    endpoint = base_url + reverse("api-model-predict", args=[experiment.pk, result.model_id])
    row = example_row(experiment, model)
    onnx, reason = onnx_file(experiment, model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        with default_storage.open(result.file.name, "rb") as fh:
            zf.writestr(f"{experiment.pk}_{result.model_id}.automl", fh.read())
        if onnx is not None:
            zf.writestr(ONNX_FILE, onnx)
        else:
            zf.writestr(ONNX_MISSING, reason + "\n")
        zf.writestr("requirements.txt", requirements(versions))
        zf.writestr("README.md", readme(experiment, result, row, endpoint, onnx_section(model, reason)))
        zf.writestr("example_row.json", json.dumps(row, indent=2, ensure_ascii=False) + "\n")
        zf.writestr("example.csv", pd.DataFrame([row]).to_csv(index=False))
        zf.writestr("model_card.html", render_card(experiment, result, base_url))
    return buffer.getvalue()


def export_name(experiment: Experiment, result: ModelResult) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{experiment.pk}_{result.model_id}_export.zip")
