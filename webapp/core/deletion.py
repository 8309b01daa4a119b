"""Deleting a user's data with its files: one experiment (its models, kept predictions and events),
or a dataset with all its experiments; and the retention rule that deletes old data."""
from __future__ import annotations

from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .models import Dataset, Experiment
from .services import InputError

EXPERIMENT_FOLDERS = ("models/experiment_{pk}", "predictions/experiment_{pk}")


class StillRunning(InputError):
    status = 409


def _delete_folder(name: str) -> None:
    """Every file under a storage folder (storages that cannot list are left to the per-file deletes)."""
    try:
        folders, files = default_storage.listdir(name)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    for file in files:
        default_storage.delete(f"{name}/{file}")
    for folder in folders:
        _delete_folder(f"{name}/{folder}")
    try:
        default_storage.delete(name)  # the empty folder itself, where the storage has folders
    except OSError:
        pass


def delete_experiment(experiment: Experiment) -> None:
    if not experiment.is_finished:
        raise StillRunning("This experiment is still waiting or running. Stop it first, then delete it.")
    pk = experiment.pk  # Django clears it on delete
    names = [r.file.name for r in experiment.results.all() if r.file]
    with transaction.atomic():
        experiment.delete()
    for name in names:
        default_storage.delete(name)
    for folder in EXPERIMENT_FOLDERS:
        _delete_folder(folder.format(pk=pk))


def delete_dataset(dataset: Dataset) -> None:
    experiments = list(dataset.experiments.all())
    if any(not e.is_finished for e in experiments):
        raise StillRunning("An experiment on this dataset is still waiting or running. Stop it first, then "
                           "delete the dataset.")
    for experiment in experiments:
        delete_experiment(experiment)
    name = dataset.file.name
    dataset.delete()
    if name:
        default_storage.delete(name)


def delete_older_than(days: int, owner=None) -> tuple[int, int]:
    """Datasets and finished experiments created more than ``days`` days ago: (datasets, experiments) deleted.
    Anything still waiting or running is kept."""
    cutoff = timezone.now() - timedelta(days=days)
    datasets = Dataset.objects.filter(created_at__lt=cutoff)
    experiments = Experiment.objects.filter(created_at__lt=cutoff, status__in=Experiment.FINISHED)
    if owner is not None:
        datasets, experiments = datasets.filter(owner=owner), experiments.filter(owner=owner)
    removed_experiments = 0
    for experiment in experiments:
        delete_experiment(experiment)
        removed_experiments += 1
    removed_datasets = 0
    for dataset in datasets:
        if not dataset.experiments.exclude(status__in=Experiment.FINISHED).exists():
            removed_experiments += dataset.experiments.count()
            delete_dataset(dataset)
            removed_datasets += 1
    return removed_datasets, removed_experiments
