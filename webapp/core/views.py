"""Pages: function views, an ownership helper per object, forms that validate, services that act."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import continuation, deletion, receipts, services
from .access import (get_dataset_for_user, get_experiment_for_user, get_leader_for_user,
                     get_prediction_job_for_user, get_result_for_user)
from .forms import UploadForm
from .insights import experiment_context
from .recovery import reap_stale
from .status import experiment_payload
from .uploads import upload_error


@require_http_methods(["GET", "POST"])
def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Upload a CSV file to start.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def _refused_upload_form(message: str) -> UploadForm:
    """An upload form showing only why the upload was stopped (its file never arrived)."""
    form = UploadForm({})
    form.is_valid()
    form.errors.clear()
    form.add_error(None, message)
    return form


@login_required
@require_http_methods(["GET", "POST"])
def home(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and upload_error(request):
        form, status = _refused_upload_form(upload_error(request)), 413
    elif request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data.get("file"):
                upload = form.cleaned_data["file"]
                dataset = services.create_dataset(request.user, name=upload.name,
                                                  content=services.read_upload(upload))
            else:
                dataset = services.import_url(request.user, form.cleaned_data["url"])
        except services.InputError as exc:
            form.add_error(None, str(exc))
            status = exc.status
        else:
            return redirect("dataset", pk=dataset.pk)
    reap_stale(request.user.experiments.all())
    context = {"form": form, "datasets": request.user.datasets.all()[:50],
               "experiments": request.user.experiments.select_related("dataset")[:50],
               "max_upload_mb": services.settings.MAX_UPLOAD_MB}
    return render(request, "home.html", context, status=max(status, 400) if form.errors else 200)


@login_required
@require_GET
def experiment_detail(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    receipt = receipts.receipt(experiment) if experiment.is_finished else None
    return render(request, "experiment.html", {"experiment": experiment, "payload": experiment_payload(experiment),
                                               "receipt": receipt, "can_continue": continuation.can_continue(experiment),
                                               "continue_minutes": CONTINUE_MINUTES, **experiment_context(experiment)})


@login_required
@require_GET
def experiment_status(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    try:
        since = int(request.GET.get("since", 0))
    except ValueError:
        since = 0
    return JsonResponse(experiment_payload(experiment, since))


@login_required
@require_POST
def experiment_cancel(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    if not experiment.is_finished:
        services.cancel_experiment(experiment)
        messages.info(request, "Stopping: the models trained so far are kept.")
    return redirect("experiment", pk=pk)


@login_required
@require_POST
def experiment_delete(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    return _delete(request, lambda: deletion.delete_experiment(experiment), ("experiment", pk),
                   f"Deleted “{experiment}” with its models and files.")


@login_required
@require_POST
def dataset_delete(request, pk):
    dataset = get_dataset_for_user(request.user, pk)
    return _delete(request, lambda: deletion.delete_dataset(dataset), ("dataset", pk),
                   f"Deleted “{dataset.name}” with its experiments, models and files.")


@login_required
@require_POST
def experiment_rerun(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    try:
        again = receipts.run_again(experiment, request.user)
    except services.InputError as exc:
        messages.error(request, str(exc))
        return redirect("experiment", pk=pk)
    messages.success(request, f"Started again with exactly the settings of “{experiment}”.")
    return redirect("experiment", pk=again.pk)


CONTINUE_MINUTES = (1, 5, 15, 30, 60)


@login_required
@require_POST
def experiment_continue(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    try:
        minutes = int(request.POST.get("minutes", ""))
        if minutes not in CONTINUE_MINUTES:
            raise ValueError
    except ValueError:
        messages.error(request, "Choose how many more minutes to search from the list.")
        return redirect("experiment", pk=pk)
    try:
        continuation.continue_experiment(experiment, request.user, max_runtime_secs=60 * minutes)
    except services.InputError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The search goes on for {minutes} more minute{'s' * (minutes != 1)}; "
                                  "new models join this leaderboard as they finish.")
    return redirect("experiment", pk=pk)


def _delete(request, delete, back: tuple, done: str):
    """Delete and go home with a message; on refusal (still running) back to the page with the reason."""
    try:
        delete()
    except services.InputError as exc:
        messages.error(request, str(exc))
        return redirect(back[0], pk=back[1])
    messages.success(request, done)
    return redirect("home")


def model_file_response(result) -> FileResponse:
    from django.core.files.storage import default_storage

    filename = f"{result.experiment_id}_{result.model_id}.automl"
    return FileResponse(default_storage.open(result.file.name, "rb"), as_attachment=True, filename=filename,
                        content_type="application/octet-stream")


def prediction_file_response(job) -> FileResponse | JsonResponse:
    from django.core.files.storage import default_storage

    if job.status != job.Status.SUCCEEDED or not job.output_file:
        return JsonResponse({"error": "The predictions are not ready yet: wait until the job has succeeded."},
                            status=409)
    return FileResponse(default_storage.open(job.output_file.name, "rb"), as_attachment=True,
                        filename=f"predictions_{job.experiment_id}_{job.model_id}.csv", content_type="text/csv")


@login_required
@require_GET
def prediction_job_page(request, pk):
    """A background scoring job: its progress (the page polls the API), then the download."""
    job = get_prediction_job_for_user(request.user, pk)
    return render(request, "prediction_job.html", {"job": job, "experiment": job.experiment})


@login_required
@require_GET
def prediction_job_download(request, pk):
    return prediction_file_response(get_prediction_job_for_user(request.user, pk))


@login_required
@require_GET
def model_download(request, pk, model_id):
    return model_file_response(get_result_for_user(request.user, pk, model_id))


@login_required
@require_GET
def leader_download(request, pk):
    return model_file_response(get_leader_for_user(request.user, pk))


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
