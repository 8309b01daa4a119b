"""Ownership helpers: other people's objects answer 404."""
from django.shortcuts import get_object_or_404

from .models import ApiToken, Dataset, Experiment, ModelResult, PredictionJob
from .recovery import reap_if_stale


def get_dataset_for_user(user, pk) -> Dataset:
    return get_object_or_404(Dataset, pk=pk, owner=user)


def get_experiment_for_user(user, pk) -> Experiment:
    """The user's experiment. A run whose worker died is marked failed here before it is shown."""
    experiment = get_object_or_404(Experiment.objects.select_related("dataset"), pk=pk, owner=user)
    return reap_if_stale(experiment)


def get_result_for_user(user, experiment_pk, model_id) -> ModelResult:
    return get_object_or_404(ModelResult, experiment__pk=experiment_pk, experiment__owner=user, model_id=model_id,
                             status=ModelResult.Status.FINISHED)


def get_leader_for_user(user, experiment_pk) -> ModelResult:
    experiment = get_experiment_for_user(user, experiment_pk)
    return get_result_for_user(user, experiment.pk, experiment.leader_model_id or "\0")


def get_prediction_job_for_user(user, pk) -> PredictionJob:
    return get_object_or_404(PredictionJob, pk=pk, owner=user)


def get_token_for_user(user, pk) -> ApiToken:
    return get_object_or_404(ApiToken, pk=pk, user=user)
