"""The JSON API and pages on the real database: auth, ownership, validation, the run path."""
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from webapp.core import runs
from webapp.core.models import ApiToken, Experiment, ExperimentEvent, ModelResult
from tests.helpers import DATA, synthetic

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name="data.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/datasets/", {"file": SimpleUploadedFile(name, content, "text/csv")})


def synthetic_csv(task="regression", n=120) -> bytes:
    return synthetic(task, n=n).to_csv(index=False).encode()


def create_experiment(client, dataset_id, **body):
    body = {"dataset": dataset_id, "target": "y", "max_models": 2, "nfolds": 3, **body}
    return client.post("/api/experiments/", json.dumps(body), content_type="application/json")


def test_create_api_token_creates_the_user_and_prints_the_token_last(django_user_model):
    out = io.StringIO()
    call_command("create_api_token", "scripts-user", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    user = django_user_model.objects.get(username="scripts-user")
    assert ApiToken.user_for_key(token) == user


def test_anonymous_visitors_get_401_from_the_api_and_a_login_page(client):
    assert client.get("/api/datasets/").status_code == 401
    response = client.get("/")
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_wrong_token_gets_401(client):
    response = client.get("/api/datasets/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401 and "not valid" in response.json()["error"]


def test_upload_returns_the_dataset_with_inferred_columns(owner_api):
    response = upload(owner_api, (DATA / "wine_quality_train.csv").read_bytes(), "wine.csv")
    assert response.status_code == 201
    body = response.json()
    assert body["n_rows"] == 5205 and body["n_cols"] == 13
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["quality"] == "numeric" and types["type"] == "categorical"
    detail = owner_api.get(f"/api/datasets/{body['id']}/").json()
    assert len(detail["preview"]) == 10 and detail["profile"][0]["name"] == "fixed acidity"


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"only,a,header\n", "no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
])
def test_bad_files_get_a_400_with_a_message(owner_api, content, message):
    response = upload(owner_api, content)
    assert response.status_code == 400
    assert message in response.json()["error"].lower()


def test_experiment_validation_errors_are_400(owner_api):
    dataset_id = upload(owner_api, synthetic_csv()).json()["id"]
    assert "not a column" in create_experiment(owner_api, dataset_id, target="nope").json()["error"]
    assert create_experiment(owner_api, dataset_id, max_models="many").status_code == 400
    assert create_experiment(owner_api, dataset_id, task="guess").status_code == 400
    unknown = create_experiment(owner_api, dataset_id, exclude_algos=["AdaBoost"])
    assert unknown.status_code == 400 and "Unknown algorithm" in unknown.json()["error"]
    response = owner_api.post("/api/experiments/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    deep = '{"dataset": ' + "[" * 990 + "]" * 990 + "}"
    for url in ("/api/experiments/", "/api/datasets/", "/api/experiments/estimate/"):
        response = owner_api.post(url, deep, content_type="application/json")
        assert response.status_code == 400 and "nested too deeply" in response.json()["error"], url
    for shape in ("[1, 2]", '"text"', "3"):  # valid JSON, not an object
        response = owner_api.post("/api/experiments/", shape, content_type="application/json")
        assert response.status_code == 400 and "JSON object" in response.json()["error"]


def test_other_users_get_404_for_datasets_experiments_and_downloads(owner_api, other_api, owner):
    dataset_id = upload(owner_api, synthetic_csv()).json()["id"]
    experiment_id = create_experiment(owner_api, dataset_id).json()["id"]
    runs.run_experiment(experiment_id, "test")
    leader = Experiment.objects.get(pk=experiment_id).leader_model_id
    assert owner_api.get(f"/api/experiments/{experiment_id}/leader/download/").status_code == 200
    for url in [f"/api/datasets/{dataset_id}/", f"/api/experiments/{experiment_id}/",
                f"/api/experiments/{experiment_id}/leader/download/",
                f"/api/experiments/{experiment_id}/models/{leader}/download/"]:
        assert other_api.get(url).status_code == 404, url
    assert other_api.post(f"/api/experiments/{experiment_id}/cancel/").status_code == 404
    assert create_experiment(other_api, dataset_id).status_code == 404
    assert other_api.get("/api/experiments/").json()["experiments"] == []


def test_the_run_writes_rows_events_and_a_leader_and_a_redelivery_changes_nothing(owner_api):
    dataset_id = upload(owner_api, synthetic_csv("binary")).json()["id"]
    experiment_id = create_experiment(owner_api, dataset_id).json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    body = owner_api.get(f"/api/experiments/{experiment_id}/").json()
    assert body["status"] == "succeeded" and body["task"] == "binary" and body["sort_metric"] == "auc"
    ids = [r["model_id"] for r in body["leaderboard"]]
    assert "GLM_1" in ids and len(ids) >= 2 and body["leader"] == ids[0]  # the plan order is the engine's
    aucs = [r["auc"] for r in body["leaderboard"]]
    assert aucs == sorted(aucs, reverse=True)
    experiment = Experiment.objects.get(pk=experiment_id)
    leader = experiment.results.get(model_id=body["leader"])
    assert leader.explanation["variable_importance"][0]["importance"] == 1.0
    assert leader.explanation["roc"][0]["auc"] > 0.5
    assert experiment.explanation["importance_heatmap"]["models"][0] == body["leader"]
    info = body["run_info"]
    assert info["validation"] == "3-fold CV" and info["library_versions"]["scikit-learn"]
    assert info["forecast"]["expected_models"] == 2 and info["forecast"]["actual_models"] == 2
    assert info["forecast"]["actual_wall_secs"] >= 0
    assert any("scored by 3-fold CV" in e["message"] for e in body["events"])
    rows, events = ModelResult.objects.count(), ExperimentEvent.objects.count()
    assert runs.run_experiment(experiment_id, "test") == "skipped"
    assert (ModelResult.objects.count(), ExperimentEvent.objects.count()) == (rows, events)
    assert Experiment.objects.get(pk=experiment_id).status == "succeeded"


def test_predict_returns_csv_with_class_probabilities(owner_api):
    dataset_id = upload(owner_api, synthetic_csv("multiclass")).json()["id"]
    experiment_id = create_experiment(owner_api, dataset_id).json()["id"]
    runs.run_experiment(experiment_id, "test")
    from django.core.files.uploadedfile import SimpleUploadedFile

    new = synthetic("multiclass", n=15, seed=3).drop(columns=["y"]).to_csv(index=False).encode()
    response = owner_api.post(f"/api/experiments/{experiment_id}/predict/",
                              {"file": SimpleUploadedFile("new.csv", new, "text/csv")})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "predict,high,low,mid" and len(lines) == 16


def test_cancel_before_the_worker_starts_marks_the_experiment_cancelled(owner_api):
    dataset_id = upload(owner_api, synthetic_csv()).json()["id"]
    experiment_id = create_experiment(owner_api, dataset_id).json()["id"]
    assert owner_api.post(f"/api/experiments/{experiment_id}/cancel/").json()["status"] == "cancelled"
    assert runs.run_experiment(experiment_id, "test") == "skipped"
    assert ModelResult.objects.filter(experiment_id=experiment_id).count() == 0


def test_a_target_with_one_value_is_refused_and_a_run_on_it_fails_with_a_message(owner_api, owner):
    frame = synthetic("regression", n=60)
    frame["y"] = 1.0
    dataset_id = upload(owner_api, frame.to_csv(index=False).encode()).json()["id"]
    refused = create_experiment(owner_api, dataset_id)
    assert refused.status_code == 400 and "only one value" in refused.json()["error"]
    assert not Experiment.objects.exists()
    # Should such a run start anyway (the check is made from the profile), the engine refuses it.
    experiment = Experiment.objects.create(owner=owner, dataset_id=dataset_id, target="y",
                                           options={"max_models": 2, "nfolds": 3})
    runs.run_experiment(experiment.pk, "test")
    body = owner_api.get(f"/api/experiments/{experiment.pk}/").json()
    assert body["status"] == "failed" and "only one value" in body["error"]


def test_pages_for_the_owner_and_404_for_others(client, owner, other_user, owner_api):
    dataset_id = upload(owner_api, synthetic_csv()).json()["id"]
    client.force_login(owner)
    page = client.get(f"/datasets/{dataset_id}/")
    assert page.status_code == 200 and b"What do you want to predict?" in page.content
    response = client.post(f"/datasets/{dataset_id}/", {"target": "y", "task": "auto", "budget": "models",
                                                        "max_models": 2, "nfolds": 3, "seed": 1})
    assert response.status_code == 302
    experiment = Experiment.objects.get()
    assert experiment.options["max_models"] == 2 and experiment.options["max_runtime_secs"] is None
    assert client.get(f"/experiments/{experiment.pk}/").status_code == 200
    client.force_login(other_user)
    assert client.get(f"/datasets/{dataset_id}/").status_code == 404
    assert client.get(f"/experiments/{experiment.pk}/").status_code == 404
    assert client.get(f"/experiments/{experiment.pk}/status.json").status_code == 404


def test_signup_logs_the_new_user_in(client):
    response = client.post("/signup/", {"username": "newbie", "password1": "a-long-passphrase-9",
                                        "password2": "a-long-passphrase-9"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_session_api_posts_need_csrf(owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = upload(client, synthetic_csv())
    assert response.status_code == 403


def estimate(client, dataset_id, **body):
    body = {"dataset": dataset_id, "target": "y", **body}
    return client.post("/api/experiments/estimate/", json.dumps(body), content_type="application/json")


def test_the_pre_flight_estimate_answers_from_the_cost_model_and_creates_nothing(owner_api, other_api):
    dataset_id = upload(owner_api, synthetic_csv("binary", n=400)).json()["id"]
    response = estimate(owner_api, dataset_id, max_runtime_secs=60)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["task"] == "binary" and body["n_rows"] == 400
    assert body["validation"]["description"] == "5-fold CV"
    assert body["expected_models"] >= 5 and body["peak_memory_mb"] > 0 and not body["budget_too_small"]
    assert [b["max_runtime_secs"] for b in body["models_by_budget"]][:2] == [60, 300]
    by_models = estimate(owner_api, dataset_id, max_models=3).json()
    assert by_models["expected_models"] == 3 and by_models["expected_wall_secs"] > 0
    assert Experiment.objects.count() == 0
    # the same checks as creating one, and the same answer for other people's datasets
    wrong = estimate(owner_api, dataset_id, target="nope")
    assert wrong.status_code == 400 and "not a column" in wrong.json()["error"]
    assert estimate(owner_api, dataset_id, nfolds=1).status_code == 400
    assert estimate(other_api, dataset_id).status_code == 404
    assert owner_api.get("/api/experiments/estimate/").status_code == 405


def test_the_page_and_the_api_store_the_same_settings_and_both_take_a_test_split(owner_api, client, owner):
    dataset_id = upload(owner_api, synthetic_csv("binary", n=200)).json()["id"]
    body = {"max_models": 2, "max_runtime_secs": None, "nfolds": 3, "seed": 9, "test_split": 0.25,
            "exclude_algos": ["DeepLearning"]}
    by_api = create_experiment(owner_api, dataset_id, **body).json()["id"]
    client.force_login(owner)
    client.post(f"/datasets/{dataset_id}/", {
        "target": "y", "task": "auto", "budget": "custom", "max_models": "2", "nfolds": "3", "seed": "9",
        "test_split": "25", "algos_shown": "1",
        "algos": ["GLM", "DRF", "GBM", "XRT", "CatBoost", "XGBoost", "StackedEnsemble"]})
    by_page = Experiment.objects.exclude(pk=by_api).get()
    assert Experiment.objects.get(pk=by_api).options == by_page.options
    assert by_page.options["test_split"] == 0.25 and by_page.options["exclude_algos"] == ["DeepLearning"]
    assert runs.run_experiment(by_api, "test") == "succeeded"
    leader = ModelResult.objects.get(experiment_id=by_api, model_id=Experiment.objects.get(pk=by_api).leader_model_id)
    assert leader.test_metrics and 0 <= leader.test_metrics["auc"] <= 1  # scored on the rows kept aside
    for bad, field in (({"test_split": 0.9}, "test_split"), ({"test_split": "a"}, "test_split"),
                       ({"exclude_algos": ["GLM", "DRF", "GBM", "XRT", "DeepLearning", "CatBoost", "XGBoost"]},
                        "besides stacked")):
        response = create_experiment(owner_api, dataset_id, **bad)
        assert response.status_code == 400 and field in response.json()["error"], bad
        estimate = owner_api.post("/api/experiments/estimate/", json.dumps({"dataset": dataset_id, "target": "y", **bad}),
                                  content_type="application/json")
        assert estimate.status_code == 400 and field in estimate.json()["error"], bad
