"""Experiments side by side through the API."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core import runs
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


def run(api, dataset_id, **options) -> int:
    body = {"dataset": dataset_id, "target": "y", "nfolds": 2, **options}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id


def test_two_experiments_side_by_side(owner_api, other_api):
    content = synthetic("regression", n=150).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    first = run(owner_api, dataset_id, max_models=1, seed=1)
    second = run(owner_api, dataset_id, max_models=2, seed=2)
    body = owner_api.get(f"/api/compare/?experiments={first},{second}").json()
    assert body["sort_metric"] == "rmse" and body["experiments"] == [first, second]
    assert body["settings_that_differ"] == {"max_models": {str(first): 1, str(second): 2},
                                            "seed": {str(first): 1, str(second): 2}}
    rmse = [r["rmse"] for r in body["leaderboard"]]
    assert rmse == sorted(rmse) and [r["rank"] for r in body["leaderboard"]] == list(range(1, len(rmse) + 1))
    assert {r["experiment"] for r in body["leaderboard"]} == {first, second}
    assert [l["experiment"] for l in body["leaders"]] == [first, second] and all(l["leader"] for l in body["leaders"])
    assert set(body["leader_importance"][str(first)]) == {"x1", "x2", "colour"}
    assert other_api.get(f"/api/compare/?experiments={first},{second}").status_code == 404
    assert owner_api.get(f"/api/compare/?experiments={first}").status_code == 400
    assert owner_api.get("/api/compare/?experiments=a,b").status_code == 400


def test_only_the_same_question_is_compared(owner_api):
    content = synthetic("regression", n=150).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    first = run(owner_api, dataset_id, max_models=1)
    other = run(owner_api, dataset_id, max_models=1, target="x1")
    response = owner_api.get(f"/api/compare/?experiments={first},{other}")
    assert response.status_code == 400 and "same column" in response.json()["error"]


def test_the_compare_page_shows_them_side_by_side(owner_api, client, owner, other_user):
    content = synthetic("regression", n=150).to_csv(index=False).encode()
    dataset_id = owner_api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    first = run(owner_api, dataset_id, max_models=1, seed=1, name="<b>first</b>")
    second = run(owner_api, dataset_id, max_models=2, seed=2)
    client.force_login(owner)
    home = client.get("/").content.decode()
    assert 'id="compare-form"' in home and f'name="e" value="{first}"' in home
    page = client.get(f"/compare/?e={first}&e={second}")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="compare-leaderboard"' in html and 'id="leaders-importance"' in html
    assert html.count('href="/experiments/') >= 3 and "&lt;b&gt;first&lt;/b&gt;" in html and "<b>first" not in html
    assert "max_models" in html and "seed" in html  # the settings that differ
    refused = client.get(f"/compare/?e={first}")
    assert refused.status_code == 400 and "between 2 and" in refused.content.decode()
    client.force_login(other_user)
    assert client.get(f"/compare/?e={first}&e={second}").status_code == 404
