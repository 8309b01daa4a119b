"""The JSON API (see DESIGN.md). Session or token auth; errors are ``{"error": "..."}`` with a 4xx."""
from __future__ import annotations

import functools
import json

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from . import batch, compare, continuation, deletion, json_scoring, openapi, receipts, services
from .access import (get_dataset_for_user, get_experiment_for_user, get_leader_for_user,
                     get_prediction_job_for_user, get_result_for_user, get_token_for_user)
from .csvsafe import header_safe, spreadsheet_safe
from .options import TASKS
from .recovery import reap_stale
from .status import experiment_payload
from .uploads import upload_error
from .views import model_file_response, prediction_file_response


def error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api_view(methods, body: dict | None = None):
    """Authenticate (token or session), restrict methods, and turn known errors into JSON.

    ``body`` names, per method, the request body the view reads (a key of ``openapi.BODIES``): the API's
    OpenAPI schema is built from these and the URL patterns, so the documentation follows the code."""
    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.META.get("HTTP_AUTHORIZATION", "").startswith("Token ") and not request.token_auth:
                return error("That API token is not valid (it may have been revoked).", 401)
            if not request.user.is_authenticated:
                return error("Log in or send an API token: 'Authorization: Token KEY'.", 401)
            if request.method not in methods:
                return error(f"Use {' or '.join(methods)} here.", 405)
            if request.method == "POST" and not request.token_auth and _csrf_rejected(request):
                return error("The CSRF check failed: reload the page and try again.", 403)
            try:
                return _checked_call(view, request, *args, **kwargs)
            except Http404:
                return error("Not found.", 404)
            except services.InputError as exc:
                return error(str(exc), exc.status)
            except RequestDataTooBig:
                return error("The request is too large. Send a CSV file in the multipart field 'file'; other "
                             f"fields and JSON bodies are limited to {_body_limit_mb()} MB.", 413)
            except (MultiPartParserError, BadRequest, SuspiciousOperation):
                return error("The request could not be read: send a multipart form with the file in the field "
                             "'file', or a JSON object.", 400)
        wrapper.api_methods, wrapper.api_bodies = tuple(methods), dict(body or {})
        return wrapper
    return decorate


def _body_limit_mb() -> str:
    from django.conf import settings

    return f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024):g}"


def _checked_call(view, request, *args, **kwargs):
    if request.method == "POST" and request.content_type == "multipart/form-data":
        request.FILES  # noqa: B018 - parse the body now, so that an upload over the limit is caught here
        if upload_error(request):
            return error(upload_error(request), 413)
    return view(request, *args, **kwargs)


def _csrf_rejected(request) -> bool:
    from django.middleware.csrf import CsrfViewMiddleware

    try:
        return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None
    except (MultiPartParserError, SuspiciousOperation):
        return True


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise services.InputError("The request body is not valid JSON.")
    except RecursionError:  # nested deeper than the parser goes: no request of ours looks like that
        raise services.InputError("The request body is nested too deeply. Send a flat JSON object.")
    if not isinstance(body, dict):
        raise services.InputError("The request body must be a JSON object.")
    return body


@api_view(["GET", "POST"], body={"POST": "dataset"})
def datasets(request):
    """Your datasets (GET), or a new one from a CSV file or a link (POST)."""
    if request.method == "GET":
        return JsonResponse({"datasets": [d.to_api() for d in request.user.datasets.all()[:200]]})
    upload = request.FILES.get("file")
    if upload is not None:
        dataset = services.create_dataset(request.user, name=upload.name, content=services.read_upload(upload))
    elif request.POST.get("url"):
        dataset = services.import_url(request.user, request.POST["url"])
    else:
        body = _json_body(request) if request.content_type == "application/json" else {}
        if not body.get("url"):
            return error("Send a CSV file in the multipart field 'file', or a link in the field 'url'.")
        dataset = services.import_url(request.user, str(body["url"]))
    return JsonResponse(dataset.to_api(), status=201)


@api_view(["GET", "DELETE"])
def dataset_detail(request, pk):
    """One dataset with its columns (GET); DELETE removes it with its experiments and files."""
    dataset = get_dataset_for_user(request.user, pk)
    if request.method == "DELETE":
        deletion.delete_dataset(dataset)
        return JsonResponse({"deleted": True, "id": pk})
    return JsonResponse(dataset.to_api(detail=True))


@api_view(["GET", "POST"], body={"POST": "experiment"})
def experiments(request):
    """Your experiments (GET), or a new one (POST): it is queued and trained by a worker."""
    if request.method == "GET":
        reap_stale(request.user.experiments.all())
        rows = [{"id": e.pk, "name": str(e), "dataset": e.dataset_id, "target": e.target, "status": e.status,
                 "leader": e.leader_model_id or None} for e in request.user.experiments.all()[:200]]
        return JsonResponse({"experiments": rows})
    dataset, fields = _experiment_fields(request)
    experiment = services.start_experiment(request.user, dataset, **fields)
    experiment.refresh_from_db()
    created = {"id": experiment.pk, "status": experiment.status}
    if experiment.enqueued_at is None:
        created["message"] = ("The job queue cannot be reached right now; the experiment is saved and will start "
                              "as soon as the queue is back.")
    return JsonResponse(created, status=201)


def _experiment_fields(request):
    """The dataset, the question and the settings of an experiment, from a JSON body: creating one and
    estimating one take the same fields (the settings are checked by ExperimentOptions, as the page's are)."""
    body = _json_body(request)
    dataset_id = body.get("dataset")
    if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
        raise services.InputError("'dataset' must be the id of one of your datasets.")
    dataset = get_dataset_for_user(request.user, dataset_id)
    target = body.get("target")
    if not isinstance(target, str) or not target:
        raise services.InputError("'target' must name the column to predict.")
    if not isinstance(body.get("sort_metric") or "", str) or not isinstance(body.get("name") or "", str):
        raise services.InputError("'sort_metric' and 'name' must be text.")
    task = body.get("task", "auto") or "auto"
    if task not in TASKS:
        raise services.InputError(f"'task' must be one of: {', '.join(TASKS)}.")
    return dataset, dict(target=target, task=task, options=services.parse_options(body),
                         name=str(body.get("name") or "")[:255])


@api_view(["GET"])
def compare_experiments(request):
    """Two or more of your experiments on the same question, side by side."""
    return JsonResponse(compare.comparison(compare.experiments_to_compare(request.user, request.GET.get(
        "experiments", ""))))


@api_view(["GET"])
def experiment_receipt(request, pk):
    """What the run used: data hash, every setting, validation, library versions, machine, times."""
    return JsonResponse(receipts.receipt(get_experiment_for_user(request.user, pk)))


@api_view(["POST"])
def experiment_rerun(request, pk):
    """A new experiment with exactly this one's settings, on the same dataset."""
    again = receipts.run_again(get_experiment_for_user(request.user, pk), request.user)
    return JsonResponse({"id": again.pk, "status": again.status}, status=201)


@api_view(["POST"], body={"POST": "budget"})
def experiment_continue(request, pk):
    """The search goes on from where it stopped, with a budget of its own: same folds, models kept."""
    experiment = get_experiment_for_user(request.user, pk)
    max_models, max_runtime_secs = services.parse_budget(_json_body(request))
    experiment = continuation.continue_experiment(experiment, request.user, max_models=max_models,
                                                  max_runtime_secs=max_runtime_secs)
    return JsonResponse({"id": experiment.pk, "status": experiment.status,
                         "continued": len(experiment.options.get("continued") or [])}, status=202)


@api_view(["POST"], body={"POST": "experiment"})
def experiment_estimate(request):
    """The pre-flight estimate: expected models, seconds per model, peak memory, validation and a
    warning when the budget is too small for this table. Creates nothing."""
    dataset, fields = _experiment_fields(request)
    return JsonResponse(services.estimate_experiment(dataset, **fields))


@api_view(["GET", "DELETE"])
def experiment_detail(request, pk):
    """The experiment's state, leaderboard and events (GET); DELETE removes it with its models."""
    experiment = get_experiment_for_user(request.user, pk)
    if request.method == "DELETE":
        deletion.delete_experiment(experiment)
        return JsonResponse({"deleted": True, "id": pk})
    return JsonResponse(experiment_payload(experiment))


@api_view(["POST"])
def experiment_cancel(request, pk):
    """Stop the run: it ends at once, keeping the models trained so far."""
    experiment = get_experiment_for_user(request.user, pk)
    if not experiment.is_finished:
        services.cancel_experiment(experiment)
    experiment.refresh_from_db()
    return JsonResponse({"id": experiment.pk, "status": experiment.status, "cancel_requested": True})


@api_view(["GET"])
def leader_download(request, pk):
    """The best model's file (load it with automl_engine.load_model)."""
    experiment = get_experiment_for_user(request.user, pk)
    if not experiment.leader_model_id:
        return error("This experiment has no leader yet: wait until it finishes.", 409)
    return model_file_response(get_leader_for_user(request.user, pk))


@api_view(["GET"])
def model_download(request, pk, model_id):
    """One model's file (load it with automl_engine.load_model)."""
    return model_file_response(get_result_for_user(request.user, pk, model_id))


@api_view(["POST"], body={"POST": "score_file"})
def predict(request, pk):
    """Score a CSV file with the best model (or the one named in 'model'): the predictions as CSV."""
    experiment = get_experiment_for_user(request.user, pk)
    model_id = request.POST.get("model") or experiment.leader_model_id
    if not model_id:
        return error("This experiment has no model yet: wait until one finishes.", 409)
    result = get_result_for_user(request.user, pk, model_id)
    upload = request.FILES.get("file")
    if upload is None:
        return error("Send the CSV file to score in the multipart field 'file'.")
    content = services.read_upload(upload)
    if batch.is_large(content):  # scored in the background: poll the job, then fetch its CSV
        job = batch.start_job(request.user, experiment, result, upload.name, content)
        return JsonResponse({**job.to_api(), "url": reverse("api-prediction", args=[job.pk])}, status=202)
    preds, problems = services.predict_csv(result, content)
    response = HttpResponse(spreadsheet_safe(preds).to_csv(index=False), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="predictions_{experiment.pk}_{model_id}.csv"'
    if problems["missing"]:
        response["X-Missing-Columns"] = header_safe(",".join(map(str, problems["missing"])))[:2000]
    return response


@api_view(["POST"], body={"POST": "rows"})
def model_predict(request, pk, model_id):
    """Score JSON rows with one model: predictions, class probabilities and notes, as JSON."""
    experiment = get_experiment_for_user(request.user, pk)
    result = get_result_for_user(request.user, pk, model_id)
    if not result.file:
        return error("This model has no file to score with (it did not finish).", 409)
    return JsonResponse(json_scoring.score_rows(experiment, result, _json_body(request)))


@api_view(["GET"])
def model_export(request, pk, model_id):
    """A zip to use the model without the app: model file, pinned requirements, README, example row, card."""
    from .model_pages import export_response

    return export_response(request, pk, model_id)


@api_view(["GET"])
def prediction_job(request, pk):
    """A background scoring job: status, progress, notes on the file, and the CSV's address when done."""
    return JsonResponse(get_prediction_job_for_user(request.user, pk).to_api())


@api_view(["GET"])
def prediction_download(request, pk):
    """The predictions of a finished scoring job, as CSV."""
    return prediction_file_response(get_prediction_job_for_user(request.user, pk))


def _token_row(token) -> dict:
    return {"id": token.pk, "prefix": token.prefix, "created_at": token.created_at.isoformat(),
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "can_create_tokens": token.can_create_tokens}


@api_view(["GET", "POST"], body={"POST": "token"})
def tokens(request):
    """Your API tokens (GET), or a new one (POST): its key is in the answer, and only there."""
    if request.method == "GET":
        return JsonResponse({"tokens": [_token_row(t) for t in request.user.api_tokens.order_by("-created_at")]})
    used = getattr(request, "api_token", None)
    if request.token_auth and used is not None and not used.can_create_tokens:
        return error("This token cannot create tokens. Create one on the API tokens page, or use a token made "
                     "with \"can_create_tokens\": true.", 403)
    body = _json_body(request) if request.content_type == "application/json" else {}
    token, key = services.issue_token(request.user, body.get("expires_in_days"), body.get("can_create_tokens") is True)
    return JsonResponse({**_token_row(token), "key": key}, status=201)


@api_view(["POST"])
def token_revoke(request, pk):
    """Revoke a token: it stops working at once."""
    token = get_token_for_user(request.user, pk)
    services.revoke_token(token)
    token.refresh_from_db()
    return JsonResponse(_token_row(token))


@require_GET
def schema(request):
    """The API described as OpenAPI 3 (built from the routes and the request schemas; no login needed)."""
    return JsonResponse(openapi.spec(), json_dumps_params={"indent": 1})


@require_GET
def docs(request):
    """The API's documentation, readable in a browser, from the same OpenAPI description."""
    operations = []
    for path, methods in openapi.spec()["paths"].items():
        for method, op in methods.items():
            fields = []
            for content_type, content in (op.get("requestBody") or {}).get("content", {}).items():
                for name, prop in (content["schema"].get("properties") or {}).items():
                    fields.append({"name": name, "content_type": content_type, "type": prop.get("type", ""),
                                   "required": name in content["schema"].get("required", []),
                                   "allowed": _allowed(prop), "description": prop.get("description", "")})
            operations.append({"method": method.upper(), "path": path, "summary": op["summary"], "fields": fields,
                               "status": next(iter(op["responses"]))})
    return render(request, "api_docs.html", {"operations": operations})


def _allowed(prop: dict) -> str:
    if "enum" in prop:
        return ", ".join(map(str, prop["enum"]))
    if prop.get("items", {}).get("enum"):
        return "list of: " + ", ".join(prop["items"]["enum"])
    if "minimum" in prop or "maximum" in prop:
        return f"{prop.get('minimum', '')} to {prop.get('maximum', '')}"
    return ""
