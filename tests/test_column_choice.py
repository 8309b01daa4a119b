"""Choosing the columns to learn from: leaving some out, and keeping one that looks like an identifier.

The engine sets aside a column with a different whole number in every row as a row number; a person who
knows that the numbers mean something (the order of time, here) can keep it, and can leave out a column
the models should not see. The engine, the command line, the page and the API take the same choice."""
import json
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from automl_engine import AutoML, DataError
from automl_engine.cli import main as cli_main
from webapp.core import runs
from webapp.core.models import Dataset, Experiment
from tests.helpers import synthetic


def ordered_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Rows in the order they were recorded: the target drifts with the row number `order`, which has a
    different whole number in every row; `noise` carries nothing."""
    rng = np.random.default_rng(seed)
    order = np.arange(1, n + 1)
    frame = pd.DataFrame({"order": order, "noise": rng.normal(size=n),
                          "shop": rng.choice(["north", "south"], size=n)})
    frame["y"] = np.sin(order / n * 6) * 3 + (frame["shop"] == "north") + rng.normal(scale=0.2, size=n)
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def fit(frame, **kwargs) -> AutoML:
    return AutoML(max_models=2, nfolds=3, seed=1, include_algos=["GBM"], **kwargs).fit(frame, "y")


def test_a_row_number_is_set_aside_unless_kept_and_kept_it_is_learnt_from():
    frame = ordered_table()
    default = fit(frame)
    assert default.spec_.dropped["order"].startswith("it is a row number")
    kept = fit(frame, keep_columns=["order"])
    assert "order" in kept.spec_.numeric and "order" not in kept.spec_.dropped
    assert kept.leader.features.count("order") == 1
    # The drift is most of the signal: learnt from, the error falls to a fraction of what it was.
    assert kept.leaderboard[0]["rmse"] < 0.5 * default.leaderboard[0]["rmse"]
    # The kept model scores new rows from the same columns.
    assert np.isfinite(kept.leader.predict(frame.drop(columns="y").head(5))["predict"]).all()


def test_a_column_left_out_is_not_learnt_from_and_says_why():
    frame = synthetic("regression", n=200)
    aml = fit(frame, ignore_columns=["colour"])
    assert aml.spec_.dropped["colour"] == "you chose to leave it out"
    assert "colour" not in aml.leader.features
    assert aml.leader.check_input(frame.drop(columns=["y", "colour"]))["missing"] == []


@pytest.mark.parametrize("kwargs, message", [
    ({"ignore_columns": ["colr"]}, "Asked to leave out 'colr', which is not a column of the data"),
    ({"keep_columns": ["y"]}, "'y' is the column to predict; it cannot also be a column to keep"),
    ({"ignore_columns": ["x1"], "keep_columns": ["x1"]}, "'x1' cannot be both left out and kept"),
    ({"ignore_columns": ["x1", "x2", "colour"]}, "No usable feature columns are left"),
])
def test_an_impossible_choice_of_columns_gets_a_plain_message(kwargs, message):
    with pytest.raises(DataError, match=message):
        fit(synthetic("regression", n=60), **kwargs)


def test_a_table_whose_only_feature_looks_like_an_identifier_says_how_to_keep_it(tmp_path, capsys):
    path = tmp_path / "series.csv"
    pd.DataFrame({"time": range(1, 121), "value": np.sin(np.arange(120) / 8)}).to_csv(path, index=False)
    assert cli_main(["train", str(path), "--target", "value", "--max-models", "1"]) == 2
    message = capsys.readouterr().err
    assert "'time' looked like row identifiers" in message and "--keep-columns" in message
    code = cli_main(["train", str(path), "--target", "value", "--max-models", "1", "--nfolds", "3",
                     "--include-algos", "GBM", "--keep-columns", "time", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out.splitlines()[-1])["leader"] == "GBM_1"


def test_the_command_line_takes_the_choice(tmp_path, capsys):
    path = tmp_path / "ordered.csv"
    ordered_table().to_csv(path, index=False)
    code = cli_main(["train", str(path), "--target", "y", "--max-models", "1", "--nfolds", "3",
                     "--include-algos", "GBM", "--keep-columns", "order", "--ignore-columns", "noise",
                     "--out", str(tmp_path / "m.automl"), "--json"])
    assert code == 0
    from automl_engine import load_model
    assert sorted(load_model(tmp_path / "m.automl").features) == ["order", "shop"]
    assert json.loads(capsys.readouterr().out)["leaderboard"]
    assert cli_main(["train", str(path), "--target", "y", "--ignore-columns", "nope"]) == 2
    assert "'nope', which is not a column of the data" in capsys.readouterr().err


# -- the web app --------------------------------------------------------------------------------------

def upload(client, frame, api=False) -> Dataset:
    content = SimpleUploadedFile("ordered.csv", frame.to_csv(index=False).encode(), "text/csv")
    response = client.post("/api/datasets/" if api else "/", {"file": content})
    assert response.status_code in (201, 302), response.content[:500]
    return Dataset.objects.latest("created_at")


@pytest.mark.django_db
def test_the_page_lists_the_columns_with_identifiers_unticked_and_starts_with_the_choice(owner):
    client = Client()
    client.force_login(owner)
    dataset = upload(client, ordered_table())
    page = client.get(f"/datasets/{dataset.pk}/").content.decode()
    boxes = {value: bool(checked)  # name -> ticked, from the rendered checkboxes
             for value, checked in re.findall(r'name="use_columns" value="([^"]+)"( checked)?', page)}
    assert boxes == {"order": False, "noise": True, "shop": True, "y": True}
    assert "it is a row number or ID" in page
    assert "'order' will not be used" in unescape(page) and "tick it under Advanced settings, Columns to learn from" in page
    form = {"target": "y", "task": "auto", "budget": "custom", "max_models": 1, "nfolds": 3, "seed": 1,
            "algos_shown": "1", "algos": ["GBM"], "columns_shown": "1", "use_columns": ["order", "shop", "y"]}
    response = client.post(f"/datasets/{dataset.pk}/new-experiment/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.latest("created_at")
    assert experiment.options["ignore_columns"] == ["noise"] and experiment.options["keep_columns"] == ["order"]
    assert runs.run_experiment(experiment.pk, "test") == "succeeded"
    receipt = client.get(f"/api/experiments/{experiment.pk}/receipt/").json()
    assert receipt["data"]["columns_not_used"] == {"noise": "you chose to leave it out"}
    assert receipt["data"]["feature_columns_used"] == 2
    # Without the hidden marker (a script written before the checkboxes), the defaults apply.
    del form["columns_shown"]
    assert client.post(f"/datasets/{dataset.pk}/new-experiment/", form).status_code == 302
    options = Experiment.objects.latest("created_at").options
    assert options["ignore_columns"] is None and options["keep_columns"] is None


@pytest.mark.django_db
def test_the_api_takes_the_choice_checks_it_and_the_receipt_and_estimate_show_it(owner_api):
    dataset = upload(owner_api, ordered_table(), api=True)

    def post(url, **fields):
        body = {"dataset": dataset.pk, "target": "y", "max_models": 1, "nfolds": 3, **fields}
        return owner_api.post(url, json.dumps(body), content_type="application/json")

    for fields, message in [
        ({"ignore_columns": ["nope"]}, "'ignore_columns' names 'nope', not a column of this dataset"),
        ({"keep_columns": ["y"]}, "'y' is the column to predict; it cannot also be in 'keep_columns'"),
        ({"ignore_columns": ["noise"], "keep_columns": ["noise"]}, "cannot be both left out"),
        ({"ignore_columns": ["noise", "shop"]}, "no column is left to learn from"),
        ({"ignore_columns": 7}, "'ignore_columns' must be a list of column names"),
    ]:
        for url in ("/api/experiments/", "/api/experiments/estimate/"):
            response = post(url, **fields)
            assert response.status_code == 400 and message in response.json()["error"], (url, response.json())
    assert not Experiment.objects.exists()

    features = [post("/api/experiments/estimate/", **fields).json()["n_features"]
                for fields in ({}, {"keep_columns": ["order"]}, {"ignore_columns": ["noise"]})]
    assert features == [2, 3, 1]
    response = post("/api/experiments/", keep_columns=["order"], include_algos=["GBM"])
    assert response.status_code == 201
    experiment_id = response.json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    receipt = owner_api.get(f"/api/experiments/{experiment_id}/receipt/").json()
    assert receipt["settings"]["keep_columns"] == ["order"] and receipt["settings"]["ignore_columns"] == []
    assert receipt["data"]["feature_columns_used"] == 3
    again = owner_api.post(f"/api/experiments/{experiment_id}/rerun/").json()["id"]
    assert Experiment.objects.get(pk=again).options["keep_columns"] == ["order"]


@pytest.mark.django_db
def test_a_table_whose_only_feature_looks_like_a_row_number_trains_once_the_api_keeps_it(owner_api):
    series = pd.DataFrame({"time": range(1, 121), "value": np.sin(np.arange(120) / 8)})
    dataset = upload(owner_api, series, api=True)

    def post(**fields):
        body = {"dataset": dataset.pk, "target": "value", "max_models": 1, "nfolds": 3, "include_algos": ["GBM"]}
        return owner_api.post("/api/experiments/", json.dumps({**body, **fields}), content_type="application/json")

    refused = post()
    assert refused.status_code == 400 and not Experiment.objects.exists()
    assert "If 'time' means something (a time, an order, a measurement), keep it (tick it under Advanced " \
           "settings, Columns to learn from; API: keep_columns)" in refused.json()["error"]
    response = post(keep_columns=["time"])
    assert response.status_code == 201, response.json()
    assert runs.run_experiment(response.json()["id"], "test") == "succeeded"
    receipt = owner_api.get(f"/api/experiments/{response.json()['id']}/receipt/").json()
    assert receipt["data"]["feature_columns_used"] == 1 and receipt["settings"]["keep_columns"] == ["time"]
