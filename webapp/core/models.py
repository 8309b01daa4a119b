"""Datasets, experiments, per-model results, events and API tokens."""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse


class Dataset(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="datasets/%Y/%m/", max_length=500)
    source_url = models.URLField(blank=True, max_length=2000)
    size_bytes = models.BigIntegerField(default=0)
    n_rows = models.IntegerField(default=0)
    n_cols = models.IntegerField(default=0)
    columns = models.JSONField(default=list)  # [{name, type, missing, distinct, reason}]
    preview = models.JSONField(default=list)  # the first rows, as lists of strings
    warnings = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        # The home page lists a user's datasets, newest first.
        indexes = [models.Index(fields=["owner", "-created_at"], name="dataset_owner_recent")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("dataset", args=[self.pk])

    def to_api(self, detail: bool = False) -> dict:
        data = {"id": self.pk, "name": self.name, "n_rows": self.n_rows, "n_cols": self.n_cols,
                "columns": [{"name": c["name"], "type": c["type"], "missing": c["missing"]} for c in self.columns],
                "created_at": self.created_at.isoformat()}
        if detail:
            data["profile"] = self.columns
            data["warnings"] = self.warnings
            data["preview"] = self.preview
        return data


class Experiment(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="experiments")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=255, blank=True)
    target = models.CharField(max_length=255)
    task = models.CharField(max_length=20, default="auto")  # as asked; "auto" until the run infers it
    task_reason = models.TextField(blank=True)
    sort_metric = models.CharField(max_length=40, blank=True)
    options = models.JSONField(default=dict)  # max_models, max_runtime_secs, nfolds, seed, algos
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1
    current_model = models.CharField(max_length=100, blank=True)
    models_done = models.IntegerField(default=0)
    leader_model_id = models.CharField(max_length=100, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the task was last handed to the broker; null while the broker could not be reached, so
    # a worker's recovery pass knows to send it (see services.send_experiment).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Across-model explanation data from the engine: importance heatmap, model correlation.
    explanation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The home page lists a user's experiments, newest first.
            models.Index(fields=["owner", "-created_at"], name="experiment_owner_recent"),
            # Stale-run detection looks for running experiments by heartbeat age.
            models.Index(fields=["status", "heartbeat_at"], name="experiment_status_heartbeat"),
        ]

    def __str__(self):
        return self.name or f"Experiment {self.pk}"

    def get_absolute_url(self):
        return reverse("experiment", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def leader(self):
        if not self.leader_model_id:
            return None
        return self.results.filter(model_id=self.leader_model_id).first()

    def leaderboard(self):
        """Finished models, best first by the sort metric (failed ones are listed separately)."""
        from automl_engine.metrics import sort_key

        rows = list(self.results.filter(status=ModelResult.Status.FINISHED))
        metric = self.sort_metric
        return sorted(rows, key=lambda r: (sort_key(metric, r.metrics.get(metric)), r.model_id))


class ModelResult(models.Model):
    class Status(models.TextChoices):
        FINISHED = "finished"
        FAILED = "failed"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="results")
    model_id = models.CharField(max_length=100)
    algo = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FINISHED)
    metrics = models.JSONField(default=dict)
    test_metrics = models.JSONField(null=True, blank=True)
    params = models.JSONField(default=dict)
    training_time_ms = models.IntegerField(default=0)
    predict_time_per_row_ms = models.FloatField(default=0.0)
    file = models.FileField(upload_to="models/", max_length=500, blank=True)
    error = models.TextField(blank=True)
    # Explanation data from the engine (importance, SHAP, partial dependence, residuals or
    # confusion matrix / ROC / PR); null until computed.
    explanation = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One row per model per experiment: a redelivered task updates, never duplicates.
            models.UniqueConstraint(fields=["experiment", "model_id"], name="one_result_per_model"),
        ]

    def __str__(self):
        return self.model_id

    def to_api(self, task: str) -> dict:
        from automl_engine.metrics import COLUMNS

        row = {"model_id": self.model_id, "algo": self.algo, "status": self.status}
        row.update({k: self.metrics.get(k) for k in COLUMNS.get(task, ())})
        row["training_time_ms"] = self.training_time_ms
        row["predict_time_per_row_ms"] = self.predict_time_per_row_ms
        if self.test_metrics:
            row["test_metrics"] = self.test_metrics
        if self.error:
            row["error"] = self.error
        return row


class ExperimentEvent(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="events")
    seq = models.IntegerField()
    kind = models.CharField(max_length=40)
    message = models.TextField()
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        # The live page asks for an experiment's events after the last seq it has seen.
        constraints = [models.UniqueConstraint(fields=["experiment", "seq"], name="one_event_per_seq")]


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)  # looked up on every API call
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # none: until revoked
    can_create_tokens = models.BooleanField(default=False)  # a leaked token cannot mint others unless given this

    @classmethod
    def issue(cls, user, expires_in_days: int | None = None, can_create_tokens: bool = False) -> tuple["ApiToken", str]:
        from datetime import timedelta

        from django.utils import timezone

        key = secrets.token_urlsafe(32)
        expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        token = cls.objects.create(user=user, key_hash=_hash_key(key), prefix=key[:8], expires_at=expires,
                                   can_create_tokens=can_create_tokens)
        return token, key

    @classmethod
    def for_key(cls, key: str):
        """The live token with this key (not revoked, not expired, its user active), or None."""
        from django.db.models import Q
        from django.utils import timezone

        token = cls.objects.select_related("user").filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
            key_hash=_hash_key(key), revoked_at__isnull=True).first()
        return token if token and token.user.is_active else None

    @classmethod
    def user_for_key(cls, key: str):
        token = cls.for_key(key)
        return token.user if token else None


class PredictionJob(models.Model):
    """A large file scored in the background, in chunks of rows, with its progress and its result."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prediction_jobs")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="prediction_jobs")
    model_id = models.CharField(max_length=100)
    file_name = models.CharField(max_length=255)
    input_file = models.FileField(upload_to="predictions/", max_length=500)
    output_file = models.FileField(upload_to="predictions/", max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    n_rows = models.IntegerField(default=0)  # an estimate from the file's lines until it is read
    rows_done = models.IntegerField(default=0)
    notes = models.JSONField(default=list)  # what the scoring noticed about the file's columns
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # touched as each chunk of rows is scored: a running job whose beats stop lost its worker
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)  # times a worker started it (a lost run is started again)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Scoring {self.file_name} with {self.model_id}"

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return round(min(0.99, self.rows_done / self.n_rows), 3) if self.n_rows else 0.0

    def to_api(self) -> dict:
        from django.urls import reverse

        out = {"id": self.pk, "experiment": self.experiment_id, "model_id": self.model_id, "status": self.status,
               "progress": self.progress, "rows_done": self.rows_done, "rows": self.n_rows, "notes": self.notes,
               "error": self.error or None, "created_at": self.created_at.isoformat(),
               "finished_at": self.finished_at.isoformat() if self.finished_at else None}
        if self.status == self.Status.SUCCEEDED:
            out["csv_url"] = reverse("api-prediction-download", args=[self.pk])
        return out
