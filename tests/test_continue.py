"""Continuing a finished experiment: the search goes on on the same folds, new models join the leaderboard."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automl_engine import AutoML
from webapp.core import explanations, runs
from webapp.core.explanations import explain_on_demand
from webapp.core.models import Experiment, ModelResult
from tests.helpers import synthetic

ENSEMBLES = {"StackedEnsemble_AllModels_1", "StackedEnsemble_BestOfFamily_1"}


def experiment_on(api, task: str, n: int, **options) -> int:
    """An experiment through the API on a synthetic table of ``n`` rows, target ``y``; its id."""
    content = synthetic(task, n=n).to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", **options}
    return api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]


def first_layer(model_ids) -> set:
    """The models a search trains, without the stacked ones (which every pass rebuilds)."""
    return {m for m in model_ids if not m.startswith("StackedEnsemble_")}


def test_the_engine_goes_on_from_an_earlier_run():
    frame = synthetic("binary", n=300)
    first = AutoML(max_models=3, nfolds=3, seed=4).fit(frame, "y")
    base = {k: m for k, m in first.models.items() if m.algo != "StackedEnsemble"}
    previous = [(m, first.out_of_fold(k)) for k, m in base.items()]
    more = AutoML(max_models=2, nfolds=3, seed=4, validation=first.validation_.to_dict())
    more.fit(frame, "y", previous=previous, tried=[f["model_id"] for f in first.failures])
    new = first_layer(more.models) - set(base)
    assert len(new) == 2 and not new & set(base)  # two new models, none trained twice
    rows = {r["model_id"]: r for r in more.leaderboard}
    for model_id, model in base.items():  # the old models are kept as they were, on the same folds
        assert more.models[model_id] is model and rows[model_id]["auc"] == pytest.approx(model.metrics["auc"])
    assert [s[1].tolist() for s in more._splits] == [s[1].tolist() for s in first._splits]
    members = set(more.models["StackedEnsemble_AllModels_1"].params["base_models"])
    assert members <= set(more.models) and members & new or len(members) == 1  # rebuilt over old and new


def test_a_changed_table_cannot_be_continued():
    frame = synthetic("regression", n=200)
    first = AutoML(max_models=1, nfolds=2, seed=1).fit(frame, "y")
    previous = [(m, first.out_of_fold(k)) for k, m in first.models.items()]
    with pytest.raises(Exception, match="changed"):
        AutoML(max_models=1, nfolds=2, validation=first.validation_.to_dict()).fit(
            frame.iloc[:150], "y", previous=previous)


@pytest.mark.django_db
def test_continuing_through_the_api_adds_models_to_the_same_leaderboard(owner_api, other_api):
    experiment_id = experiment_on(owner_api, "binary", 250, nfolds=3, seed=3, max_models=2)
    url = f"/api/experiments/{experiment_id}/continue/"
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    before = {r["model_id"]: r["auc"] for r in owner_api.get(f"/api/experiments/{experiment_id}/").json()["leaderboard"]}
    first = ModelResult.objects.filter(experiment_id=experiment_id).exclude(model_id__startswith="StackedEnsemble_")
    if not first.filter(explanation__isnull=False).exists():
        # the run leaves a model whose explaining it expects to overrun (a busy machine) to its page: open one
        explain_on_demand(Experiment.objects.get(pk=experiment_id), first.first())
    explained = set(first.filter(explanation__isnull=False).values_list("model_id", flat=True))

    assert other_api.post(url, json.dumps({"max_models": 2}), content_type="application/json").status_code == 404
    refused = owner_api.post(url, "{}", content_type="application/json")
    assert refused.status_code == 400 and "max_runtime_secs" in refused.json()["error"]
    response = owner_api.post(url, json.dumps({"max_models": 2}), content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    again = owner_api.post(url, json.dumps({"max_models": 2}), content_type="application/json")
    assert again.status_code == 400 and "running" in again.json()["error"]  # one pass at a time

    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    state = owner_api.get(f"/api/experiments/{experiment_id}/").json()
    after = {r["model_id"]: r["auc"] for r in state["leaderboard"]}
    kept = {k: v for k, v in before.items() if k in first_layer(before)}
    assert all(after[k] == pytest.approx(v) for k, v in kept.items())  # old models kept, scores unchanged
    new = first_layer(after) - set(before)
    assert len(new) == 2 and state["progress"]["models_done"] == 4 and state["progress"]["models_before"] == 2
    assert ENSEMBLES & set(after) and state["leader"] in after
    ensemble = ModelResult.objects.get(experiment_id=experiment_id, model_id="StackedEnsemble_AllModels_1")
    assert set(ensemble.params["base_models"]) & new or len(ensemble.params["base_models"]) == 1
    assert ModelResult.objects.get(experiment_id=experiment_id, model_id=state["leader"]).explanation
    heatmap = Experiment.objects.get(pk=experiment_id).explanation["importance_heatmap"]
    assert explained and explained <= set(heatmap["models"])  # the first pass's explanations are kept and shown
    receipt = owner_api.get(f"/api/experiments/{experiment_id}/receipt/").json()
    assert receipt["settings"]["max_models"] == 2 and receipt["continued"][0]["max_models"] == 2
    assert "continued 1 time" in receipt["reproducible_because"]


@pytest.mark.django_db
def test_a_continued_pass_out_of_time_to_explain_keeps_the_earlier_explanations_in_the_heatmap(owner_api, monkeypatch):
    experiment_id = experiment_on(owner_api, "regression", 200, nfolds=2, seed=2, max_models=2)
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    experiment = Experiment.objects.get(pk=experiment_id)
    first = ModelResult.objects.filter(experiment_id=experiment_id).exclude(model_id__startswith="StackedEnsemble_")
    for result in first.filter(explanation__isnull=True):
        explain_on_demand(experiment, result)
    explained = set(first.values_list("model_id", flat=True))
    assert len(explained) == 2

    # the second pass has no time left to explain its models: they are explained when first opened
    monkeypatch.setattr(explanations, "MODEL_COUNT_BUDGET_SECS", 0.0)
    owner_api.post(f"/api/experiments/{experiment_id}/continue/", json.dumps({"max_models": 2}),
                   content_type="application/json")
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    board = [r.model_id for r in Experiment.objects.get(pk=experiment_id).leaderboard()]
    heatmap = Experiment.objects.get(pk=experiment_id).explanation["importance_heatmap"]
    assert len(board) > 3 and explained <= set(heatmap["models"])  # the first pass's are kept and shown
    assert set(heatmap["models"]) == explained  # the second pass's were left to be explained on opening


@pytest.mark.django_db
def test_the_page_continues_for_more_minutes(owner_api, client, owner):
    experiment_id = experiment_on(owner_api, "regression", 150, nfolds=2, max_models=1)
    client.force_login(owner)
    page = f"/experiments/{experiment_id}/"
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    assert 'id="continue-form"' in client.get(page).content.decode()
    assert client.post(f"{page}continue/", {"minutes": "7"}).status_code == 302  # not offered: refused
    assert Experiment.objects.get(pk=experiment_id).status == "succeeded"
    response = client.post(f"{page}continue/", {"minutes": "1"})
    assert response.status_code == 302 and response["Location"] == page
    experiment = Experiment.objects.get(pk=experiment_id)
    assert experiment.status == "queued" and experiment.options["continued"][0]["max_runtime_secs"] == 60
    assert 'id="continue-form"' not in client.get(page).content.decode()  # not while it runs
