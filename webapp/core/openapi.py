"""The JSON API described as OpenAPI 3, built from the code itself.

The paths come from the URL patterns (every ``api/`` route whose view is an ``api_view``), the
methods and request bodies from what each view declares to ``api_view``, the summaries from the
views' docstrings, and the experiment's settings from ``options.ExperimentOptions`` with the same
limits ``parse`` applies: a route, a method or a setting cannot be added without appearing here.
"""
from __future__ import annotations

import dataclasses
import re
import typing

from django.urls import URLPattern, URLResolver, get_resolver

from automl_engine import __version__

from .options import (ALGOS, COLUMN_CHOICES, DESCRIPTIONS, MAX_TEST_SPLIT, SORT_METRICS, TASKS, ExperimentOptions,
                      limits)

ERROR = {"type": "object", "properties": {"error": {"type": "string", "description": "What went wrong, in words."}}}
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _option_schema(field: dataclasses.Field) -> dict:
    name = field.name
    hint = typing.get_type_hints(ExperimentOptions)[name]
    if name in limits():
        low, high = limits()[name]
        schema = {"type": "integer", "minimum": low, "maximum": high}
    elif name == "test_split":
        schema = {"type": "number", "minimum": 0, "maximum": MAX_TEST_SPLIT}
    elif name == "sort_metric":
        schema = {"type": "string", "enum": SORT_METRICS}
    elif name in COLUMN_CHOICES:
        schema = {"type": "array", "items": {"type": "string"}}
    elif "list" in str(hint):
        schema = {"type": "array", "items": {"type": "string", "enum": list(ALGOS)}}
    else:
        schema = {"type": "string"}
    if type(None) in typing.get_args(hint):
        schema["nullable"] = True
    if field.default is not None and field.default is not dataclasses.MISSING:
        schema["default"] = field.default
    schema["description"] = DESCRIPTIONS.get(name, "")
    return schema


def options_properties() -> dict:
    return {f.name: _option_schema(f) for f in dataclasses.fields(ExperimentOptions)}


def _experiment_body() -> dict:
    return {"type": "object", "required": ["dataset", "target"], "properties": {
        "dataset": {"type": "integer", "description": "The id of one of your datasets."},
        "target": {"type": "string", "description": "The column to predict."},
        "task": {"type": "string", "enum": list(TASKS), "default": "auto"},
        "name": {"type": "string", "maxLength": 255},
        **options_properties()}}


def _budget_body() -> dict:
    props = options_properties()
    return {"type": "object", "description": "How much longer to search: seconds, new models, or both.",
            "properties": {"max_runtime_secs": props["max_runtime_secs"], "max_models": props["max_models"]}}


BODIES = {
    "experiment": lambda: {"application/json": {"schema": _experiment_body()}},
    "budget": lambda: {"application/json": {"schema": _budget_body()}},
    "rows": lambda: {"application/json": {"schema": {"type": "object", "required": ["rows"], "properties": {
        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": True},
                 "description": "One object per row: column name to value (text, number, true/false or null)."}}}}},
    "dataset": lambda: {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary", "description": "A CSV file."},
            "url": {"type": "string", "format": "uri", "description": "Or a public http(s) link to one."}}}},
        "application/json": {"schema": {"type": "object", "required": ["url"],
                                        "properties": {"url": {"type": "string", "format": "uri"}}}}},
    "score_file": lambda: {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "The CSV file to score."},
        "model": {"type": "string", "description": "A model id from the leaderboard; default the best."}}}}},
    "token": lambda: {"application/json": {"schema": {"type": "object", "properties": {
        "expires_in_days": {"type": "integer", "minimum": 1, "nullable": True},
        "can_create_tokens": {"type": "boolean", "default": False}}}}},
}
CREATED = {("POST", "/api/datasets/"): "201", ("POST", "/api/experiments/"): "201",
           ("POST", "/api/experiments/{pk}/rerun/"): "201", ("POST", "/api/tokens/"): "201",
           ("POST", "/api/experiments/{pk}/continue/"): "202"}


def api_routes(patterns=None, prefix: str = "") -> list[tuple[str, object, str]]:
    """(route, view, name) for every API view in the URL configuration."""
    out = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            out += api_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "api_methods"):
            out.append((prefix + str(pattern.pattern), pattern.callback, pattern.name or ""))
    return out


def _operation(view, method: str, path: str, params: list[dict]) -> dict:
    doc = (view.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    op = {"operationId": f"{method.lower()}_{view.__name__}", "summary": doc or view.__name__.replace("_", " "),
          "tags": [path.split("/")[2]], "parameters": params,
          "responses": {CREATED.get((method, path), "200"): {"description": "Done."},
                        "400": {"description": "Bad input: the message says what to change.",
                                "content": {"application/json": {"schema": ERROR}}},
                        "401": {"description": "Log in or send an API token."},
                        "404": {"description": "Not found, or not yours."}}}
    body = view.api_bodies.get(method)
    if body:
        op["requestBody"] = {"required": True, "content": BODIES[body]()}
    return op


def spec() -> dict:
    paths = {}
    for route, view, _ in api_routes():
        path = "/" + PARAM.sub(r"{\2}", route)
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if kind == "int" else "string"}}
                  for kind, name in PARAM.findall(route)]
        if path == "/api/compare/":
            params.append({"name": "experiments", "in": "query", "required": True, "schema": {"type": "string"},
                           "description": "Experiment ids separated by commas, e.g. 3,5."})
        paths[path] = {m.lower(): _operation(view, m, path, params) for m in view.api_methods}
    return {
        "openapi": "3.0.3",
        "info": {"title": "AutoML API", "version": __version__,
                 "description": "Upload a table, train and rank models on it, explain and use them. Errors are JSON "
                                "{\"error\": \"...\"} with a message a person can act on; other people's objects "
                                "answer 404."},
        "components": {"securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                      "description": "'Token KEY', with a key from the API tokens page."},
            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"}}},
        "security": [{"token": []}, {"session": []}],
        "paths": dict(sorted(paths.items())),
    }
