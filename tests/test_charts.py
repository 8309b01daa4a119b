"""The chart dicts (webapp/core/charts.py) built from real engine explanation data, checked as plain dicts."""
import functools
import json
import math

import pytest

from automl_engine import AutoML
from tests.helpers import synthetic
from webapp.core import charts
from webapp.core.explanations import every_class_shap
from webapp.core.wording import plain_error, score_in_words, short_score, without_exception_names


@functools.lru_cache(maxsize=None)
def fitted(task: str) -> AutoML:
    aml = AutoML(max_models=2, nfolds=2, seed=1, include_algos=["GLM", "GBM", "StackedEnsemble"])
    aml.fit(synthetic(task, n=160), "y")
    return aml


@functools.lru_cache(maxsize=None)
def explained(task: str) -> tuple[dict, dict, list]:
    """(one model's explanation, the across-model explanation, leaderboard rows) from a tiny real run."""
    aml = fitted(task)
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


@pytest.mark.parametrize("model", ["leader", "GLM_1"])  # an ensemble (SHAP through a stand-in) and a GLM
def test_a_multiclass_shap_chart_has_a_picker_with_every_class_and_their_own_dots(model):
    aml = fitted("multiclass")
    trained = aml.leader if model == "leader" else aml.get_model(model)
    shap = aml.explain(trained.model_id)["shap"]
    every = every_class_shap(trained, synthetic("multiclass", n=160)[trained.features], shap)
    assert [v["class"] for v in every["classes"]] == ["high", "low", "mid"] == list(trained.classes)
    assert every["classes"][0]["values"] == shap["values"]  # the class the run explained is kept as it is
    assert every["classes"][1]["values"] != every["classes"][0]["values"]
    chart = charts.shap_summary(every, "y", "multiclass")
    picker = chart["layout"]["updatemenus"][0]
    assert [b["label"] for b in picker["buttons"]] == ["class 'high'", "class 'low'", "class 'mid'"]
    per_class = len(shap["values"]) * len(shap["features"])  # three columns: all shown for every class
    assert sum(len(t["x"]) for t in chart["data"]) == per_class  # the same dots, moved by the picker
    xs = []
    for k, button in enumerate(picker["buttons"]):
        traces, layout = button["args"]
        assert sum(y is not None for ys in traces["y"] for y in ys) == per_class
        assert layout["xaxis.title.text"] == f"effect on the log-odds of '{every['classes'][k]['class']}'"
        assert set(layout["yaxis.ticktext"]) == set(shap["features"])
        xs.append(sorted(x for trace_x in traces["x"] for x in trace_x))
    expected = [sorted(round(v, 5) for row in c["values"] for v in row) for c in every["classes"]]
    assert all(got == pytest.approx(want) for got, want in zip(xs, expected)) and xs[0] != xs[1]
    assert picker["buttons"][0]["args"][0]["x"] == [t["x"] for t in chart["data"]]  # the first class is drawn
    assert chart["layout"]["xaxis"]["title"]["text"] == "effect on the log-odds of 'high'"
    assert "Pick a class" in chart["help"]
    json.dumps(chart, allow_nan=False)


def test_each_class_shows_its_own_most_important_columns():
    shap = {"method": "tree_shap", "features": ["a", "b", "c"], "feature_values": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            "values": [[0.9, 0.5, 0.0], [-0.8, -0.4, 0.0]], "class": "x", "base_value": 0.0}
    shap["classes"] = [{"class": "x", "values": shap["values"]},
                       {"class": "z", "values": [[0.0, 0.1, 2.0], [0.0, -0.2, -1.0]]}]
    chart = charts.shap_summary(shap, "y", "multiclass", top=2)
    assert chart["layout"]["yaxis"]["ticktext"] == ["b", "a"]  # the most important on top, drawn last
    first, second = (b["args"] for b in chart["layout"]["updatemenus"][0]["buttons"])
    assert second[1]["yaxis.ticktext"] == ["b", "c"]
    hidden = [text for text, y in zip(chart["data"][0]["text"], second[0]["y"][0]) if y is None]
    assert hidden == ["a = 1.0", "a = 2.0"]  # column a is not among class z's top two
    assert [text for text, y in zip(chart["data"][0]["text"], first[0]["y"][0]) if y is None] == ["c = 5.0", "c = 6.0"]


def test_a_binary_or_single_class_shap_chart_has_no_picker():
    shap = explained("binary")[0]["shap"]
    assert "updatemenus" not in charts.shap_summary(shap, "y", "binary")["layout"]
    one_class = explained("multiclass")[0]["shap"]  # as stored before every class was explained
    assert "updatemenus" not in charts.shap_summary(one_class, "y", "multiclass")["layout"]


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
    assert leader["customdata"] == [rows[0]["model_id"]]
    assert len(built[2]["data"][0]["z"]) == len(rows)


def test_the_model_correlation_chart_shows_the_best_models_when_there_are_many():
    """Seventy models make cells too small to read: the chart keeps the leaderboard's best and says so."""
    n = charts.CORRELATION_MODELS + 5
    models = [f"GBM_{i}" for i in range(1, n + 1)]
    matrix = [[1.0 if i == j else 0.9 + (i + j) / 1000 for j in range(n)] for i in range(n)]
    chart = charts.model_correlation({"models": models, "matrix": matrix})
    heat = chart["data"][0]
    assert heat["x"] == models[:charts.CORRELATION_MODELS] == heat["y"]
    assert heat["z"] == [row[:charts.CORRELATION_MODELS] for row in matrix[:charts.CORRELATION_MODELS]]
    assert f"The {charts.CORRELATION_MODELS} best of {n} models are shown." in chart["help"]
    few = charts.model_correlation({"models": models[:3], "matrix": [row[:3] for row in matrix[:3]]})
    assert few["data"][0]["x"] == models[:3] and "best of" not in few["help"]


def test_accuracy_against_speed_names_each_dot_and_reads_its_log_axis_in_milliseconds():
    rows = [{"model_id": m, "auc": a, "predict_time_per_row_ms": t} for m, a, t in [
        ("StackedEnsemble_AllModels_1", 0.91, 0.35), ("GBM_1", 0.9, 0.004), ("GLM_1", 0.8, 0.0021),
        ("DRF_1", 0.85, 0.08)]]
    chart = charts.accuracy_vs_speed(rows, "auc", "StackedEnsemble_AllModels_1")
    axis = chart["layout"]["xaxis"]
    assert axis["type"] == "log" and axis["tickmode"] == "array"
    assert axis["tickvals"] == [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]  # 1, 2, 5 about the dots
    assert axis["ticktext"][:3] == ["0.002 ms", "0.005 ms", "0.01 ms"] and axis["ticktext"][-1] == "0.5 ms"
    others, leader = chart["data"]
    assert others["mode"] == leader["mode"] == "markers+text"
    assert others["text"] == ["GBM_1", "GLM_1", "DRF_1"] and leader["text"] == ["SE_AllModels_1"]
    assert leader["customdata"] == ["StackedEnsemble_AllModels_1"] and "%{customdata}" in leader["hovertemplate"]


def test_dots_on_top_of_one_another_share_one_name_and_a_narrow_range_still_gets_two_ticks():
    rows = [{"model_id": m, "logloss": l, "predict_time_per_row_ms": t} for m, l, t in [
        ("DRF_1", 0.1644, 0.0527), ("StackedEnsemble_AllModels_1", 0.16441, 0.0527),
        ("StackedEnsemble_BestOfFamily_1", 0.1644, 0.0526), ("GLM_1", 0.2238, 0.0377)]]
    chart = charts.accuracy_vs_speed(rows, "logloss", "DRF_1")
    others, leader = chart["data"]
    assert leader["text"] == ["DRF_1 +2 more"] and others["text"] == ["", "", "GLM_1"]
    ticks = dict(zip(chart["layout"]["xaxis"]["ticktext"], chart["layout"]["xaxis"]["tickvals"]))
    assert {"0.04 ms", "0.05 ms"} <= set(ticks) and ticks["0.04 ms"] == 0.04


def test_on_a_phone_names_that_would_cover_one_another_are_left_to_the_hover_box():
    rows = [{"model_id": m, "rmse": e, "predict_time_per_row_ms": t} for m, e, t in [
        ("StackedEnsemble_AllModels_1", 0.647, 0.18), ("StackedEnsemble_BestOfFamily_1", 0.647, 0.181),
        ("DRF_1", 0.648, 0.045), ("GBM_1", 0.662, 0.13), ("GLM_1", 0.74, 0.018)]]
    chart = charts.accuracy_vs_speed(rows, "rmse", "StackedEnsemble_AllModels_1")
    desktop = {t for trace in chart["data"] for t in trace["text"] if t}
    phone = {t for trace in chart["data"] for t in trace["meta"]["narrow_text"] if t}
    assert desktop == {"SE_AllModels_1 +1 more", "DRF_1", "GBM_1", "GLM_1"}
    assert "SE_AllModels_1 +1 more" in phone and phone < desktop


def test_accuracy_against_speed_names_only_the_unbeaten_models_when_there_are_many():
    rows = [{"model_id": f"GBM_{i}", "rmse": 40 - 2 * i, "predict_time_per_row_ms": 0.01 * 2.5 ** i}
            for i in range(13)]  # slower and slower, each better than the last: none is beaten
    rows += [{"model_id": "GLM_1", "rmse": 45, "predict_time_per_row_ms": 0.05},  # GBM_0 is faster and better
             {"model_id": "DRF_1", "rmse": 44, "predict_time_per_row_ms": 1.0}]
    chart = charts.accuracy_vs_speed(rows, "rmse", "GBM_12")
    named = [t for trace in chart["data"] for t in trace["text"] if t]
    assert sorted(named) == sorted(f"GBM_{i}" for i in range(13))
    axis = chart["layout"]["xaxis"]
    assert axis["ticktext"] == ["0.01 ms", "0.1 ms", "1 ms", "10 ms", "100 ms", "1000 ms"]  # powers of ten


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
