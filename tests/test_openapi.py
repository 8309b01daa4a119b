"""The API's OpenAPI description follows the code: every route, method and setting appears in it."""
import dataclasses

import pytest
from django.urls import get_resolver

from webapp.core import openapi
from webapp.core.options import ExperimentOptions, OptionError, limits

pytestmark = pytest.mark.django_db


def test_every_api_route_and_method_is_described(client):
    body = client.get("/api/schema/").json()  # no login needed to read it
    assert body["openapi"].startswith("3.") and body["components"]["securitySchemes"]["token"]["in"] == "header"
    routes = [str(p.pattern) for p in get_resolver().url_patterns if str(p.pattern).startswith("api/")
              and hasattr(p.callback, "api_methods")]
    contracts = {"/api/datasets/", "/api/experiments/", "/api/experiments/estimate/", "/api/compare/",
                 "/api/experiments/{pk}/receipt/", "/api/experiments/{pk}/rerun/", "/api/experiments/{pk}/continue/",
                 "/api/experiments/{pk}/models/{model_id}/export/", "/api/experiments/{pk}/models/{model_id}/predict/",
                 "/api/datasets/{pk}/", "/api/experiments/{pk}/"}  # the routes outside scripts rely on
    assert contracts <= set(body["paths"])
    for route, view, _ in openapi.api_routes():
        path = "/" + openapi.PARAM.sub(r"{\2}", route)
        assert set(body["paths"][path]) == {m.lower() for m in view.api_methods}, path
    assert len(body["paths"]) == len(routes)
    assert body["paths"]["/api/experiments/{pk}/continue/"]["post"]["responses"].get("202")
    assert body["paths"]["/api/experiments/{pk}/models/{model_id}/predict/"]["post"]["parameters"][1]["name"] == "model_id"


def test_the_experiment_settings_are_the_ones_the_api_checks(client):
    body = client.get("/api/schema/").json()
    schema = body["paths"]["/api/experiments/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {f.name for f in dataclasses.fields(ExperimentOptions)} <= set(schema["properties"])
    assert schema["required"] == ["dataset", "target"]
    for name, (low, high) in limits().items():
        assert (schema["properties"][name]["minimum"], schema["properties"][name]["maximum"]) == (low, high)
    estimate = body["paths"]["/api/experiments/estimate/"]["post"]["requestBody"]["content"]["application/json"]
    assert estimate["schema"] == schema  # creating and estimating take the same fields


def test_the_schema_s_limits_are_the_ones_enforced():
    for name, (low, high) in limits().items():
        with pytest.raises(OptionError, match=f"between {low} and {high}"):
            ExperimentOptions.parse({name: high + 1})
        assert getattr(ExperimentOptions.parse({name: high}), name) == high


def test_the_docs_page_lists_every_operation(client):
    page = client.get("/api/docs/").content.decode()
    schema = client.get("/api/schema/").json()
    count = sum(len(methods) for methods in schema["paths"].values())
    assert page.count('class="card api-op"') == count
    assert "max_runtime_secs" in page and "Authorization: Token KEY" in page
