"""The dashboard pages on the real database, with runs made in-process: dataset profile, the
new-experiment form, the target check, results, model pages, partial dependence and predictions."""
import io
import json
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from webapp.core import runs
from webapp.core.models import Dataset, Experiment, ModelResult
from tests.helpers import DATA, synthetic

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(other_user):
    client = Client()
    client.force_login(other_user)
    return client


def upload_page(client, frame: pd.DataFrame, name="data.csv") -> Dataset:
    response = client.post("/", {"file": SimpleUploadedFile(name, frame.to_csv(index=False).encode(), "text/csv")})
    assert response.status_code == 302, response.content[:500]
    return Dataset.objects.latest("created_at")


def start(client, dataset, **fields) -> Experiment:
    form = {"target": "y", "task": "auto", "budget": "custom", "max_models": 2, "nfolds": 2, "seed": 1,
            "algos_shown": "1", "algos": ["GLM", "GBM", "StackedEnsemble"], **fields}
    response = client.post(f"/datasets/{dataset.pk}/new-experiment/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Experiment.objects.latest("created_at")


def finished(client, task="binary", n=120, **fields) -> Experiment:
    dataset = upload_page(client, synthetic(task, n=n))
    experiment = start(client, dataset, **fields)
    assert runs.run_experiment(experiment.pk, "test") == "succeeded"
    return Experiment.objects.get(pk=experiment.pk)


def json_scripts(html: str) -> dict:
    found = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, flags=re.S)
    return {key: json.loads(text) for key, text in found}


def test_the_dataset_page_profiles_each_column_with_a_chart_and_plain_warnings(owner_client):
    frame = synthetic("regression", n=100)
    frame.insert(0, "row_id", range(1, 101))
    frame["country"] = "FR"
    dataset = upload_page(owner_client, frame)
    page = owner_client.get(f"/datasets/{dataset.pk}/")
    html = unescape(page.content.decode())
    assert page.status_code == 200 and 'id="columns"' in html and 'id="preview"' in html
    assert "'row_id' will not be used" in html and "'country' will not be used" in html
    figures = {k: v for k, v in json_scripts(html).items() if k.startswith("dist-")}
    assert len(figures) == 5  # x1, x2, colour, country, y: no chart for the ID
    for figure in figures.values():
        assert figure["layout"]["title"]["text"].startswith("Distribution of") and figure["help"]
        counted = sum(figure["data"][0]["y"])
        assert counted == 100 or (figure["layout"]["title"]["text"].endswith("x2") and counted == 90)
    stored = Dataset.objects.get(pk=dataset.pk).columns
    assert {c["name"]: c["as_target"].get("task") for c in stored}["y"] == "regression"
    assert "What do you want to predict?" in html and 'id="experiment-form"' in html


def test_the_wine_sample_is_one_click_and_suggests_its_target(owner_client):
    response = owner_client.post("/samples/wine-quality/")
    dataset = Dataset.objects.get()
    assert response.status_code == 302 and response["Location"].startswith(f"/datasets/{dataset.pk}/")
    assert dataset.n_rows == 5205 and dataset.n_cols == 13
    page = owner_client.get(response["Location"]).content.decode()
    assert '<option value="quality" selected>' in page and "Wine quality" in page
    assert owner_client.post("/samples/no-such-sample/").status_code == 404
    assert owner_client.get("/samples/wine-quality/").status_code == 405


@pytest.mark.parametrize("fields, options", [
    ({"budget": "quick"}, {"max_runtime_secs": 60, "max_models": None}),
    ({"budget": "better"}, {"max_runtime_secs": 300, "max_models": None}),
    ({"budget": "custom", "max_runtime_secs": 30, "max_models": ""}, {"max_runtime_secs": 30, "max_models": None}),
    ({"budget": "custom", "max_runtime_secs": "", "max_models": 4}, {"max_runtime_secs": None, "max_models": 4}),
    ({"test_split": 20, "nfolds": 3, "seed": 7}, {"test_split": 0.2, "nfolds": 3, "seed": 7}),
    ({"algos": ["GLM", "DRF"]}, {"exclude_algos": ["GBM", "XRT", "DeepLearning", "CatBoost", "XGBoost", "StackedEnsemble"]}),
    ({"sort_metric": "binary:logloss"}, {"sort_metric": "logloss"}),
])
def test_the_new_experiment_form_turns_presets_and_advanced_settings_into_options(owner_client, fields, options):
    dataset = upload_page(owner_client, synthetic("binary", n=60))
    experiment = start(owner_client, dataset, **fields)
    for key, value in options.items():
        assert experiment.options[key] == value, key


@pytest.mark.parametrize("fields, message", [
    ({"sort_metric": "regression:rmse"}, "That measure is for regression tasks"),
    ({"algos": ["StackedEnsemble"]}, "Keep at least one algorithm"),
    ({"budget": "custom", "max_runtime_secs": "", "max_models": ""}, "Give a time limit in seconds"),
    ({"nfolds": 1}, "2 folds or more"),
    ({"test_split": 80}, "less than or equal to 50"),
    ({"target": "not-a-column"}, "Select a valid choice"),
])
def test_the_new_experiment_form_explains_what_is_wrong(owner_client, fields, message):
    dataset = upload_page(owner_client, synthetic("binary", n=60))
    form = {"target": "y", "task": "auto", "budget": "quick", "nfolds": 2, "seed": 1, "algos_shown": "1",
            "algos": ["GLM"], **fields}
    for url in (f"/datasets/{dataset.pk}/new-experiment/", f"/datasets/{dataset.pk}/"):
        response = owner_client.post(url, form)
        assert response.status_code == 400 and message in unescape(response.content.decode()), url
    assert not Experiment.objects.exists()


def test_the_target_check_gives_the_task_its_reason_and_warnings(owner_client):
    frame = synthetic("binary", n=200)
    frame.loc[frame.index[:6], "y"] = "maybe"  # a rare third class
    frame["answer"] = frame["y"].map({"yes": "A", "no": "B", "maybe": "C"})  # gives the target away
    dataset = upload_page(owner_client, frame)
    check = owner_client.get(f"/datasets/{dataset.pk}/target-check.json", {"target": "y"}).json()
    assert check["task"] == "multiclass" and "3 categories" in check["reason"]
    notes = " ".join(check["warnings"])
    assert "'answer' alone predicts the target almost perfectly" in notes and "Imbalanced classes" in notes
    numbers = owner_client.get(f"/datasets/{dataset.pk}/target-check.json", {"target": "x1"}).json()
    assert numbers["task"] == "regression" and "numeric" in numbers["reason"]
    forced = owner_client.get(f"/datasets/{dataset.pk}/target-check.json", {"target": "colour", "task": "regression"})
    assert "cannot be predicted as a number" in forced.json()["error"]
    assert owner_client.get(f"/datasets/{dataset.pk}/target-check.json", {"target": "nope"}).status_code == 400


def test_a_finished_binary_run_shows_its_leader_in_words_charts_for_every_model_and_comparisons(owner_client):
    experiment = finished(owner_client, "binary")
    html = owner_client.get(f"/experiments/{experiment.pk}/").content.decode()
    assert 'id="leader-card"' in html and "Tells the two outcomes apart" in html
    assert "from automl_engine import load_model" in html and 'id="model-picker"' in html
    across = [v for k, v in json_scripts(html).items() if k.startswith("across-")]
    assert [c["key"] for c in across] == ["accuracy-vs-speed", "importance-heatmap", "model-correlation"]
    fragment = owner_client.get(f"/experiments/{experiment.pk}/results/").content.decode()
    assert 'id="leader-card"' in fragment and 'id="compare"' in fragment

    results = ModelResult.objects.filter(experiment=experiment)
    assert results.count() >= 3 and any(r.model_id.startswith("StackedEnsemble") for r in results)
    for result in results:
        payload = owner_client.get(f"/experiments/{experiment.pk}/models/{result.model_id}/charts.json").json()
        keys = [c["key"] for c in payload["charts"]]
        assert {"importance", "confusion-matrix", "roc", "pr", "shap"} <= set(keys), result.model_id
        assert payload["pdp"] and set(payload["pdp"]) <= set(payload["pdp_features"])
        page = owner_client.get(f"/experiments/{experiment.pk}/models/{result.model_id}/")
        assert page.status_code == 200 and b'id="cv-metrics"' in page.content and b"AUC" in page.content
        if result.model_id.startswith("StackedEnsemble"):  # its members' weights and calibration, in words
            params = unescape(page.content.decode().split('id="params"')[1].split("</table>")[0])
            calibration = re.search(r"calibration</td><td[^>]*>([^<]+)<", params)  # stored keys may come back sorted
            assert "{" not in params and calibration
            assert re.fullmatch(r"(temperature|prior_share) [\d.]+, (temperature|prior_share) [\d.]+", calibration[1])
            assert re.search(r"base_models</td><td[^>]*>\w+_\d+ [\d.]+", params)


def test_partial_dependence_is_computed_for_any_column_once_and_kept(owner_client):
    experiment = finished(owner_client, "regression")
    leader = experiment.leader
    shown = {p["feature"] for p in leader.explanation["partial_dependence"]}
    url = f"/experiments/{experiment.pk}/models/{leader.model_id}/pdp.json"
    for feature in ("x1", "x2", "colour"):
        body = owner_client.get(url, {"feature": feature}).json()
        chart = body["chart"]
        assert chart["layout"]["title"]["text"] == f"Effect of {feature} (partial dependence)"
        assert chart["layout"]["yaxis"]["title"]["text"] == "average predicted y" or feature == "colour"
        assert all(len(trace["y"] if trace["type"] == "scatter" else trace["x"]) > 1 for trace in chart["data"])
    kept = {p["feature"] for p in ModelResult.objects.get(pk=leader.pk).explanation["partial_dependence"]}
    assert kept == shown | {"x1", "x2", "colour"} and len(kept) == len(
        ModelResult.objects.get(pk=leader.pk).explanation["partial_dependence"])
    assert owner_client.get(url, {"feature": "y"}).status_code == 400
    assert owner_client.get(url, {"feature": "<script>"}).status_code == 400


def test_predicting_a_new_file_reports_its_columns_plainly_and_offers_both_downloads(owner_client):
    experiment = finished(owner_client, "binary", n=150)
    new = synthetic("binary", n=40, seed=3)
    new.loc[:2, "colour"] = "purple"
    new["x1"] = new["x1"].astype(object)
    new.loc[3:4, "x1"] = "lots"
    new = new.drop(columns=["x2"]).assign(note="hello")
    response = owner_client.post(f"/experiments/{experiment.pk}/predict/", {
        "model": experiment.leader_model_id,
        "file": SimpleUploadedFile("new.csv", new.to_csv(index=False).encode(), "text/csv")})
    html = unescape(response.content.decode())
    assert response.status_code == 200 and 'id="predictions-table"' in html
    assert "Missing columns: 'x2'" in html
    assert "ignored: 'note'" in html
    assert "values never seen in training: 'purple' (3 rows)" in html
    assert "'x1' should hold numbers, but 2 rows" in html
    assert "This file has the actual 'y'" in html
    assert html.count("<tr>") == 41  # the header and one row per prediction
    links = re.findall(r'href="(/experiments/\d+/predictions/[0-9a-f]{32}/[a-z-]+\.csv)"', html)
    assert len(links) == 2
    predictions = pd.read_csv(io.BytesIO(b"".join(owner_client.get(links[0]).streaming_content)))
    assert list(predictions.columns) == ["predict", "no", "yes"] and len(predictions) == 40
    np.testing.assert_allclose(predictions[["no", "yes"]].sum(axis=1), 1.0, rtol=1e-6)
    with_input = pd.read_csv(io.BytesIO(b"".join(owner_client.get(links[1]).streaming_content)))
    assert list(with_input.columns)[:4] == ["x1", "colour", "y", "note"] and "predict" in with_input.columns


def test_a_bad_file_on_the_predict_page_gets_a_message_not_an_error_page(owner_client):
    experiment = finished(owner_client, "binary")
    url = f"/experiments/{experiment.pk}/predict/"
    for content, message in [(b"", "empty"), (b"\x00\x01\x02\x03binary", "not a CSV"),
                             (b"a,b\n1,2\n3,4\n", "None of the columns the model was trained on")]:
        response = owner_client.post(url, {"model": experiment.leader_model_id,
                                           "file": SimpleUploadedFile("bad.csv", content, "text/csv")})
        text = unescape(response.content.decode())
        assert response.status_code == 400 and message.lower() in text.lower(), content
        assert "Traceback" not in text and "Error:" not in text
    missing = owner_client.post(url, {"model": experiment.leader_model_id})
    assert missing.status_code == 400 and "Choose a CSV file to score" in missing.content.decode()
    unknown = owner_client.post(url, {"model": "NoSuchModel_1", "file": SimpleUploadedFile("n.csv", b"x1\n1\n")})
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()


def test_other_users_get_404_from_every_dashboard_page(owner_client, other_client):
    experiment = finished(owner_client, "binary")
    leader = experiment.leader_model_id
    scored = owner_client.post(f"/experiments/{experiment.pk}/predict/", {
        "model": leader, "file": SimpleUploadedFile("n.csv", synthetic("binary", n=10).to_csv(index=False).encode())})
    link = re.search(r'href="(/experiments/\d+/predictions/[0-9a-f]{32}/predictions\.csv)"', scored.content.decode())[1]
    urls = [f"/datasets/{experiment.dataset_id}/new-experiment/",
            f"/datasets/{experiment.dataset_id}/target-check.json?target=y",
            f"/experiments/{experiment.pk}/results/", f"/experiments/{experiment.pk}/predict/",
            f"/experiments/{experiment.pk}/models/{leader}/", f"/experiments/{experiment.pk}/models/{leader}/charts.json",
            f"/experiments/{experiment.pk}/models/{leader}/pdp.json?feature=x1", link]
    for url in urls:
        assert owner_client.get(url).status_code == 200, url
        assert other_client.get(url).status_code == 404, url
    assert other_client.post(f"/experiments/{experiment.pk}/predict/", {"model": leader}).status_code == 404
    assert owner_client.get(link.replace("predictions.csv", "secrets.csv")).status_code == 404
    assert owner_client.get(f"/experiments/{experiment.pk}/predictions/{'0' * 32}/predictions.csv").status_code == 404


def test_rows_kept_aside_give_test_metrics_on_the_model_page(owner_client):
    experiment = finished(owner_client, "regression", n=160, test_split=25)
    leader = experiment.leader
    assert leader.test_metrics and leader.test_metrics["rmse"] > 0
    started = experiment.events.get(kind="run_started").data
    assert started["n_rows"] == 120  # 160 rows, a quarter kept aside
    page = owner_client.get(f"/experiments/{experiment.pk}/models/{leader.model_id}/").content.decode()
    assert "Test rows" in page


def test_the_status_json_says_why_a_model_failed_without_python_names_and_carries_run_notes(owner_client):
    experiment = finished(owner_client, "binary")
    ModelResult.objects.create(experiment=experiment, model_id="XRT_9", algo="XRT", status="failed",
                               error="ValueError: Input contains NaN, infinity or a value too large.")
    body = owner_client.get(f"/experiments/{experiment.pk}/status.json").json()
    failed = body["failed_models"][0]
    assert failed["reason"] == "Input contains NaN, infinity or a value too large."
    assert failed["error"].startswith("ValueError")  # the API keeps the original text
    assert body["run_info"]["n_rows"] == 120 and isinstance(body["run_info"]["warnings"], list)
    assert all(row["url"].endswith(f"/models/{row['model_id']}/") for row in body["leaderboard"])


def test_home_lists_experiments_with_their_leader_and_score(owner_client):
    experiment = finished(owner_client, "regression")
    html = owner_client.get("/").content.decode()
    assert f'href="/experiments/{experiment.pk}/models/{experiment.leader_model_id}/"' in html
    assert re.search(r"±[0-9.]+ on average", html)
    assert 'action="/samples/wine-quality/"' in html


def test_the_budget_keeps_a_reserve_for_explanations_inside_it():
    from webapp.core.explanations import engine_budget, explanation_reserve

    assert engine_budget(60) == 54 and engine_budget(300) == 270  # a tenth for the explanations
    assert explanation_reserve(10) == 3 and engine_budget(10) == 7  # at least three seconds
    assert engine_budget(4) == 2  # never more than half of a tiny budget
    assert engine_budget(None) is None  # a budget in models: the engine has no clock


def test_explaining_models_that_would_overrun_the_budget_waits_until_they_are_opened(owner_client, monkeypatch):
    # As if each model had to predict a billion rows to be explained: none fits in the run's time.
    monkeypatch.setattr("webapp.core.explanations.explain_rows", lambda n_rows, n_features: 10**9)
    experiment = finished(owner_client, "binary", n=150)
    assert experiment.status == "succeeded" and experiment.leader_model_id
    assert not experiment.results.exclude(explanation__isnull=True).exists()
    payload = owner_client.get(f"/experiments/{experiment.pk}/models/{experiment.leader_model_id}/charts.json").json()
    assert "importance" in {c["key"] for c in payload["charts"]}  # computed when first asked for
    assert ModelResult.objects.get(experiment=experiment, model_id=experiment.leader_model_id).explanation


def test_a_model_the_run_did_not_explain_gets_its_charts_when_first_opened(owner_client):
    experiment = finished(owner_client, "binary", n=200, test_split=20)
    other = experiment.results.exclude(model_id=experiment.leader_model_id).exclude(algo="StackedEnsemble").exclude(
        explanation__isnull=True).first()  # one the run explained, to compare with
    stored = other.explanation
    ModelResult.objects.filter(pk=other.pk).update(explanation=None)
    heatmap = dict(experiment.explanation["importance_heatmap"])
    Experiment.objects.filter(pk=experiment.pk).update(
        explanation={**experiment.explanation, "importance_heatmap": {**heatmap, "models": [experiment.leader_model_id]}})

    payload = owner_client.get(f"/experiments/{experiment.pk}/models/{other.model_id}/charts.json").json()
    assert {"importance", "confusion-matrix", "roc", "shap"} <= {c["key"] for c in payload["charts"]}
    assert "note" not in payload
    kept = ModelResult.objects.get(pk=other.pk).explanation
    # the out-of-fold predictions were kept with the model: the same curves as the run drew
    assert kept["roc"][0]["auc"] == pytest.approx(stored["roc"][0]["auc"], abs=1e-6)
    assert other.model_id in Experiment.objects.get(pk=experiment.pk).explanation["importance_heatmap"]["models"]


def test_scoring_the_training_rows_says_the_predictions_flatter_the_model(owner_client):
    experiment = finished(owner_client, "binary", n=150)
    training = synthetic("binary", n=150)  # the rows the model was trained on
    new = synthetic("binary", n=40, seed=3)
    url = f"/experiments/{experiment.pk}/predict/"

    def notes(frame) -> str:
        response = owner_client.post(url, {"model": experiment.leader_model_id, "file": SimpleUploadedFile(
            "rows.csv", frame.to_csv(index=False).encode(), "text/csv")})
        return unescape(response.content.decode())

    html = notes(pd.concat([training.head(30), new.head(10)]))
    assert "30 of these 40 rows (75%) are rows the model was trained on (rows 1, 2, 3, 4, 5…)" in html
    assert "use its cross-validated score (AUC " in html
    assert "rows the model was trained on" not in notes(new)


def test_the_suggested_target_comes_with_its_reason(owner_client):
    titanic = pd.read_csv(DATA / "titanic.csv")
    dataset = upload_page(owner_client, titanic)
    html = unescape(owner_client.get(f"/datasets/{dataset.pk}/").content.decode())
    assert "Suggested: Survived, because its name is the kind of thing people predict" in html.replace(
        "<strong>", "").replace("</strong>", "")
    assert re.search(r'<option value="Survived" selected>', html)
    plain = upload_page(owner_client, synthetic("regression", n=60).rename(columns={"y": "amount"}))
    html = unescape(owner_client.get(f"/datasets/{plain.pk}/").content.decode())
    assert "it is the last column" in html


def test_a_multiclass_model_gets_the_shap_values_of_every_class_when_its_charts_are_first_opened(owner_client):
    experiment = finished(owner_client, "multiclass", n=150)
    leader = ModelResult.objects.get(experiment=experiment, model_id=experiment.leader_model_id)
    assert "classes" not in leader.explanation["shap"]  # the run explains one class, in its budget
    url = f"/experiments/{experiment.pk}/models/{leader.model_id}/charts.json"
    shap = {c["key"]: c for c in owner_client.get(url).json()["charts"]}["shap"]
    picker = shap["layout"]["updatemenus"][0]
    assert [b["label"] for b in picker["buttons"]] == ["class 'high'", "class 'low'", "class 'mid'"]
    kept = ModelResult.objects.get(pk=leader.pk).explanation["shap"]
    assert [c["class"] for c in kept["classes"]] == ["high", "low", "mid"]
    assert kept["classes"][0]["values"] == leader.explanation["shap"]["values"]
    page = owner_client.get(f"/experiments/{experiment.pk}/models/{leader.model_id}/").content.decode()
    assert "class 'mid'" in page
