"""Plotly figures as plain dicts, built from the engine's explanation data.

Every chart is ``{"key", "help", "data", "layout"}``: ``data`` and ``layout`` go to
``Plotly.newPlot`` as they are, ``help`` is the one line under the chart that says how to read
it. Each layout has a title and both axis titles. The module is pure (no Django, no I/O), so tests
check the figures as dicts; templates only place them.
"""
from __future__ import annotations

import html
import math

import numpy as np

from .wording import higher_is_better, metric_name, number

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
ACCENT = "#2563eb"
MUTED = "#94a3b8"
LEADER = "#15803d"
PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
           "#65a30d", "#9333ea"]
SEQUENTIAL = [[0, "#f3f6fb"], [0.5, "#7ea6e0"], [1, "#1e3a8a"]]  # light = low, dark = high
TOP_FEATURES = 15
SHAP_FEATURES = 10
HEATMAP_FEATURES = 20
CORRELATION_MODELS = 20  # the model-correlation chart shows the leaderboard's best (as H2O's does); beyond, its cells are unreadable


def _finite(value):
    """JSON-safe values: NaN and infinities become None (the browser's JSON.parse rejects them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (np.floating, np.integer)):
        return _finite(value.item())
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# Plotly draws a subset of HTML in every label, title, tick and hover text, so a column name or a
# category value such as '<a href="...">x</a>' would become a live link. Every string of a figure is
# escaped here, in one place (Plotly shows the entities as the characters they stand for); only
# the app's own line breaks and hover-box markers are put back.
OWN_MARKUP = {"&lt;br&gt;": "<br>", "&lt;extra&gt;&lt;/extra&gt;": "<extra></extra>"}


def plotly_safe(value):
    """The figure's data and layout with every string escaped for Plotly's HTML-like text."""
    if isinstance(value, str):
        text = html.escape(value, quote=False)
        for escaped, markup in OWN_MARKUP.items():
            text = text.replace(escaped, markup)
        return text
    if isinstance(value, dict):
        return {k: plotly_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plotly_safe(v) for v in value]
    return value


def chart(key: str, title: str, help_text: str, data: list, x_title: str, y_title: str, *, height: int = 380,
          xaxis: dict | None = None, yaxis: dict | None = None, title_size: int = 15, **layout) -> dict:
    """One figure with the house style: a left-aligned title, titled axes, white background."""
    base = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": title_size}},
        "xaxis": {"title": {"text": x_title}, "automargin": True, "zeroline": False, "gridcolor": "#eef1f5",
                  **(xaxis or {})},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "zeroline": False, "gridcolor": "#eef1f5",
                  **(yaxis or {})},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 48, "b": 48},
        "font": {"family": FONT, "size": 12, "color": "#1d2433"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "showlegend": False,
        "legend": {"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
    }
    base.update(layout)
    return _finite({"key": key, "help": help_text, "data": plotly_safe(data), "layout": plotly_safe(base)})


# -- the dataset page -----------------------------------------------------------------------------

def column_distribution(column: dict) -> dict | None:
    """A small bar chart of one column's values (ranges for numbers and dates, top values otherwise)."""
    dist = column.get("distribution")
    name = column["name"]
    if not dist or not dist.get("counts"):
        return None
    counts = dist["counts"]
    hover = "%{customdata}<br>%{y} rows<extra></extra>"
    if dist["kind"] == "histogram":
        edges = dist["edges"]
        x = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
        width = [b - a for a, b in zip(edges, edges[1:])]
        labels = [f"{number(a)} to {number(b)}" for a, b in zip(edges, edges[1:])]
        data = [{"type": "bar", "x": x, "y": counts, "width": width, "customdata": labels,
                 "hovertemplate": hover, "marker": {"color": ACCENT, "line": {"color": "#fff", "width": 0.5}}}]
        help_text = "Each bar counts the rows whose value falls in that range."
        xaxis = {}
    elif dist["kind"] == "dates":
        labels = dist["labels"]
        data = [{"type": "bar", "x": labels, "y": counts, "customdata": labels, "hovertemplate": hover,
                 "marker": {"color": ACCENT}}]
        help_text = "Each bar counts the rows dated in that period (starting on the date shown)."
        xaxis = {"type": "category"}
    else:
        labels = [str(v) for v in dist["labels"]]
        colors = [ACCENT] * len(labels)
        if dist.get("other"):
            labels.append(f"({dist['other_values']} others)")
            counts = counts + [dist["other"]]
            colors.append(MUTED)
        data = [{"type": "bar", "x": labels, "y": counts, "customdata": labels, "hovertemplate": hover,
                 "marker": {"color": colors}}]
        help_text = ("Each bar counts the rows with that value" +
                     ("; the grey bar groups all the less common values." if dist.get("other") else "."))
        xaxis = {"type": "category", "tickangle": 0 if dist.get("numeric") else -30}
    return chart(f"dist-{name}", f"Distribution of {name}", help_text, data, name, "rows", height=230,
                 xaxis=xaxis, margin={"l": 48, "r": 10, "t": 36, "b": 40}, bargap=0.08, title_size=13)


# -- one model --------------------------------------------------------------------------------------

def variable_importance(rows: list[dict], top: int = TOP_FEATURES) -> dict:
    rows = rows[:top]
    shown = list(reversed(rows))  # Plotly draws the first bar at the bottom
    data = [{"type": "bar", "orientation": "h", "x": [r["importance"] for r in shown],
             "y": [r["feature"] for r in shown], "marker": {"color": ACCENT},
             "hovertemplate": "%{y}: %{x:.3f}<extra></extra>"}]
    more = " Only the top {} are shown.".format(top) if len(rows) == top else ""
    return chart("importance", "Which columns the model relies on", (
        "Longer bars: the model gets worse when that column's values are shuffled, so it relies on it more "
        "(1 = the most important column)." + more), data, "importance (1 = most important)", "column",
        height=max(220, 90 + 26 * len(rows)), yaxis={"type": "category"})


def residual_charts(residuals: dict, target: str) -> list[dict]:
    actual, predicted, error = residuals["actual"], residuals["predicted"], residuals["residual"]
    if not actual:
        return []
    low, high = min(min(actual), min(predicted)), max(max(actual), max(predicted))
    points = {"type": "scatter", "mode": "markers", "x": actual, "y": predicted, "name": "rows",
              "marker": {"color": ACCENT, "size": 5, "opacity": 0.45},
              "hovertemplate": "actual %{x}<br>predicted %{y:.3f}<extra></extra>"}
    diagonal = {"type": "scatter", "mode": "lines", "x": [low, high], "y": [low, high], "name": "perfect prediction",
                "line": {"color": "#64748b", "dash": "dash", "width": 1.5}, "hoverinfo": "skip"}
    against = chart("actual-vs-predicted", "Predicted against actual",
                    "Each dot is a row the model did not train on (cross-validation); the closer the dots are to "
                    "the dashed line, the better the predictions.", [points, diagonal],
                    f"actual {target}", f"predicted {target}", showlegend=True)
    spread = {"type": "scatter", "mode": "markers", "x": predicted, "y": error, "name": "rows",
              "marker": {"color": "#7c3aed", "size": 5, "opacity": 0.45},
              "hovertemplate": "predicted %{x:.3f}<br>error %{y:.3f}<extra></extra>"}
    errors = chart("residuals", "Errors against predictions",
                   "Each dot is one row's error (actual minus predicted): an even band around zero is good; a "
                   "slope or a funnel means the model is off in a systematic way for some values.", [spread],
                   f"predicted {target}", "error (actual − predicted)",
                   shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                            "line": {"color": "#64748b", "dash": "dash", "width": 1.5}}])
    return [against, errors]


def confusion_matrix(cm: dict) -> dict:
    labels, matrix = [str(v) for v in cm["labels"]], cm["matrix"]
    shares = []
    for row in matrix:
        total = sum(row) or 1
        shares.append([f"{100 * v / total:.0f}%" for v in row])
    data = [{"type": "heatmap", "z": matrix, "x": labels, "y": labels, "customdata": shares,
             "colorscale": SEQUENTIAL, "showscale": False, "texttemplate": "%{z}",
             "hovertemplate": "actual %{y}, predicted %{x}: %{z} rows (%{customdata} of the actual %{y})"
                              "<extra></extra>"}]
    return chart("confusion-matrix", "Right and wrong predictions (confusion matrix)",
                 "Rows are the actual class, columns the predicted one; the diagonal from top left counts the "
                 "correct predictions (rows the model did not train on).", data, "predicted class", "actual class",
                 height=max(300, 140 + 42 * len(labels)),
                 xaxis={"type": "category", "side": "bottom", "gridcolor": "rgba(0,0,0,0)"},
                 yaxis={"type": "category", "autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"})


def _curve_name(entry: dict, measure: str, value: float, single: bool) -> str:
    return f"{measure} {value:.3f}" if single else f"'{entry['class']}' ({measure} {value:.3f})"


def roc_curves(roc: list[dict]) -> dict | None:
    if not roc:
        return None
    single = len(roc) == 1
    data = [{"type": "scatter", "mode": "lines", "x": e["fpr"], "y": e["tpr"],
             "name": _curve_name(e, "AUC", e["auc"], single), "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
             "hovertemplate": "false positive rate %{x:.2f}<br>true positive rate %{y:.2f}<extra></extra>"}
            for i, e in enumerate(roc)]
    data.append({"type": "scatter", "mode": "lines", "x": [0, 1], "y": [0, 1], "name": "guessing (AUC 0.5)",
                 "line": {"color": "#94a3b8", "dash": "dash", "width": 1.5}, "hoverinfo": "skip"})
    positive = "" if not single else f" (positive: '{roc[0]['class']}')"
    return chart("roc", "ROC curve" + ("" if single else "s, one class against the rest"),
                 f"The closer a curve bends to the top-left corner, the better the model separates the classes"
                 f"{positive}; the dashed diagonal is guessing.", data,
                 "share of negatives flagged (false positive rate)", "share of positives found",
                 xaxis={"range": [0, 1]}, yaxis={"range": [0, 1.02]}, showlegend=True, height=420)


def pr_curves(pr: list[dict]) -> dict | None:
    if not pr:
        return None
    single = len(pr) == 1
    data = [{"type": "scatter", "mode": "lines", "x": e["recall"], "y": e["precision"],
             "name": _curve_name(e, "AUC-PR", e["aucpr"], single),
             "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
             "hovertemplate": "recall %{x:.2f}<br>precision %{y:.2f}<extra></extra>"} for i, e in enumerate(pr)]
    return chart("pr", "Precision-recall curve" + ("" if single else "s"),
                 "Moving right, the model finds more of the positive rows (recall); the height shows how many of "
                 "the rows it flags are really positive (precision). Higher is better.", data,
                 "share of positives found (recall)", "share of flagged rows that are right",
                 xaxis={"range": [0, 1]}, yaxis={"range": [0, 1.02]}, showlegend=True, height=420)


def _scaled_colors(values: list) -> list[float] | None:
    """Each numeric value's rank within its column, 0 (lowest) to 1 (highest); None if not numeric."""
    numeric = [v for v in values if isinstance(v, (int, float)) and v is not None]
    if len(numeric) < max(1, len(values) // 2):
        return None
    arr = np.array([np.nan if v is None else float(v) for v in values])
    ok = ~np.isnan(arr)
    ranks = np.full(len(arr), 0.5)
    if ok.sum() > 1:
        order = arr[ok].argsort().argsort()
        ranks[ok] = order / max(1, ok.sum() - 1)
    return ranks.round(3).tolist()


def _shap_views(shap: dict, task: str) -> list[dict]:
    """What the SHAP chart can show: one view per class for multiclass when every class was explained,
    otherwise the one class (or the prediction itself) the values are about."""
    views = shap.get("classes") if task == "multiclass" else None
    return views if views and len(views) > 1 else [shap]


def _shap_points(shap: dict, columns: list[int]) -> dict[str, dict]:
    """The dots of the given columns, every row each, split into numeric values (coloured from low to
    high) and the rest (grey): each dot's (row, column), hover text and colour, the same for any class."""
    groups = {"coloured": {"at": [], "text": [], "color": []}, "grey": {"at": [], "text": []}}
    for j in columns:
        name, raw = shap["features"][j], shap["feature_values"][j]
        colors = _scaled_colors(raw)
        for i, value in enumerate(raw):
            group = groups["coloured" if colors is not None and value is not None else "grey"]
            group["at"].append((i, j))
            group["text"].append(f"{name} = {'missing' if value is None else value}")
            if "color" in group:
                group["color"].append(colors[i])
    return groups


def _shap_view(values: np.ndarray, shown: list[int], jitter: np.ndarray, groups: dict, features: list) -> dict:
    """One class's dots (x: the SHAP value, y: the column's row, the most important on top, with a
    little jitter; columns outside this class's top ones are left out) and its column ticks."""
    position = {j: len(shown) - 1 - rank for rank, j in enumerate(shown)}
    coords = {}
    for key, group in groups.items():
        coords[key] = {"x": [round(float(values[i, j]), 5) for i, j in group["at"]],
                       "y": [round(position[j] + float(jitter[i, j]), 3) if j in position else None
                             for i, j in group["at"]]}
    ticks = sorted(position.items(), key=lambda item: item[1])
    return {"coords": coords, "tickvals": [p for _, p in ticks], "ticktext": [features[j] for j, _ in ticks],
            "range": [-0.6, len(shown) - 0.4]}


def _shap_traces(groups: dict, coords: dict) -> list[dict]:
    hover = "%{text}<br>effect %{x:+.3g}<extra></extra>"
    data = []
    if groups["coloured"]["at"]:
        data.append({"type": "scatter", "mode": "markers", **coords["coloured"], "text": groups["coloured"]["text"],
                     "name": "numeric values", "hovertemplate": hover,
                     "marker": {"size": 5, "opacity": 0.75, "color": groups["coloured"]["color"], "cmin": 0,
                                "cmax": 1, "colorscale": [[0, "#2563eb"], [0.5, "#a78bfa"], [1, "#dc2626"]],
                                "showscale": True,
                                "colorbar": {"title": {"text": "column value", "side": "right"}, "tickvals": [0, 1],
                                             "ticktext": ["low", "high"], "thickness": 10, "len": 0.6}}})
    if groups["grey"]["at"]:
        data.append({"type": "scatter", "mode": "markers", **coords["grey"], "text": groups["grey"]["text"],
                     "name": "categories or missing", "hovertemplate": hover,
                     "marker": {"size": 5, "opacity": 0.6, "color": "#64748b"}})
    return data


def _class_picker(labels: list, views: list[dict], groups: dict) -> dict:
    """A dropdown above the chart: each class moves the same dots to that class's values and columns."""
    keys = [k for k in ("coloured", "grey") if groups[k]["at"]]  # in the order of the traces
    buttons = [{"label": f"class '{label}'", "method": "update",
                "args": [{"x": [view["coords"][k]["x"] for k in keys], "y": [view["coords"][k]["y"] for k in keys]},
                         {"yaxis.tickvals": view["tickvals"], "yaxis.ticktext": view["ticktext"],
                          "yaxis.range": view["range"], "xaxis.title.text": view["x_title"]}]}
               for label, view in zip(labels, views)]
    return {"type": "dropdown", "buttons": buttons, "active": 0, "showactive": True, "direction": "down",
            "x": 0, "xanchor": "left", "y": 1, "yanchor": "bottom", "pad": {"b": 8},
            "bgcolor": "#ffffff", "bordercolor": "#cbd5e1", "font": {"size": 12}}


def shap_summary(shap: dict, target: str, task: str, top: int = SHAP_FEATURES, seed: int = 0) -> dict | None:
    if not shap.get("values"):
        return None
    sources = _shap_views(shap, task)
    arrays = [np.asarray(v["values"], dtype=float) for v in sources]
    tops = [list(np.argsort(-np.abs(a).mean(axis=0))[:top]) for a in arrays]
    columns = list(dict.fromkeys(j for order in tops for j in order))  # every column some class shows
    groups = _shap_points(shap, columns)
    jitter = np.random.default_rng(seed).uniform(-0.32, 0.32, size=arrays[0].shape)
    views = []
    for source, values, order in zip(sources, arrays, tops):
        view = _shap_view(values, order, jitter, groups, shap["features"])
        view["x_title"] = (f"effect on the predicted {target}" if task == "regression"
                           else f"effect on the log-odds of '{source.get('class')}'")
        views.append(view)
    help_text = ("Each dot is one row: it sits right of zero when that column's value pushed the prediction up, "
                 "left when it pushed it down; red means a high value of the column, blue a low one (grey: a "
                 "category or a missing value).")
    if len(views) > 1:
        help_text += " Pick a class above the chart to see what pushes the predictions toward it."
    fidelities = [v["fidelity_r2"] for v in sources
                  if v.get("method") == "surrogate_tree_shap" and v.get("fidelity_r2") is not None]
    if fidelities:
        help_text += (" Computed through a simpler stand-in model that reproduces this one's predictions "
                      f"(R² {min(fidelities):.2f}{' or more, by class' if len(fidelities) > 1 else ''}).")
    layout = {}
    if len(views) > 1:  # the picker sits under the title, above the dots
        layout["updatemenus"] = [_class_picker([v["class"] for v in sources], views, groups)]
        layout["margin"] = {"l": 60, "r": 20, "t": 88, "b": 48}
    first = views[0]
    figure = chart("shap", "How each column pushes the predictions (SHAP)", help_text,
                   _shap_traces(groups, first["coords"]), first["x_title"], "column",
                   height=max(280, 100 + 38 * len(first["tickvals"])) + (40 if len(views) > 1 else 0),
                   yaxis={"tickvals": first["tickvals"], "ticktext": first["ticktext"], "range": first["range"],
                          "showgrid": False},
                   shapes=[{"type": "line", "x0": 0, "x1": 0, "yref": "paper", "y0": 0, "y1": 1,
                            "line": {"color": "#64748b", "width": 1}}], **layout)
    if len(views) > 1:  # the title at the top, not halfway down the room made for the picker
        figure["layout"]["title"].update({"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 14}})
    return figure


def _short_labels(values, limit: int = 24) -> list[str]:
    """Category names cut to fit beside a chart, unless cutting would make two of them equal."""
    full = [str(v) for v in values]
    head = limit * 2 // 3
    short = [v if len(v) <= limit else v[:head] + "…" + v[-(limit - head - 1):] for v in full]
    return short if len(set(short)) == len(set(full)) else full


def partial_dependence(pdp: dict, target: str, task: str) -> dict:
    feature, grid, values = pdp["feature"], pdp["grid"], pdp["values"]
    numeric = pdp.get("kind") == "numeric"
    # Many or long category names read better down the side than slanted along the bottom.
    horizontal = not numeric and (len(grid) > 8 or max((len(str(g)) for g in grid), default=0) > 12)
    data = []
    for i, (label, series) in enumerate(values.items()):
        name = "average prediction" if task == "regression" else f"'{label}'"
        color = PALETTE[i % len(PALETTE)]
        if numeric:
            data.append({"type": "scatter", "mode": "lines+markers", "x": grid, "y": series, "name": name,
                         "line": {"color": color, "width": 2}, "marker": {"size": 5},
                         "hovertemplate": f"{feature} %{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"})
        elif horizontal:
            data.append({"type": "bar", "orientation": "h", "y": _short_labels(grid), "x": series, "name": name,
                         "marker": {"color": color}, "customdata": [str(g) for g in grid],
                         "hovertemplate": f"{feature} = %{{customdata}}<br>{name}: %{{x:.3f}}<extra></extra>"})
        else:
            data.append({"type": "bar", "x": [str(g) for g in grid], "y": series, "name": name,
                         "marker": {"color": color},
                         "hovertemplate": f"{feature} = %{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"})
    if task == "regression":
        y_title = f"average predicted {target}"
    elif task == "binary":
        y_title = f"average probability of '{next(iter(values), '')}'"
    else:
        y_title = "average probability of each class"
    help_text = (f"The average prediction if every row had this value of {feature} and kept its other values: "
                 f"where the {'line rises' if numeric else 'bar is longer'}, that value of {feature} pushes the "
                 "prediction up.")
    title = f"Effect of {feature} (partial dependence)"
    if horizontal:
        return chart(f"pdp-{feature}", title, help_text, data, y_title, feature, showlegend=len(data) > 1,
                     height=max(300, 110 + 22 * len(grid) * max(1, len(data) // 2)), barmode="group",
                     yaxis={"type": "category", "autorange": "reversed"})
    return chart(f"pdp-{feature}", title, help_text, data, feature, y_title, showlegend=len(data) > 1,
                 xaxis={"type": "linear" if numeric else "category"}, barmode="group")


def model_charts(explanation: dict | None, task: str, target: str) -> list[dict]:
    """All the charts for one model, in reading order (partial dependence is separate: see ``pdp_charts``)."""
    if not explanation:
        return []
    out = []
    if explanation.get("variable_importance"):
        out.append(variable_importance(explanation["variable_importance"]))
    if task == "regression" and explanation.get("residuals"):
        out.extend(residual_charts(explanation["residuals"], target))
    if task != "regression":
        if explanation.get("confusion_matrix"):
            out.append(confusion_matrix(explanation["confusion_matrix"]))
        for built in (roc_curves(explanation.get("roc") or []), pr_curves(explanation.get("pr") or [])):
            if built:
                out.append(built)
    if explanation.get("shap"):
        built = shap_summary(explanation["shap"], target, task)
        if built:
            out.append(built)
    return out


def pdp_charts(explanation: dict | None, task: str, target: str) -> dict[str, dict]:
    return {p["feature"]: partial_dependence(p, target, task)
            for p in (explanation or {}).get("partial_dependence") or []}


# -- across models ----------------------------------------------------------------------------------

def model_label(model_id: str) -> str:
    """Model ids short enough to sit beside a heatmap on a phone: StackedEnsemble_AllModels_1 -> SE_AllModels_1."""
    return model_id.replace("StackedEnsemble_", "SE_")


def importance_heatmap(heatmap: dict, top: int = HEATMAP_FEATURES) -> dict | None:
    models, features, values = heatmap.get("models") or [], heatmap.get("features") or [], heatmap.get("values")
    if not models or not features:
        return None
    features = features[:top]
    z = [row[:top] for row in values]
    data = [{"type": "heatmap", "z": z, "x": features, "y": [model_label(m) for m in models], "colorscale": SEQUENTIAL,
             "zmin": 0, "zmax": 1,
             "colorbar": {"title": {"text": "importance"}, "thickness": 10},
             "hovertemplate": "%{y}<br>%{x}: %{z:.2f}<extra></extra>"}]
    return chart("importance-heatmap", "Which columns matter to each model",
                 "Darker cells: that column matters more to that model (1 = its most important column). Columns "
                 "are ordered by importance over all models; SE = stacked ensemble.", data, "column", "model",
                 height=max(260, 150 + 30 * len(models)),
                 xaxis={"type": "category", "tickangle": -35, "gridcolor": "rgba(0,0,0,0)"},
                 yaxis={"type": "category", "autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"})


def model_correlation(corr: dict, top: int = CORRELATION_MODELS) -> dict | None:
    """The similarity of the best ``top`` models' predictions (the matrix is in leaderboard order)."""
    models, matrix = corr.get("models") or [], corr.get("matrix") or []
    if len(models) < 2:
        return None
    shown = f" The {top} best of {len(models)} models are shown." if len(models) > top else ""
    models, matrix = models[:top], [row[:top] for row in matrix[:top]]
    measure = corr.get("measure") or "correlation of predictions"
    low = min(min(row) for row in matrix)
    labels = [model_label(m) for m in models]
    data = [{"type": "heatmap", "z": matrix, "x": labels, "y": labels, "colorscale": "Viridis",
             "zmin": min(low, 0.9), "zmax": 1, "texttemplate": "%{z:.2f}",
             "colorbar": {"title": {"text": "similarity"}, "thickness": 10},
             "hovertemplate": "%{y} and %{x}: %{z:.3f}<extra></extra>"}]
    return chart("model-correlation", "How alike the models' predictions are",
                 f"Each cell is the {measure} between two models (1 = they predict the same). Models that "
                 f"differ make errors in different places, which stacked ensembles (SE) exploit.{shown}", data,
                 "model", "model", height=max(300, 170 + 34 * len(models)),
                 xaxis={"type": "category", "tickangle": -35, "gridcolor": "rgba(0,0,0,0)"},
                 yaxis={"type": "category", "autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"})


MAX_DOT_LABELS = 12  # beyond this many models, only those no other model beats on both counts are named
DOT_PLOT_HEIGHT = 200  # about the pixels between the accuracy chart's lowest and highest dot


def log_ticks(low: float, high: float, unit: str) -> dict:
    """Ticks a person can read on a log axis from ``low`` to ``high``, each labelled with its unit: the
    powers of ten across more than three of them, 1, 2 and 5 times them across more than half of one,
    every digit times them across less (so that at least two show)."""
    first = math.floor(math.log10(low))
    last = max(first + 1, math.ceil(math.log10(high)))
    span = math.log10(high / low)
    steps = (1,) if span > 3 else (1, 2, 5) if span > 0.5 else range(1, 10)
    values = [round(step * 10.0 ** power, 12) for power in range(first, last + 1) for step in steps]
    values = [v for v in values if low / 2 <= v <= high * 2]  # about the axis's own range
    return {"tickmode": "array", "tickvals": values, "ticktext": [f"{v:g} {unit}" for v in values]}


def _unbeaten(rows: list[dict], metric: str, speed) -> set[str]:
    """Models no other model beats on both the metric and speed (the ones worth a look)."""
    sign = 1 if higher_is_better(metric) else -1

    def beats(a, b):
        return (speed(a) <= speed(b) and sign * a[metric] >= sign * b[metric]
                and (speed(a) < speed(b) or sign * a[metric] > sign * b[metric]))

    return {r["model_id"] for r in rows if not any(beats(o, r) for o in rows)}


def _dot_labels(rows: list[dict], metric: str, x: dict, side: dict, width: int) -> dict[str, str]:
    """The short names beside the dots of a plot about ``width`` pixels wide (beyond MAX_DOT_LABELS
    models, beside the unbeaten ones only). A dot on top of others names them all ("+2 more"); a name
    that would cover one already placed is left to the hover box. ``x``: each model's log time,
    ``side``: where its name goes; the best-ranked models are placed first."""
    named = ({r["model_id"] for r in rows} if len(rows) <= MAX_DOT_LABELS
             else _unbeaten(rows, metric, lambda r: 10 ** x[r["model_id"]]))
    named.add(rows[0]["model_id"])

    def pixels(values: dict, size: int) -> dict:
        finite = [v for v in values.values() if math.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
        return {m: (v - low) / ((high - low) or 1) * size if math.isfinite(v) else size for m, v in values.items()}

    px, py = pixels(x, width), pixels({r["model_id"]: r[metric] for r in rows}, DOT_PLOT_HEIGHT)
    spots: dict[str, int] = {}  # a model -> how many more dots sit on it
    for m in (r["model_id"] for r in rows):
        on = next((s for s in spots if abs(px[s] - px[m]) < 8 and abs(py[s] - py[m]) < 8), None)
        if on is None:
            spots[m] = 0
        else:
            spots[on] += 1
    labels, boxes = {}, []
    for m, more in spots.items():
        text = model_label(m) + (f" +{more} more" if more else "")
        wide = 6 * len(text)  # about 6 pixels a character at the names' size
        left = px[m] - wide if side[m] == "top left" else px[m] - wide / 2
        box = (left, left + wide, py[m] + 6, py[m] + 20)
        if m in named and not any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
                                  for b in boxes):
            labels[m] = text
            boxes.append(box)
    return labels


def accuracy_vs_speed(rows: list[dict], metric: str, leader: str | None) -> dict | None:
    rows = [r for r in rows if r.get(metric) is not None]
    if not rows or not metric:
        return None
    floor = 1e-4  # a log axis cannot show zero
    rows = sorted(rows, key=lambda r: r["model_id"] != leader)  # the leader first, then by rank

    def speed(r):
        return max(floor, r.get("predict_time_per_row_ms") or 0)

    times = [t for t in map(speed, rows) if math.isfinite(t)]
    x = {r["model_id"]: math.log10(speed(r)) for r in rows}
    low, high = (math.log10(min(times)), math.log10(max(times))) if times else (0.0, 0.0)
    # names of dots near the right edge go to their left, so a phone does not cut them
    side = {m: "top left" if high > low and v > low + 0.6 * (high - low) else "top center" for m, v in x.items()}
    labels = _dot_labels(rows, metric, x, side, width=850)
    narrow = _dot_labels(rows, metric, x, side, width=200)  # charts.js uses these on a phone

    def trace(subset, name, color, size, symbol):
        return {"type": "scatter", "mode": "markers+text", "name": name,
                "x": [speed(r) for r in subset], "y": [r[metric] for r in subset],
                "text": [labels.get(r["model_id"], "") for r in subset],
                "meta": {"narrow_text": [narrow.get(r["model_id"], "") for r in subset]},
                "customdata": [r["model_id"] for r in subset],
                "textposition": [side[r["model_id"]] for r in subset],
                "textfont": {"size": 10, "color": "#475569"}, "cliponaxis": False,
                "marker": {"color": color, "size": size, "symbol": symbol, "line": {"color": "#fff", "width": 1}},
                "hovertemplate": f"%{{customdata}}<br>{metric_name(metric)} %{{y:.4g}}<br>%{{x:.3g}} ms per row"
                                 "<extra></extra>"}

    others = [r for r in rows if r["model_id"] != leader]
    best = [r for r in rows if r["model_id"] == leader]
    data = [trace(others, "other models", ACCENT, 10, "circle")]
    if best:
        data.append(trace(best, "leader", LEADER, 15, "star"))
    better = "higher" if higher_is_better(metric) else "lower"
    corner = "top-left" if better == "higher" else "bottom-left"
    return chart("accuracy-vs-speed", "Accuracy against prediction speed",
                 f"Models toward the {corner} are both accurate and fast: a model left of the leader with a "
                 "nearly equal score may be the better choice when predictions must be quick (SE = stacked "
                 "ensemble).", data, "prediction time per row (log scale)",
                 f"{metric_name(metric)} ({better} is better)", showlegend=True,
                 xaxis={"type": "log", **(log_ticks(min(times), max(times), "ms") if times else {})})


def experiment_charts(explanation: dict | None, rows: list[dict], metric: str, leader: str | None) -> list[dict]:
    """The across-model charts of a finished experiment."""
    explanation = explanation or {}
    out = [accuracy_vs_speed(rows, metric, leader)]
    if explanation.get("importance_heatmap"):
        out.append(importance_heatmap(explanation["importance_heatmap"]))
    if explanation.get("model_correlation"):
        out.append(model_correlation(explanation["model_correlation"]))
    return [c for c in out if c]


# -- the compare page -----------------------------------------------------------------------------

def leaders_importance(importance: dict, names: dict, top: int = TOP_FEATURES) -> dict | None:
    """The leaders' variable importance side by side: one colour per experiment, the columns that
    matter most to any of them."""
    if not any(importance.values()):
        return None
    best = {}
    for values in importance.values():
        for feature, value in values.items():
            best[feature] = max(best.get(feature, 0.0), value or 0.0)
    features = sorted(best, key=best.get, reverse=True)[:top][::-1]  # Plotly draws the first bar at the bottom
    data = [{"type": "bar", "orientation": "h", "name": names[pk], "y": features,
             "x": [values.get(f, 0.0) for f in features], "marker": {"color": PALETTE[i % len(PALETTE)]},
             "hovertemplate": "%{y}: %{x:.3f}<extra>" + names[pk][:40] + "</extra>"}
            for i, (pk, values) in enumerate(importance.items())]
    return chart("leaders-importance", "Which columns each leader relies on", (
        "One bar per experiment's best model: longer bars, the model gets worse when that column's values are "
        "shuffled (1 = its most important column)."), data, "importance (1 = most important)", "column",
        height=max(260, 110 + 18 * len(features) * len(importance)), barmode="group", showlegend=True,
        yaxis={"type": "category"})
