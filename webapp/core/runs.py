"""Running an experiment inside a worker: the claim, the engine run, and events turned into rows.

Called by ``worker.tasks.run_experiment``. Kept here, next to the models it writes, so the web
app never imports the worker and the worker holds only the Celery wiring.
"""
from __future__ import annotations

import logging
import tempfile
import threading
import time
import traceback
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import Max
from django.utils import timezone

from automl_engine import AutoML, DataError, read_csv, save_model
from automl_engine import events as ev
from automl_engine.families import ENSEMBLE_ALGO

from . import claims
from .continuation import current_pass, earlier_models, first_validation
from .dbretry import retry_db
from .explanations import engine_budget, save_oof, store_explanations
from .holdout import split_for_test
from .models import Experiment, ExperimentEvent, ModelResult
from .options import ExperimentOptions
from .tables import finite

log = logging.getLogger(__name__)
CANCEL_CHECK_SECS = 1.0  # how often a running experiment looks for the user's Stop


class Heartbeat(threading.Thread):
    """Touches the experiment row while the run goes on, so a dead worker can be told apart; and
    watches the run's progress, so a run that hangs while its worker lives is told apart too.

    ``progress`` is the recorder: its ``last_event_at`` (time of the engine's last event) and
    ``stall_limit()`` (how long without one means the run hangs)."""

    def __init__(self, experiment_id: int, progress=None):
        super().__init__(daemon=True)
        self.experiment_id = experiment_id
        self.progress = progress
        self.stop_event = threading.Event()

    def _stalled(self) -> float | None:
        if self.progress is None:
            return None
        silent = time.time() - self.progress.last_event_at
        return silent if silent > self.progress.stall_limit() else None

    def _stopped_by_user(self) -> bool:
        """The user pressed Stop: the run ends now with the models trained so far (the model in training
        is dropped), rather than after it; its explanations are computed when first asked for."""
        stopped = Experiment.objects.filter(pk=self.experiment_id, status=Experiment.Status.RUNNING,
                                            cancel_requested=True).exists()
        if stopped:
            _finish(self.experiment_id, status=Experiment.Status.CANCELLED,
                    leader_model_id=_leader_so_far(self.experiment_id), progress=1.0)
        return stopped

    def run(self):
        try:
            self._beat()
        finally:
            connection.close()  # this thread's own connection, not left for the database to time out

    def _beat(self):
        last_beat = time.time()
        while not self.stop_event.wait(CANCEL_CHECK_SECS):
            try:
                if self._stopped_by_user():
                    return
            except Exception:  # the next check may succeed
                log.warning("could not check experiment %s for a stop", self.experiment_id, exc_info=True)
            finally:
                close_old_connections()
            if time.time() - last_beat < settings.HEARTBEAT_SECS:
                continue
            last_beat = time.time()
            silent = self._stalled()
            if silent is not None:
                log.error("experiment %s made no progress for %.0f s: marked failed", self.experiment_id, silent)
                _finish(self.experiment_id, status=Experiment.Status.FAILED,
                        leader_model_id=_leader_so_far(self.experiment_id),
                        error=f"Training stopped making progress (nothing happened for {silent:.0f} s, far longer "
                              "than any model should take). The models trained so far are kept; starting the "
                              "experiment again usually helps.")
                close_old_connections()
                return  # no more beats: the run is over for everyone who reads it
            try:
                Experiment.objects.filter(pk=self.experiment_id).update(heartbeat_at=timezone.now())
            except Exception:  # a missed beat is not fatal; the next one may succeed
                log.warning("heartbeat failed for experiment %s", self.experiment_id, exc_info=True)
            finally:
                close_old_connections()


class Recorder:
    """The engine callback: writes each event as rows, answers whether to stop."""

    def __init__(self, experiment: Experiment):
        self.experiment = experiment
        self.aml: AutoML | None = None
        self.seq = (experiment.events.aggregate(m=Max("seq"))["m"] or 0)
        budget = current_pass(experiment)  # a continued experiment's pass has a budget of its own
        self.max_models = budget["max_models"]
        self.max_secs = budget["max_runtime_secs"]
        self.models_before = budget["models_before"]
        self.started = time.time()
        self.last_event_at = self.started
        self.model_secs = None  # the cost model's seconds per model, once the run has started

    def stall_limit(self) -> float:
        """Seconds without an event after which the run is taken to hang: several times the longest a
        model can take (with a time budget no model outlives the budget)."""
        longest = self.max_secs or self.model_secs or 0
        return max(settings.WATCHDOG_MIN_SECS, settings.WATCHDOG_FACTOR * longest)

    def __call__(self, event: ev.Event) -> bool:
        return retry_db(self._record, event)

    def _record(self, event: ev.Event) -> bool:
        """Write the event's rows; True (stop) when a stop was asked or the run is no longer ours."""
        self.last_event_at = time.time()
        handler = getattr(self, f"on_{event.kind}", None)
        message = handler(event) if handler else event.kind
        self._log(event, message)
        return not Experiment.objects.filter(pk=self.experiment.pk, status=Experiment.Status.RUNNING,
                                             cancel_requested=False).exists()

    def _log(self, event: ev.Event, message: str) -> None:
        seq = self.seq + 1
        ExperimentEvent.objects.update_or_create(
            experiment=self.experiment, seq=seq,
            defaults={"kind": event.kind, "message": message, "data": event.to_dict()})
        self.seq = seq
        Experiment.objects.filter(pk=self.experiment.pk).update(
            heartbeat_at=timezone.now(), progress=self._progress())

    def _base_models_done(self) -> int:
        """Finished models that count against max_models (stacked ensembles do not, as in H2O)."""
        return self.experiment.results.filter(status=ModelResult.Status.FINISHED).exclude(
            algo=ENSEMBLE_ALGO).count()

    def _progress(self) -> float:
        done = self._base_models_done() - self.models_before
        parts = []
        if self.max_models:
            parts.append(done / self.max_models)
        if self.max_secs:
            parts.append((time.time() - self.started) / self.max_secs)
        return round(min(0.99, max(parts) if parts else 0.0), 3)

    def on_run_started(self, e: ev.RunStarted) -> str:
        self.model_secs = (e.forecast or {}).get("seconds_per_model")
        Experiment.objects.filter(pk=self.experiment.pk).update(
            task=e.task, task_reason=e.task_reason, sort_metric=e.sort_metric)
        self.experiment.sort_metric = e.sort_metric
        dropped = "; ".join(f"{c} ({why})" for c, why in e.dropped_columns.items())
        msg = f"Started: {e.n_rows:,} rows, {e.n_features:,} feature columns, task {e.task}."
        if e.validation:
            msg += f" Models are scored by {e.validation} ({e.validation_reason})." if e.validation_reason \
                else f" Models are scored by {e.validation}."
        if dropped:
            msg += f" Not used: {dropped}."
        if e.dropped_rows:
            msg += f" {e.dropped_rows:,} rows without a target value were left out."
        for warning in e.warnings:
            msg += f" Warning: {warning}"
        return msg

    def on_model_started(self, e: ev.ModelStarted) -> str:
        Experiment.objects.filter(pk=self.experiment.pk).update(current_model=e.model_id)
        return f"Training {e.model_id}."

    def on_model_finished(self, e: ev.ModelFinished) -> str:
        if not Experiment.objects.filter(pk=self.experiment.pk, status=Experiment.Status.RUNNING).exists():
            return f"{e.model_id} finished after the run was stopped: not kept."
        name = self._save_file(e.model_id)
        ModelResult.objects.update_or_create(
            experiment=self.experiment, model_id=e.model_id,
            defaults={"algo": e.algo, "status": ModelResult.Status.FINISHED, "metrics": e.metrics,
                      "test_metrics": e.test_metrics, "params": e.params, "error": "",
                      "training_time_ms": e.training_time_ms,
                      "predict_time_per_row_ms": e.predict_time_per_row_ms, "file": name,
                      "explanation": None})  # a rebuilt ensemble is explained afresh
        Experiment.objects.filter(pk=self.experiment.pk).update(models_done=self._base_models_done(),
                                                                current_model="")
        metric = self.experiment.sort_metric
        value = e.metrics.get(metric)
        return f"{e.model_id} finished: {metric} {value:.4g}." if value is not None else f"{e.model_id} finished."

    def on_model_failed(self, e: ev.ModelFailed) -> str:
        ModelResult.objects.update_or_create(
            experiment=self.experiment, model_id=e.model_id,
            defaults={"algo": e.algo, "status": ModelResult.Status.FAILED, "error": e.error})
        return f"{e.model_id} failed: {e.error}"

    def on_run_finished(self, e: ev.RunFinished) -> str:
        how = "Stopped by you" if e.stopped_early else "Finished"
        return f"{how} after {e.elapsed_s:.0f} s with {e.n_models} models. Leader: {e.leader or 'none'}."

    def _save_file(self, model_id: str) -> str:
        name = f"models/experiment_{self.experiment.pk}/{model_id}.automl"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.automl"
            save_model(self.aml.get_model(model_id), path)
            if default_storage.exists(name):
                default_storage.delete(name)
            with open(path, "rb") as fh:
                saved = default_storage.save(name, File(fh))
        save_oof(saved, self.aml.out_of_fold(model_id))
        return saved


def _finish(experiment_id: int, **fields) -> None:
    """running -> finished. A run already marked failed as lost stays as it was marked."""
    fields.setdefault("finished_at", timezone.now())
    fields.setdefault("current_model", "")
    retry_db(Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.RUNNING).update, **fields)


def _leader_so_far(experiment_id: int) -> str:
    board = Experiment.objects.get(pk=experiment_id).leaderboard()
    return board[0].model_id if board else ""


def run_experiment(experiment_id: int, worker: str) -> str:
    outcome = claims.claim(experiment_id, worker)
    if outcome == claims.DEFERRED:
        log.info("experiment %s waits: its owner has the most experiments running", experiment_id)
        claims.defer(experiment_id)
        return "deferred"
    if outcome != claims.CLAIMED:
        log.info("experiment %s not claimed (already taken, finished or cancelled)", experiment_id)
        claims.settle_redelivery(experiment_id, worker)
        return "skipped"
    experiment = Experiment.objects.select_related("dataset").get(pk=experiment_id)
    recorder = Recorder(experiment)
    heartbeat = Heartbeat(experiment_id, progress=recorder)
    heartbeat.start()
    try:
        return _run(experiment, recorder)
    finally:
        heartbeat.stop_event.set()


def _run(experiment: Experiment, recorder: "Recorder") -> str:
    opts = ExperimentOptions.from_stored(experiment.options)
    budget = current_pass(experiment)
    try:
        with default_storage.open(experiment.dataset.file.name, "rb") as fh:
            frame, _ = finite(read_csv(fh.read()))
        previous, tried = earlier_models(experiment) if budget["continued"] else ([], [])
        aml = AutoML(**{**opts.engine_kwargs(), "max_models": budget["max_models"]},
                     max_runtime_secs=engine_budget(budget["max_runtime_secs"]), task=experiment.task or "auto",
                     callback=recorder, started_at=recorder.started,
                     validation=first_validation(experiment) if budget["continued"] else None)
        recorder.aml = aml
        frame, test_frame = split_for_test(frame, experiment.target, opts.test_split, opts.seed)
        aml.fit(frame, experiment.target, test_frame, previous=previous, tried=tried)
    except DataError as exc:
        cancelled = Experiment.objects.filter(pk=experiment.pk, cancel_requested=True).exists()
        _finish(experiment.pk, status=Experiment.Status.CANCELLED if cancelled else Experiment.Status.FAILED,
                error=str(exc))
        return "failed"
    except Exception as exc:
        log.exception("experiment %s failed", experiment.pk)
        _finish(experiment.pk, status=Experiment.Status.FAILED, traceback=traceback.format_exc(),
                leader_model_id=_leader_so_far(experiment.pk),
                error="Training stopped because of an unexpected problem on our side. The models "
                      "trained so far are kept; starting the experiment again usually helps.")
        return "failed"
    if aml.stopped_early:  # stopped by the user (marked at once by the heartbeat) or no longer ours
        _finish(experiment.pk, status=Experiment.Status.CANCELLED, leader_model_id=_leader_so_far(experiment.pk),
                progress=1.0)
        return Experiment.Status.CANCELLED
    Experiment.objects.filter(pk=experiment.pk).update(leader_model_id=aml.leader.model_id)
    secs = budget["max_runtime_secs"]
    store_explanations(experiment, aml, deadline=recorder.started + secs if secs else None)
    with transaction.atomic():
        _finish(experiment.pk, status=Experiment.Status.SUCCEEDED, leader_model_id=aml.leader.model_id,
                progress=1.0, models_done=sum(m.algo != ENSEMBLE_ALGO for m in aml.models.values()))
    return Experiment.Status.SUCCEEDED
