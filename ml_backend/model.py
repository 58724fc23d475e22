"""The ILLUME model as Label Studio sees it: `predict(tasks, context)` and `fit(event, data)`.

Same shape as label-studio-ml-backend's example models, without its
per-request rebuild: one instance per process holds the engine (loaded in
the background), the durable job queue and the worker thread.

With ILLUME_REDIS_URL the process only records jobs in Redis (rqueue.py) and
answers from what Label Studio holds: no model is loaded, no worker thread
runs; `illume worker` processes do the sampling and the rounds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from illume.versions import BASE_VERSION, latest_version
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.jobqueue import JobLog, Worker
from ml_backend.jobs import Jobs, event_project
from ml_backend.labels import is_resolved
from ml_backend.model_host import ModelHost
from ml_backend.rqueue import RedisQueues
from ml_backend.state import Counters

log = logging.getLogger(__name__)

SETUP_REGENERATE_S = 30.0
"""/setup comes before every predict batch: at most one scan for new tasks per this many s."""


class IllumeModel:
    """Candidates ahead of annotation, tuning rounds from annotators' verdicts."""

    def __init__(self, settings: Settings | None = None, client=None):
        self.settings = settings or Settings.from_env()
        self.counters = Counters()
        self.host = ModelHost(self.settings)
        self.remote = RedisQueues(self.settings) if self.settings.redis_url else None
        """The RQ queues when jobs go to Redis (None: the in-process queue below)."""
        self.jobs = Jobs(self.settings, self.host, self.counters, client, recover=not self.remote)
        self.queue = JobLog(self.settings.data_dir / "queue")
        ignore = self.settings.data_dir / ".gitignore"
        if not ignore.exists():  # state, not source: keep it out of a checkout's git status
            ignore.write_text("*\n")
        self.worker = Worker(self.queue, self.jobs.handle, self.jobs.tick)
        self._last_scan: dict[int, float] = {}

    def start(self) -> IllumeModel:
        """Load the model in the background and start the job worker (resumes old jobs)."""
        if self.remote is not None:
            log.info("jobs go to Redis: `illume worker` processes sample and tune")
            return self
        if self.settings.load_model:
            self.host.start_loading()
            self.worker.start()
        pending = len(self.queue.pending())
        if pending:
            log.info("resuming %d unfinished jobs", pending)
        return self

    @property
    def model_version(self) -> str:
        return self.host.version

    def version_for(self, project: int | None) -> str:
        """The project's newest published version (what its candidates come from)."""
        if project is None:
            return self.model_version
        latest = latest_version(self.settings.project_versions(project))
        return latest.name if latest else BASE_VERSION

    # ---- the protocol ---------------------------------------------------------------------

    def setup(self, project: int | None) -> str:
        """Answer /setup at once; queue a scan for tasks without candidates (throttled)."""
        if project is not None:
            now = time.monotonic()
            if now - self._last_scan.get(project, -1e9) > SETUP_REGENERATE_S:
                self._last_scan[project] = now
                if self.remote is not None:
                    self.remote.scan(project)
                elif not any(
                    j.get("kind") == "generate" and j.get("project") == project
                    for j in self.queue.pending()
                ):
                    self.queue.append({"kind": "generate", "project": project})
        return self.version_for(project)

    def predict(
        self, task_list: list[dict[str, Any]], context: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """A prediction per task, from stored candidates; samples only tasks that have none.

        The request's copy of a task only picks the prediction for candidates it
        already shows. Whether a task without candidates gets sampled, and the
        data written back, come from Label Studio: the task is read there and
        must belong to the request's project (else: an empty prediction).
        """
        self.counters.predict_calls += 1
        project = (context or {}).get("project")
        version = self.version_for(project)
        labels = self.jobs.ls.labels(project)
        out: dict[int, dict[str, Any] | None] = {}
        missing: list[int] = []
        for i, task in enumerate(task_list):
            stored = tasks.stored_candidates(task)
            if stored:
                made_by = tasks.candidates_version(task) or version
                out[i] = self.jobs.candidates.prediction_for(task, stored, made_by, labels)
            elif isinstance(task.get("id"), int) and not isinstance(task["id"], bool):
                missing.append(i)
        if missing and project is not None and self.remote is not None:
            # ahead of the scan's batches; a task already in a batch stays there
            todo = [
                task_list[i]["id"] for i in missing if not tasks.failed_for(task_list[i], version)
            ]
            self.remote.sample_batches(project, todo, front=True)
        elif missing and project is not None:
            made = self._sample_now([task_list[i]["id"] for i in missing], project)
            out.update({i: made.get(task_list[i]["id"]) for i in missing})
        return [out.get(i) or empty_prediction(version) for i in range(len(task_list))]

    def _sample_now(self, task_ids: list[int], project: int) -> dict[int, dict[str, Any] | None]:
        """Candidates for tasks Label Studio asked about before the background job reached them.

        While a batch is being sampled, nothing is waited for: the tasks go to the
        running pass, which samples them next, and get an empty prediction now.
        A task that already failed with the serving version is not retried here
        (Label Studio asks again on every look at it); a new version retries it.
        """
        version = self.version_for(project)
        if not self.settings.load_model or not self.host.wait_ready(timeout=60):
            log.info("model not ready: %d tasks wait for the background job", len(task_ids))
            return {}
        writer = self.jobs.candidates
        if writer.model_busy():  # the pass samples them next; /predict never waits on a batch
            writer.want(project, task_ids)
            return {}
        try:
            labels = self.jobs.ls.labels(project)
            fresh = [writer.read_task(tid, project) for tid in dict.fromkeys(task_ids)]
            known = [t for t in fresh if t is not None]
            made = {
                t["id"]: self.jobs.candidates.prediction_for(
                    t, tasks.stored_candidates(t), tasks.candidates_version(t) or version, labels
                )
                for t in known
                if tasks.stored_candidates(t)
            }
            todo = [
                t
                for t in known
                if t["id"] not in made
                and not is_resolved(t, labels)
                and not tasks.failed_for(t, version)
            ]
            self.counters.predict_sampled += len(todo)
            if todo:
                made.update(writer.generate_tasks(todo, project, add_predictions=False, wait=False))
            return made
        except lsclient.LabelStudioError as e:
            log.warning("/predict could not store candidates: %s", e)
            return {}
        except Exception:  # a sampling failure must not turn /predict into a 5xx
            log.exception("/predict could not sample; the background job will retry")
            return {}

    def fit(self, event: str, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Record a webhook event durably; the worker acts on it (never this thread).

        No Label Studio call here: the acknowledgement must not wait on it. The
        worker checks the project and marks it for a round (schedule.py).
        """
        job = {"kind": "event", "event": {**data, "action": event}}
        if self.remote is not None:
            return {"queued": self.remote.event(job["event"]), "project": event_project(data)}
        position = self.queue.append(job)
        return {"queued": position, "project": event_project(data)}

    # ---- status ---------------------------------------------------------------------------

    def projects_seen(self) -> list[int]:
        """Projects with bookkeeping here or a /setup since the process started."""
        return sorted(set(self.jobs.store.projects()) | set(self._last_scan))

    def health(self) -> dict[str, Any]:
        return {
            "status": "UP",
            "model_class": type(self).__name__,
            "model_state": self.host.state,
            "model_version": self.model_version,
        }

    def metrics(self) -> dict[str, Any]:
        worker = self.worker
        projects = {}
        for pid in self.jobs.store.projects():
            st = self.jobs.store.load(pid)
            projects[str(pid)] = {
                "round": st.round,
                "new_annotations": st.new_annotations,
                "last_round": st.rounds[-1] if st.rounds else None,
                "rounds_run": len(st.rounds),
                "candidates_wait_for_label_studio": self.jobs.owes_candidates(pid),
                **self.jobs.scheduler.status(pid, st),
            }
        return {
            "model": {
                "state": self.host.state,
                "version": self.model_version,
                "load_seconds": self.host.load_seconds,
                "error": self.host.error,
                **self.host.cache_stats(),
            },
            "jobs": {
                "pending": len(self.queue.pending()),
                "running": (worker.current or {}).get("kind")
                or ("round" if self.jobs.scheduler.running is not None else None),
                "done": worker.done,
                "failed": worker.failed,
                "last_error": worker.last_error,
            },
            "counters": self.counters.snapshot(),
            "round": self.jobs.rounds.status(),
            "projects": projects,
            **({"rq": self.rq_status()} if self.remote is not None else {}),
            "state_errors": self.jobs.store.errors + self.queue.errors,
        }

    def rq_status(self) -> dict[str, Any]:
        """The RQ queues' counts (an error message when Redis does not answer)."""
        try:
            return self.remote.status()
        except Exception as e:  # noqa: BLE001 (/status must answer while Redis is down)
            return {"error": f"{type(e).__name__}: {e}"[:300]}


def empty_prediction(version: str) -> dict[str, Any]:
    return {"result": [], "score": 0.0, "model_version": version}
