"""The predict page: upload a CSV to the leader or any model, see and download the predictions."""
from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import batch, scoring, services
from .access import get_experiment_for_user, get_result_for_user
from .wording import algo_name


class PredictForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    file = forms.FileField(label="CSV file with the rows to predict", required=False)

    def __init__(self, *args, models=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = models

    def clean(self):
        data = super().clean()
        if not data.get("file"):
            self.add_error("file", "Choose a CSV file to score.")
        return data


def _model_choices(experiment) -> list[tuple[str, str]]:
    out = []
    for result in experiment.leaderboard():
        label = f"{result.model_id} ({algo_name(result.algo)})"
        if result.model_id == experiment.leader_model_id:
            label += " — the leader"
        out.append((result.model_id, label))
    return out


@login_required
@require_http_methods(["GET", "POST"])
def predict_page(request, pk):
    experiment = get_experiment_for_user(request.user, pk)
    choices = _model_choices(experiment)
    chosen = request.GET.get("model") or experiment.leader_model_id or (choices[0][0] if choices else "")
    form = PredictForm(request.POST or None, request.FILES or None, models=choices, initial={"model": chosen})
    scored, status = None, 200
    too_large = getattr(request, "upload_error", "") if request.method == "POST" else ""
    if too_large:  # the upload handler stopped a file over the size limit
        form = PredictForm({"model": request.POST.get("model") or chosen}, models=choices)
        form.is_valid()  # add_error needs a validated form; its "no file" error is replaced below
        form.errors.clear()
        form.add_error("file", too_large)
        status = 413
    elif request.method == "POST" and form.is_valid():
        result = get_result_for_user(request.user, pk, form.cleaned_data["model"])
        try:
            upload = form.cleaned_data["file"]
            content = services.read_upload(upload)
            if batch.is_large(content):  # scored in the background, with its progress on a page of its own
                return redirect("prediction-job", pk=batch.start_job(request.user, experiment, result, upload.name,
                                                                     content).pk)
            scored = scoring.score(experiment, result, content)
        except services.InputError as exc:
            form.add_error("file", str(exc))
            status = getattr(exc, "status", 400)
    if form.errors:
        status = max(status, 400)
    return render(request, "predict.html", {
        "experiment": experiment, "form": form, "scored": scored, "has_models": bool(choices),
        "features": _features(experiment)}, status=status)


def _features(experiment) -> list[str]:
    from .insights import model_features

    leader = experiment.leader
    return model_features(experiment, leader) if leader else []


@login_required
@require_GET
def predictions_download(request, pk, token, kind):
    experiment = get_experiment_for_user(request.user, pk)
    if not scoring.TOKEN.match(token) or kind not in scoring.KINDS:
        raise Http404("No such file.")
    name = scoring.storage_name(experiment, token, kind)
    if not default_storage.exists(name):
        raise Http404("No such file.")
    filename = f"predictions_{experiment.pk}.csv" if kind == "predictions" else f"scored_{experiment.pk}.csv"
    return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename=filename,
                        content_type="text/csv")
