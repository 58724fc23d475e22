"""Candidates in Label Studio: sample them for tasks and write them into task data.

Every write reads the task from Label Studio first (the source of truth),
never trusting a copy that came with a request, and merges only the
backend's own keys; a task gets candidates once per serving version.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from illume.images import ImageError
from illume.items import Candidate, Item
from illume.rank import shown
from illume.versions import latest_version
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.labels import is_resolved, prediction
from ml_backend.model_host import ModelHost
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
        self, settings: Settings, host: ModelHost, counters: Counters, ls: lsclient.Connection
    ):
        self.settings = settings
        self.host = host
        self.counters = counters
        self.ls = ls
        self._model_lock = threading.RLock()
        """Held from choosing a version to the end of sampling with it."""
        self._recent: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        """(task id, version) -> prediction of tasks sampled lately, so none is sampled twice."""
        self._wanted: dict[int, dict[int, None]] = {}
        """project -> task ids /predict asked about while the model was busy (ordered set)."""
        self._wanted_lock = threading.Lock()
        self._passes = 0
        """Passes (`generate`) running now."""

    def serve_project(self, project: int | None) -> str:
        """Load the project's newest version (or the base model); return its name."""
        self.host.wait_ready()
        if project is None:
            return self.host.version
        return self.host.use_version(latest_version(self.settings.project_versions(project)))

    def generate(self, project: int, task_ids: list[int] | None = None) -> int:
        """Candidates + a prediction for every unresolved task lacking this version's set.

        Streams the project's task list page by page and samples each page's
        tasks before reading the next, so a 10,000-task project is never held
        in memory. A pass over the whole project records the last task it
        finished (`PassCursor`): a backend killed mid-pass resumes after it,
        and tasks that already show this version's candidates are skipped
        without sampling either way. Returns how many tasks were sampled.
        """
        with self._wanted_lock:
            self._passes += 1
        try:
            return self._generate(project, task_ids)
        finally:
            with self._wanted_lock:
                self._passes -= 1

    def _generate(self, project: int, task_ids: list[int] | None) -> int:
        version = self.serve_project(project)
        labels = self.ls.labels(project)
        cursor = PassCursor(self.settings.project_dir(project))
        whole = not task_ids
        after = cursor.resume(version) if whole else 0
        if after:
            log.info("project %s: resuming the %s pass after task %d", project, version, after)
        if whole:
            pages = lsclient.iter_task_pages(self.ls.client, project, after=after)
        else:
            pages = iter([list(lsclient.iter_tasks(self.ls.client, project, task_ids))])
        done = 0
        for page in pages:
            self._add_missing_predictions(page, version, labels)
            todo = [t for t in page if needs_candidates(t, version, labels)]
            for batch in self._batches(todo, first=done == 0):
                self.generate_tasks(batch, project, add_predictions=True)
                done += len(batch)
                if whole:  # pages come in id order: every task up to this one is done
                    cursor.save(version, int(batch[-1]["id"]))
                self._serve_wanted(project)
            if whole:
                cursor.save(version, int(page[-1]["id"]))
            self._serve_wanted(project)  # also while the pass only skips done tasks
            if todo:
                log.info("project %s: %d tasks sampled with %s so far", project, done, version)
        if whole:
            cursor.clear()
        log.info("project %s: candidates for %d tasks with %s", project, done, version)
        return done

    def _batches(self, todo: list[Task], first: bool) -> Iterator[list[Task]]:
        """`todo` in sampling batches; a small first one, so annotators can start on it."""
        start = 0
        while start < len(todo):
            size = self.settings.sample.batch_items
            step = max(1, min(2, size) if first and start == 0 else size)
            yield todo[start : start + step]
            start += step

    def _add_missing_predictions(self, page: list[Task], version: str, labels) -> None:
        """A prediction from stored candidates for tasks that show them but have none.

        A backend killed between writing a task's candidates and adding its
        prediction leaves such a task; the candidates are not sampled again.
        """
        for task in page:
            if tasks.candidates_version(task) != version or tasks.failed_for(task, version):
                continue
            stored = tasks.stored_candidates(task)
            if not stored or is_resolved(task, labels) or _has_prediction(task, version):
                continue
            pred = self.prediction_for(task, stored, version, labels)
            lsclient.create_prediction(self.ls.client, task["id"], pred)

    def want(self, project: int, task_ids: list[int]) -> None:
        """Tasks Label Studio asked /predict about: the running pass samples them next."""
        with self._wanted_lock:
            self._wanted.setdefault(project, {}).update(dict.fromkeys(task_ids))

    def _serve_wanted(self, project: int) -> None:
        """Between batches: sample the tasks /predict asked about meanwhile (see `want`)."""
        with self._wanted_lock:
            ids = list(self._wanted.pop(project, {}))
        if not ids:
            return
        version = self.serve_project(project)
        labels = self.ls.labels(project)
        found = lsclient.iter_tasks(self.ls.client, project, ids)
        todo = [t for t in found if needs_candidates(t, version, labels)]
        for batch in self._batches(todo, first=False):  # sampled already: `_recent` answers
            self.generate_tasks(batch, project, add_predictions=True)

    def model_busy(self) -> bool:
        """Is a pass running or a batch being sampled? (/predict then leaves its tasks to it.)

        Between two batches of a pass the lock is free for a moment; /predict
        must not take it then either, or the next batch waits on its sampling.
        """
        if self._passes or not self._model_lock.acquire(blocking=False):
            return True
        self._model_lock.release()
        return False

    def generate_tasks(
        self, batch: list[Task], project: int | None, add_predictions: bool, wait: bool = True
    ) -> dict[int, dict[str, Any] | None]:
        """Sample, write candidates into task data, optionally add predictions.

        `batch` holds tasks as just read from Label Studio. Returns task id ->
        prediction (None for a task that failed, whose reason is written into its
        data as `candidates_error`, or that was resolved or moved meanwhile).

        Label Studio is never called while the model lock is held: it may call
        /predict from inside its own request handlers, so a call to it under the
        lock could wait on a /predict that waits on the lock. With `wait` False
        (/predict) a busy model is not waited for: the tasks go to the running
        pass (`want`) and the result is empty.
        """
        started = time.monotonic()
        labels = self.ls.labels(project)
        if not self._model_lock.acquire(blocking=wait):
            if project is not None:
                self.want(project, [t["id"] for t in batch])
            return {}
        try:
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
        finally:
            self._model_lock.release()
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
        sampled = self.host.sample([item for _, item in usable]) if usable else []
        made: list[Made] = []
        for (task, item), result in zip(usable, sampled, strict=True):
            if result.error or not result.candidates:
                failed.append((task, result.error or "no candidates"))
                continue
            ranked = sorted(result.candidates, key=_order, reverse=True)
            ranked = shown(item, ranked, self.settings.max_options)
            cands = [
                {
                    "text": c.text,
                    "rank": c.rank,
                    "logprob": c.logprob,
                    "temperature": c.temperature,
                    "prompt": c.prompt,  # the progress page counts ticks per explanation prompt
                    "model_version": version,
                    **({"phrasing": c.phrasing} if item.phrasings else {}),
                    **({"explanation": c.explanation} if c.explanation else {}),
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


def needs_candidates(task: Task, version: str, labels) -> bool:
    """Unresolved and not yet showing (or failed with) this version's candidates."""
    return not is_resolved(task, labels) and tasks.candidates_version(task) != version


def _has_prediction(task: Task, version: str) -> bool:
    preds = task.get("predictions")
    return any(isinstance(p, dict) and p.get("model_version") == version for p in preds or [])


class PassCursor:
    """How far the current pass over a project got: `{"version", "after"}` in a small file.

    Saved after each batch and page of the task list and cleared when the pass
    ends, so only an interrupted pass resumes; the next one reads the whole
    project again (tasks whose annotations were deleted become unresolved).
    Written to a temporary file and renamed, so a kill leaves the old or the
    new cursor, never half of one; a cursor that cannot be read starts over.
    """

    def __init__(self, folder: Path):
        self.path = folder / "generate.cursor"

    def resume(self, version: str) -> int:
        """The last task id of the interrupted pass with `version` (0: from the start)."""
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as e:
            log.warning("unreadable %s (%s): the pass starts over", self.path, e)
            return 0
        if not isinstance(saved, dict) or saved.get("version") != version:
            return 0
        after = saved.get("after")
        return after if isinstance(after, int) and not isinstance(after, bool) else 0

    def save(self, version: str, after: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": version, "after": after}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _order(c: Candidate) -> tuple[float, float]:
    """Best first: by the engine's rank (illume.rank), then by log-probability."""
    return (c.rank if c.rank is not None else -1.0, c.logprob)
