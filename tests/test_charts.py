"""The chart dicts (webapp/core/charts.py) built from real engine explanation data, checked as plain dicts."""
import functools
import json
import math

import pytest

from automl_engine import AutoML
from tests.helpers import synthetic
from webapp.core import charts
from webapp.core.wording import plain_error, score_in_words, short_score, without_exception_names


@functools.lru_cache(maxsize=None)
def explained(task: str) -> tuple[dict, dict, list]:
    """(one model's explanation, the across-model explanation, leaderboard rows) from a tiny real run."""
    aml = AutoML(max_models=2, nfolds=2, seed=1, include_algos=["GLM", "GBM", "StackedEnsemble"])
    aml.fit(synthetic(task, n=160), "y")
    per_model = {r["model_id"]: aml.explain(r["model_id"]) for r in aml.leaderboard}
    across = aml.explain_models({m: e["variable_importance"] for m, e in per_model.items()})
    return per_model[aml.leader.model_id], across, aml.leaderboard


@pytest.fixture(params=["regression", "binary", "multiclass"])
def run(request):
    return (request.param, *explained(request.param))


def assert_readable(chart: dict):
    """Every chart has a title, both axis titles, a one-line help and data to draw."""
    layout = chart["layout"]
    assert layout["title"]["text"].strip()
    assert layout["xaxis"]["title"]["text"].strip() and layout["yaxis"]["title"]["text"].strip()
    assert chart["help"].strip() and "\n" not in chart["help"]
    assert chart["data"] and any(trace.get("x") or trace.get("z") for trace in chart["data"])
    json.dumps(chart, allow_nan=False)  # what the browser's JSON.parse accepts


def test_every_model_chart_is_titled_labelled_explained_and_has_data(run):
    task, explanation, _, _ = run
    built = charts.model_charts(explanation, task, "y") + list(charts.pdp_charts(explanation, task, "y").values())
    assert len(built) >= 4
    for chart in built:
        assert_readable(chart)


def test_each_task_gets_its_own_performance_charts(run):
    task, explanation, _, _ = run
    keys = [c["key"] for c in charts.model_charts(explanation, task, "y")]
    assert keys[0] == "importance" and "shap" in keys
    if task == "regression":
        assert {"actual-vs-predicted", "residuals"} <= set(keys) and "roc" not in keys
    else:
        assert {"confusion-matrix", "roc", "pr"} <= set(keys) and "residuals" not in keys


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_roc_has_one_curve_per_class_for_multiclass_and_one_for_binary(task):
    explanation = explained(task)[0]
    roc = charts.roc_curves(explanation["roc"])
    curves = [t for t in roc["data"] if "guessing" not in t["name"]]
    assert len(curves) == (1 if task == "binary" else 3)
    assert all("AUC" in t["name"] for t in curves)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_confusion_matrix_counts_every_row_once(task):
    explanation = explained(task)[0]
    heatmap = charts.confusion_matrix(explanation["confusion_matrix"])["data"][0]
    assert sum(map(sum, heatmap["z"])) == 160
    assert heatmap["x"] == heatmap["y"] == [str(v) for v in explanation["confusion_matrix"]["labels"]]


def test_importance_bars_put_the_most_important_column_on_top(run):
    _, explanation, _, _ = run
    bars = charts.variable_importance(explanation["variable_importance"])["data"][0]
    assert bars["y"][-1] == explanation["variable_importance"][0]["feature"] and bars["x"][-1] == 1.0


def test_shap_summary_draws_one_dot_per_row_and_column(run):
    task, explanation, _, _ = run
    shap = explanation["shap"]
    chart = charts.shap_summary(shap, "y", task)
    dots = sum(len(t["x"]) for t in chart["data"])
    assert dots == len(shap["values"]) * len(shap["features"])
    numeric = [t for t in chart["data"] if t["name"] == "numeric values"][0]
    assert all(0 <= c <= 1 for c in numeric["marker"]["color"])
    assert len(numeric["x"]) >= len(shap["values"])  # x1 is a number in every row
    assert set(chart["layout"]["yaxis"]["ticktext"]) == set(shap["features"])


def test_across_model_charts_compare_every_model_and_mark_the_leader(run):
    task, _, across, rows = run
    metric = {"regression": "mean_residual_deviance", "binary": "auc", "multiclass": "mean_per_class_error"}[task]
    built = charts.experiment_charts(across, rows, metric, rows[0]["model_id"])
    assert [c["key"] for c in built] == ["accuracy-vs-speed", "importance-heatmap", "model-correlation"]
    for chart in built:
        assert_readable(chart)
    speed = built[0]
    assert speed["layout"]["xaxis"]["type"] == "log"
    leader = [t for t in speed["data"] if t["name"] == "leader"][0]
    assert leader["text"] == [rows[0]["model_id"]]
    assert len(built[2]["data"][0]["z"]) == len(rows)


def test_partial_dependence_of_a_category_draws_bars_and_of_a_number_a_line():
    numeric = charts.partial_dependence({"feature": "x1", "kind": "numeric", "grid": [0.0, 1.0, 2.0],
                                         "values": {"prediction": [1.0, 2.0, 3.5]}}, "price", "regression")
    assert numeric["data"][0]["type"] == "scatter" and numeric["layout"]["yaxis"]["title"]["text"] == (
        "average predicted price")
    names = [f"passenger with a rather long name {i}" for i in range(12)]
    category = charts.partial_dependence({"feature": "name", "kind": "categorical", "grid": names,
                                          "values": {"yes": [0.1] * 12}}, "survived", "binary")
    bars = category["data"][0]
    assert bars["type"] == "bar" and bars["orientation"] == "h" and bars["customdata"] == names
    assert all(len(label) <= 24 for label in bars["y"])


def test_distribution_charts_show_ranges_values_and_the_rest():
    histogram = charts.column_distribution({"name": "age", "distribution": {
        "kind": "histogram", "edges": [0.0, 10.0, 20.0], "counts": [3, 5]}})
    assert histogram["data"][0]["x"] == [5.0, 15.0] and histogram["data"][0]["customdata"][0] == "0 to 10.0"
    values = charts.column_distribution({"name": "colour", "distribution": {
        "kind": "values", "labels": ["red", "blue"], "counts": [7, 2], "other": 4, "other_values": 3}})
    assert values["data"][0]["x"] == ["red", "blue", "(3 others)"] and values["data"][0]["y"] == [7, 2, 4]
    for chart in (histogram, values):
        assert_readable(chart)
    assert charts.column_distribution({"name": "id", "distribution": None}) is None


def test_nan_and_infinity_become_null_so_the_page_can_parse_them():
    chart = charts.accuracy_vs_speed([{"model_id": "GLM_1", "auc": float("nan"), "predict_time_per_row_ms": 0.1},
                                      {"model_id": "GBM_1", "auc": 0.8, "predict_time_per_row_ms": math.inf}],
                                     "auc", "GBM_1")
    text = json.dumps(chart, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text


def test_scores_are_put_in_words_a_person_can_read():
    regression = score_in_words("regression", {"mae": 0.5734, "rmse": 0.71}, "quality", baseline_mae=0.68,
                                baseline_mean=5.8)
    assert regression[0] == "Predicts quality within ±0.57 on average."
    assert "off by ±0.68" in regression[2]
    binary = score_in_words("binary", {"auc": 0.874, "mean_per_class_error": 0.2}, "Survived", labels=["0", "1"])
    assert "'1' row above a random '0' row 87% of the time" in binary[0] and "80% of rows right" in binary[1]
    multiclass = score_in_words("multiclass", {"mean_per_class_error": 0.05, "logloss": 0.1}, "class",
                                labels=list("abcd"))
    assert "95% of rows, averaged over the 4 classes" in multiclass[0]
    assert short_score("regression", {"mae": 0.4631}) == "±0.46 on average"
    assert short_score("binary", {"auc": 0.87}) == "AUC 0.870"


def test_python_exception_names_are_taken_out_of_messages():
    assert plain_error("ValueError: Input contains NaN") == "Input contains NaN"
    assert plain_error("lightgbm.basic.LightGBMError: bad split") == "bad split"
    assert plain_error("Traceback (most recent call last):\n  File x\nValueError: boom\n") == "boom"
    assert plain_error("") == "It stopped with an unexpected error."
    assert without_exception_names("GBM_1 failed: KeyError: 'x'") == "GBM_1 failed: 'x'"


def test_shap_summary_of_categories_only_has_no_empty_trace_or_colour_scale():
    shap = {"method": "tree_shap", "features": ["colour", "size"], "values": [[0.5, -0.1], [-0.2, 0.3]],
            "feature_values": [["red", "blue"], ["big", "small"]], "base_value": 0.0, "class": "yes"}
    chart = charts.shap_summary(shap, "y", "binary")
    assert [t["name"] for t in chart["data"]] == ["categories or missing"] and len(chart["data"][0]["x"]) == 4


def test_every_string_in_a_figure_is_escaped_but_the_apps_own_line_breaks():
    from webapp.core import charts

    link = '<a href="https://evil.example/c">cat</a>'
    figure = charts.chart("k", "<b>col</b>", "help shown as text", [
        {"type": "bar", "x": [link], "y": [3], "hovertemplate": "%{x}<br>%{y} rows<extra></extra>"}], "x", "y")
    text = json.dumps({k: figure[k] for k in ("data", "layout")})
    assert "<a " not in text and "<b>" not in text and "&lt;a href=" in text
    assert "<br>" in text and "<extra></extra>" in text  # the app's own markup is kept
    assert charts.plotly_safe(["a & b", 3, None, {"t": "x<y"}]) == ["a &amp; b", 3, None, {"t": "x&lt;y"}]
