"""Pages before a run: the dataset, the new-experiment form, the one-click sample, the target check."""
from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import charts, compare, profiling, services
from .access import get_dataset_for_user
from .forms import ExperimentForm
from .models import Experiment
from .wording import TASK_NAMES

log = logging.getLogger(__name__)
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLES = {
    "wine-quality": {"file": "wine_quality.csv", "target": "quality", "title": "Wine quality",
                     "about": "5,205 wines, their lab measurements and the quality score tasters gave them."},
}
MAX_COMPARED_ROWS = 40  # rows of the merged leaderboard shown on the compare page
TYPE_HELP = {
    "numeric": "numbers", "categorical": "categories", "boolean": "yes / no", "datetime": "dates",
    "text": "free text (learnt from its words)", "id": "an ID (not used)", "constant": "always the same (not used)",
}


def _missing_share(column: dict, n_rows: int) -> float:
    return column["missing"] / n_rows if n_rows else 0.0


TARGET_WORDS = {"target", "label", "class", "outcome", "y", "response", "result", "churn", "survived", "default",
                "price", "quality", "species", "diagnosis", "fraud", "sales", "salary", "income", "status"}


def suggest_target(dataset) -> tuple[str | None, str]:
    """A likely column to predict, and why: one named as targets usually are, else the last usable one."""
    usable = [c["name"] for c in dataset.columns if (c.get("as_target") or {}).get("task")]
    named = [n for n in usable if n.strip().lower().replace(" ", "_") in TARGET_WORDS]
    if named:
        return named[-1], "its name is the kind of thing people predict"
    if usable:
        return usable[-1], "it is the last column, where tables usually keep the value to predict"
    names = [c["name"] for c in dataset.columns]
    return (names[-1] if names else None), ""


def _initial_target(dataset, requested: str | None) -> str | None:
    if requested in {c["name"] for c in dataset.columns}:
        return requested
    return suggest_target(dataset)[0]


def _experiment_form(request, dataset):
    """The new-experiment form, bound on POST; (form, the new experiment or None)."""
    choices = profiling.target_choices(dataset)
    initial = {"target": _initial_target(dataset, request.GET.get("target"))}
    form = ExperimentForm(request.POST or None, columns=[c["name"] for c in dataset.columns],
                          target_tasks=choices, initial=initial,
                          column_kinds={c["name"]: (c["type"], c.get("reason") or "") for c in dataset.columns})
    if request.method == "POST" and form.is_valid():
        try:
            return form, _start(request.user, dataset, form.cleaned_data)
        except services.InputError as exc:
            form.add_error(None, str(exc))
    return form, None


def _form_context(dataset, form) -> dict:
    suggested, why = suggest_target(dataset)
    return {"form": form, "target_choices": profiling.target_choices(dataset), "task_names": TASK_NAMES,
            "suggested_target": suggested, "suggested_why": why}


@login_required
@require_http_methods(["GET", "POST"])
def dataset_page(request, pk):
    """The dataset's profile, with the new-experiment form at the end (it posts here)."""
    dataset = profiling.ensure_profile(get_dataset_for_user(request.user, pk))
    form, experiment = _experiment_form(request, dataset)
    if experiment is not None:
        return redirect("experiment", pk=experiment.pk)
    columns = []
    for i, col in enumerate(dataset.columns):
        columns.append({**col, "missing_pct": 100 * _missing_share(col, dataset.n_rows),
                        "type_help": TYPE_HELP.get(col["type"], col["type"]),
                        "chart": charts.column_distribution(col), "chart_id": f"dist-{i}"})
    return render(request, "dataset.html", {
        "dataset": dataset, "columns": columns, **_form_context(dataset, form),
        "experiments": dataset.experiments.all()[:20], "sample": SAMPLES.get(request.GET.get("sample", ""))},
        status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def new_experiment(request, pk):
    """The new-experiment form on its own page."""
    dataset = profiling.ensure_profile(get_dataset_for_user(request.user, pk))
    form, experiment = _experiment_form(request, dataset)
    if experiment is not None:
        return redirect("experiment", pk=experiment.pk)
    return render(request, "new_experiment.html", {"dataset": dataset, **_form_context(dataset, form)},
                  status=400 if form.errors else 200)


def _start(user, dataset, data) -> Experiment:
    return services.start_experiment(user, dataset, target=data["target"], task=data["task"],
                                     options=data["options"])


@login_required
@require_GET
def target_check(request, pk):
    """JSON for the new-experiment page: the task this target gives and the warnings that come with it."""
    dataset = get_dataset_for_user(request.user, pk)
    target = request.GET.get("target", "")
    task = request.GET.get("task", "auto")
    if target not in {c["name"] for c in dataset.columns}:
        return JsonResponse({"error": "Choose one of the dataset's columns."}, status=400)
    if task not in ("auto", "regression", "binary", "multiclass"):
        return JsonResponse({"error": "Unknown kind of prediction."}, status=400)
    try:
        result = profiling.target_check(dataset, target, task)
    except Exception:  # a check that fails must not stop anyone from starting a run
        log.warning("target check failed for dataset %s", dataset.pk, exc_info=True)
        result = {"error": "The data could not be checked for this target; you can still start the run."}
    if result.get("task"):
        result["task_name"] = TASK_NAMES.get(result["task"], result["task"])
    return JsonResponse(result)


@login_required
@require_POST
def sample_dataset(request, name):
    sample = SAMPLES.get(name)
    if sample is None:
        raise Http404("No such sample dataset.")
    content = (SAMPLES_DIR / sample["file"]).read_bytes()
    dataset = services.create_dataset(request.user, name=sample["file"], content=content)
    return redirect(f"{dataset.get_absolute_url()}?sample={name}&target={sample['target']}")


@login_required
@require_GET
def compare_page(request):
    """Two or more experiments on the same question side by side (the ids ticked in a table, or
    ``?experiments=3,5`` as in the API)."""
    ids = ",".join(request.GET.getlist("e")) or request.GET.get("experiments", "")
    try:
        data = compare.comparison(compare.experiments_to_compare(request.user, ids))
    except services.InputError as exc:
        return render(request, "compare.html", {"error": str(exc)}, status=400)
    names = {row["experiment"]: row["name"] for row in data["leaders"]}
    chart = charts.leaders_importance({pk: data["leader_importance"][pk] for pk in data["experiments"]}, names)
    differ = [{"setting": key, "values": [values.get(pk) for pk in data["experiments"]]}
              for key, values in data["settings_that_differ"].items()]
    metric = data["sort_metric"]
    rows = [{**row, "score": row.get(metric), "train_secs": (row.get("training_time_ms") or 0) / 1000} for row in data["leaderboard"][:MAX_COMPARED_ROWS]]
    leaders = [{**row, "score": row.get(metric)} for row in data["leaders"]]
    return render(request, "compare.html", {"data": data, "names": [names[pk] for pk in data["experiments"]],
                                            "differ": differ, "chart": chart, "rows": rows, "leaders": leaders,
                                            "more_rows": max(0, len(data["leaderboard"]) - len(rows))})
