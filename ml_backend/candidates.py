"""Candidates in Label Studio: sample them for tasks and write them into task data.

Every write reads the task from Label Studio first (the source of truth),
never trusting a copy that came with a request, and merges only the
backend's own keys; a task gets candidates once per serving version.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from illume.images import ImageError
from illume.items import Candidate, Item
from illume.versions import latest_version
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.engine import Engine
from ml_backend.labels import is_resolved, prediction
from ml_backend.state import Counters

log = logging.getLogger(__name__)

Task = dict[str, Any]
Made = tuple[Task, list[dict[str, Any]]]
"""A task and the candidates sampled for it."""
Failed = tuple[Task, str]
"""A task and why it got no candidates."""

RECENT_TASKS = 4096
"""How many recently sampled tasks the writer remembers (see CandidateWriter._recent)."""
WRITE_ATTEMPTS = 5
"""Reads and writes of one task before a write that keeps meeting concurrent edits gives up."""


class CandidateWriter:
    """Samples candidates with the project's newest version and stores them per task."""

    def __init__(
        self, settings: Settings, engine: Engine, counters: Counters, ls: lsclient.Connection
    ):
        self.settings = settings
        self.engine = engine
        self.counters = counters
        self.ls = ls
        self._model_lock = threading.RLock()
        """Held from choosing a version to the end of sampling with it."""
        self._recent: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        """(task id, version) -> prediction of tasks sampled lately, so none is sampled twice."""

    def serve_project(self, project: int | None) -> str:
        """Load the project's newest version (or the base model); return its name."""
        self.engine.wait_ready()
        if project is None:
            return self.engine.version
        return self.engine.use_version(latest_version(self.settings.project_versions(project)))

    def generate(self, project: int, task_ids: list[int] | None = None) -> int:
        """Candidates + a prediction for every unresolved task lacking this version's set."""
        version = self.serve_project(project)
        labels = self.ls.labels(project)
        todo = [
            t
            for t in lsclient.iter_tasks(self.ls.client, project, task_ids)
            if not is_resolved(t, labels) and tasks.candidates_version(t) != version
        ]
        log.info("project %s: candidates for %d tasks with %s", project, len(todo), version)
        start = 0
        while start < len(todo):
            # a small first batch: annotators can start on it while the rest is sampled
            step = max(1, self.settings.batch_tasks if start else min(2, self.settings.batch_tasks))
            self.generate_tasks(todo[start : start + step], project, add_predictions=True)
            start += step
            log.info("project %s: %d/%d tasks", project, min(start, len(todo)), len(todo))
        return len(todo)

    def generate_tasks(
        self, batch: list[Task], project: int | None, add_predictions: bool
    ) -> dict[int, dict[str, Any] | None]:
        """Sample, write candidates into task data, optionally add predictions.

        `batch` holds tasks as just read from Label Studio. Returns task id ->
        prediction (None for a task that failed, whose reason is written into its
        data as `candidates_error`, or that was resolved or moved meanwhile).

        Label Studio is never called while the model lock is held: it may call
        /predict from inside its own request handlers, so a call to it under the
        lock could wait on a /predict that waits on the lock.
        """
        started = time.monotonic()
        labels = self.ls.labels(project)
        with self._model_lock:
            version = self.serve_project(project)
            out = {
                t["id"]: self._recent[(t["id"], version)]
                for t in batch
                if (t["id"], version) in self._recent
            }
            made, failed = self._sample_batch([t for t in batch if t["id"] not in out], version)
            for task, cands in made:  # a /predict queued behind this batch reuses its result
                pred = self.prediction_for(task, cands, version, labels)
                self._remember((task["id"], version), pred)
        for task, error in failed:
            out[task["id"]] = self._fail(task, error, version, project)
        for task, cands in made:
            out[task["id"]] = self._store(task, cands, version, project, add_predictions)
        self.counters.generate_seconds += time.monotonic() - started
        return out

    def _remember(self, key: tuple[int, str], pred: dict[str, Any]) -> None:
        self._recent[key] = pred
        while len(self._recent) > RECENT_TASKS:
            self._recent.popitem(last=False)

    def _sample_batch(self, batch: list[Task], version: str) -> tuple[list[Made], list[Failed]]:
        """Sample the usable tasks in one call: (task, candidates) and (task, why) pairs.

        Tasks of the same item share its result.
        """
        failed: list[Failed] = []
        usable: list[tuple[Task, Item]] = []
        for task in batch:
            try:
                usable.append((task, tasks.task_item(task, self.ls.resolver.resolve)))
            except (tasks.TaskError, ImageError) as e:
                failed.append((task, str(e)))
        sampled = self.engine.sample([item for _, item in usable]) if usable else []
        made: list[Made] = []
        for (task, item), result in zip(usable, sampled, strict=True):
            if result.error or not result.candidates:
                failed.append((task, result.error or "no candidates"))
                continue
            ranked = sorted(result.candidates, key=_order, reverse=True)
            cands = [
                {
                    "text": c.text,
                    "rank": c.rank,
                    "logprob": c.logprob,
                    "temperature": c.temperature,
                    "prompt": c.prompt,  # the progress page counts ticks per explanation prompt
                    "model_version": version,
                    **({"phrasing": c.phrasing} if item.phrasings else {}),
                }
                for c in ranked
            ]
            made.append((task, cands))
        return made, failed

    def _store(
        self,
        task: Task,
        cands: list[dict[str, Any]],
        version: str,
        project: int | None,
        add_predictions: bool,
    ) -> dict[str, Any] | None:
        """Write one task's candidates and (optionally) its prediction; return the prediction."""
        write = partial(tasks.with_candidates, candidates=cands, version=version)
        if not self.store_own_keys(task["id"], project, write):
            return None
        pred = self.prediction_for(task, cands, version, self.ls.labels(project))
        if add_predictions:
            lsclient.create_prediction(self.ls.client, task["id"], pred)
        self.counters.tasks_generated += 1
        self.counters.candidates_written += len(cands)
        return pred

    def _fail(self, task: dict[str, Any], error: str, version: str, project: int | None) -> None:
        """Record a per-task error in the log, the counters and the task's data."""
        log.warning("task %s: %s", task.get("id"), error)
        self.counters.tasks_failed += 1
        self.counters.last_task_error = f"task {task.get('id')}: {error}"
        try:
            self.store_own_keys(
                task["id"], project, partial(tasks.with_error, error=error, version=version)
            )
        except lsclient.LabelStudioError as e:
            log.warning("could not record the error on task %s: %s", task.get("id"), e)
        return None

    def prediction_for(
        self, task: dict[str, Any], cands: list[dict[str, Any]], version: str, labels
    ) -> dict[str, Any]:
        """The task's prediction under the pre-tick rule (ml_backend.labels.prediction)."""
        s = self.settings
        return prediction(
            cands, version, s.pretick, labels, s.pretick_min_rank, tasks.answer_of(task)
        )

    def store_own_keys(
        self, task_id: int, project: int | None, edit: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> bool:
        """Apply `edit` to the task data Label Studio holds now; write back only our keys.

        Never writes a copy that came from a request: the task is read first,
        must belong to `project` and be unresolved, and only OWN_KEYS of the
        edit's result are merged into what was read. A task that changed
        between the read and the write is read again (a concurrent edit in
        Label Studio wins). Returns False when nothing was written.
        """
        if project is None:
            return False
        labels = self.ls.labels(project)
        for _ in range(WRITE_ATTEMPTS):
            task = self.read_task(task_id, project)
            if task is None or is_resolved(task, labels):
                return False
            data = task["data"] if isinstance(task.get("data"), dict) else {}
            merged = tasks.merge_own_keys(data, edit(dict(data)))
            again = self.read_task(task_id, project)
            if again is None or again.get("data") != task.get("data"):
                continue
            lsclient.update_task_data(self.ls.client, task_id, merged)
            return True
        raise lsclient.LabelStudioError(f"task {task_id} kept changing: nothing written")

    def read_task(self, task_id: int, project: int) -> dict[str, Any] | None:
        """The task from Label Studio if it exists in `project`, else None."""
        return lsclient.get_project_task(self.ls.client, project, task_id)


def _order(c: Candidate) -> tuple[float, float]:
    """Best first: by the engine's rank (illume.rank), then by log-probability."""
    return (c.rank if c.rank is not None else -1.0, c.logprob)
