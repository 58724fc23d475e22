"""What the background worker does: generate candidates, run tuning rounds.

Every job re-reads Label Studio (the source of truth) instead of trusting a
webhook payload, and every job is safe to run twice: candidates are only
written for tasks that lack them for the serving version, and a round
publishes a new version atomically or nothing at all.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from illume.images import ImageError, open_image
from illume.items import Item, write_jsonl
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.engine import Engine, latest_version
from ml_backend.images import ImageResolver
from ml_backend.state import Counters, StateStore

log = logging.getLogger(__name__)

Task = dict[str, Any]
Made = tuple[Task, list[dict[str, Any]]]
"""A task and the candidates sampled for it."""
Failed = tuple[Task, str]
"""A task and why it got no candidates."""

RECENT_TASKS = 4096
"""How many recently sampled tasks the backend remembers (see Jobs._recent)."""
WRITE_ATTEMPTS = 5
"""Reads and writes of one task before a write that keeps meeting concurrent edits gives up."""

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")


class Jobs:
    """Handlers for the job kinds in the queue: event, generate, train."""

    def __init__(self, settings: Settings, engine: Engine, counters: Counters, client=None):
        self.settings = settings
        self.engine = engine
        self.counters = counters
        self.store = StateStore(settings.data_dir, settings.project_versions)
        self._client = client
        self._resolver: ImageResolver | None = None
        self._model_lock = threading.RLock()
        """Held from choosing a version to the end of sampling with it."""
        self._recent: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        """(task id, version) -> prediction of tasks sampled lately, so none is sampled twice."""

    # ---- plumbing -------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = lsclient.make_client(self.settings)
        return self._client

    @property
    def resolver(self) -> ImageResolver:
        if self._resolver is None:
            self._resolver = ImageResolver(
                self.settings.label_studio_url,
                lambda: lsclient.auth_headers(self.client),
                self.settings.data_dir / "image-cache",
                self.settings.local_files_root,
            )
        return self._resolver

    def handle(self, job: dict[str, Any]) -> None:
        kind = job.get("kind")
        if kind == "event":
            self.on_event(job["event"])
        elif kind == "generate":
            self.generate(int(job["project"]), job.get("task_ids"))
        elif kind == "train":
            self.train(int(job["project"]), job.get("reason", "requested"))
        else:
            log.warning("unknown job kind %r skipped", kind)

    def serve_project(self, project: int | None) -> str:
        """Load the project's newest version (or the base model); return its name."""
        self.engine.wait_ready()
        if project is None:
            return self.engine.version
        return self.engine.use_version(latest_version(self.settings.project_versions(project)))

    # ---- events ---------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        """Count annotation events; start a round on START_TRAINING or every N annotations."""
        action = event.get("action")
        project = event_project(event)
        if project is None:
            return
        if action == "START_TRAINING":
            self.train(project, "START_TRAINING")
            return
        if action not in ANNOTATION_EVENTS:
            return
        state = self.store.load(project)
        state.new_annotations += 1
        every = self.settings.train_every
        if every > 0 and state.new_annotations >= every:
            reason = f"{state.new_annotations} new annotations"
            state.new_annotations = 0
            self.store.save(project, state)
            self.train(project, reason)
            return
        self.store.save(project, state)

    # ---- candidates -----------------------------------------------------------------------

    def generate(self, project: int, task_ids: list[int] | None = None) -> int:
        """Candidates + a prediction for every unresolved task lacking this version's set."""
        version = self.serve_project(project)
        todo = [
            t
            for t in lsclient.iter_tasks(self.client, project, task_ids)
            if not tasks.is_resolved(t) and tasks.candidates_version(t) != version
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
        self, batch: list[dict[str, Any]], project: int | None, add_predictions: bool
    ) -> dict[int, dict[str, Any] | None]:
        """Sample, write candidates into task data, optionally add predictions.

        `batch` holds tasks as just read from Label Studio. Returns task id ->
        prediction (None for a task that failed, whose reason is written into its
        data as `candidates_error`, or that was resolved or moved meanwhile).

        Label Studio is never called while the model lock is held: it calls
        /predict from inside its own request handlers (the data manager asks
        for predictions while listing tasks), so a read from Label Studio under
        the lock can wait on a /predict that waits on the lock.
        """
        started = time.monotonic()
        with self._model_lock:
            version = self.serve_project(project)
            out = {
                t["id"]: self._recent[(t["id"], version)]
                for t in batch
                if (t["id"], version) in self._recent
            }
            todo = [t for t in batch if t["id"] not in out]
            made, failed = self._sample_batch(todo, version)
            for task, cands in made:  # a /predict queued behind this batch reuses its result
                self._remember(
                    (task["id"], version), tasks.prediction(cands, version, self.settings.pretick)
                )
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
        """Sample a batch in one call: (task, candidates) per success, (task, why) per failure."""
        failed: list[Failed] = []
        items: dict[str, tuple[dict[str, Any], Item]] = {}
        for task in batch:
            try:
                fields = tasks.task_item_fields(task)
                fields["image"] = self.resolver.resolve(fields["image"])
                items[str(task["id"])] = (task, Item(**{**fields, "id": str(task["id"])}))
            except (tasks.TaskError, ImageError) as e:
                failed.append((task, str(e)))
        sampled = self.engine.sample([it for _, it in items.values()]) if items else []
        made = []
        for result in sampled:
            task, _ = items[result.id]
            if result.error or not result.candidates:
                failed.append((task, result.error or "no candidates"))
                continue
            ranked = sorted(result.candidates, key=lambda c: c.logprob, reverse=True)
            cands = [
                {
                    "text": c.text,
                    "logprob": c.logprob,
                    "temperature": c.temperature,
                    "model_version": version,
                }
                for c in ranked
            ]
            made.append((task, cands))
        return made, failed

    def _store(
        self,
        task: dict[str, Any],
        cands: list[dict[str, Any]],
        version: str,
        project: int | None,
        add_predictions: bool,
    ) -> dict[str, Any] | None:
        """Write one task's candidates and (optionally) its prediction; return the prediction."""
        write = partial(tasks.with_candidates, candidates=cands, version=version)
        if not self.store_own_keys(task["id"], project, write):
            return None
        pred = tasks.prediction(cands, version, self.settings.pretick)
        if add_predictions:
            lsclient.create_prediction(self.client, task["id"], pred)
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
        for _ in range(WRITE_ATTEMPTS):
            task = self.read_task(task_id, project)
            if task is None or tasks.is_resolved(task):
                return False
            data = task["data"] if isinstance(task.get("data"), dict) else {}
            merged = tasks.merge_own_keys(data, edit(dict(data)))
            again = self.read_task(task_id, project)
            if again is None or again.get("data") != task.get("data"):
                continue
            lsclient.update_task_data(self.client, task_id, merged)
            return True
        raise lsclient.LabelStudioError(f"task {task_id} kept changing: nothing written")

    def read_task(self, task_id: int, project: int) -> dict[str, Any] | None:
        """The task from Label Studio if it exists in `project`, else None."""
        task = lsclient.get_task(self.client, task_id)
        if task is None or tasks.task_project(task) != project:
            return None
        return task

    # ---- tuning rounds --------------------------------------------------------------------

    def train(self, project: int, reason: str) -> bool:
        """One round: feedback from Label Studio -> `illume tune` -> new version -> candidates."""
        state = self.store.load(project)
        record: dict[str, Any] = {"reason": reason, "started": tasks.now_iso(), "ok": False}
        all_tasks = list(lsclient.iter_tasks(self.client, project))
        rows, items = self.feedback(all_tasks)
        state.new_annotations = 0
        if not rows:
            log.info("project %s: round skipped (%s): no fitting rationales yet", project, reason)
            self.counters.rounds_skipped += 1
            record.update(skipped=True, error="no fitting rationales yet")
            state.rounds.append(record)
            self.store.save(project, state)
            return False
        versions = self.settings.project_versions(project)
        base = latest_version(versions)
        work = self.settings.project_dir(project) / "rounds" / f"round-{len(state.rounds) + 1:04d}"
        write_jsonl(work / "items.jsonl", (it.to_dict() for it in items))
        write_jsonl(work / "feedback.jsonl", rows)
        record.update(feedback=len(rows), items=len(items), base=base.name if base else None)
        ok, error = self.run_tune(work, versions, base)
        new = latest_version(versions)
        if ok and new is not None and new != base:
            record.update(ok=True, version=new.name, finished=tasks.now_iso())
            self.counters.rounds_ok += 1
            log.info("project %s: round done, %s from %d rationales", project, new.name, len(rows))
        else:
            error = error or "tune exited 0 but published no new version"
            record.update(error=error, finished=tasks.now_iso())
            self.counters.rounds_failed += 1
            self.counters.last_round_error = f"project {project}: {error}"
            serving = base.name if base else "the base model"
            log.error("project %s: round failed, %s keeps serving: %s", project, serving, error)
        state.rounds.append(record)
        self.store.save(project, state)
        if record["ok"]:
            self.generate(project)
        return record["ok"]

    def feedback(self, all_tasks: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[Item]]:
        """X^E rows ({"id", "text"}) from every annotation, and every usable item."""
        rows, items, seen = [], [], set()
        for task in all_tasks:
            try:
                fields = tasks.task_item_fields(task)
                fields["image"] = self.resolver.resolve(fields["image"])
                open_image(fields["image"])  # one unreadable image must not sink the round
            except (tasks.TaskError, ImageError) as e:
                log.warning("task %s left out of the round: %s", task.get("id"), e)
                continue
            items.append(Item(**fields))
            for fb in tasks.task_feedback(task):
                for text in fb.fitting:
                    key = (fields["id"], " ".join(text.lower().split()))
                    if key not in seen:
                        seen.add(key)
                        rows.append({"id": fields["id"], "text": text})
        return rows, items

    def run_tune(self, work: Path, versions: Path, base: Path | None) -> tuple[bool, str | None]:
        """`illume tune` in a child process: a crash there cannot hurt the serving model."""
        cmd = tune_command(work, versions, base, self.settings.tune_args)
        log.info("tuning: %s", " ".join(shlex.quote(c) for c in cmd))
        with open(work / "tune.log", "wb") as logf:
            proc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env=os.environ.copy())
        if proc.returncode == 0:
            return True, None
        tail = (work / "tune.log").read_text(errors="replace").strip().splitlines()[-3:]
        return False, f"illume tune exited {proc.returncode}: {' | '.join(tail)[-500:]}"


def tune_command(work: Path, versions: Path, base: Path | None, extra: list[str]) -> list[str]:
    """The tuning job's command line (ILLUME_TUNE_CMD replaces `python -m illume.cli`)."""
    head = shlex.split(os.environ.get("ILLUME_TUNE_CMD", ""))
    head = head or [sys.executable, "-m", "illume.cli"]
    cmd = [*head, "tune", "--items", str(work / "items.jsonl")]
    cmd += ["--feedback", str(work / "feedback.jsonl"), "--versions", str(versions)]
    if base is not None:
        cmd += ["--base", str(base)]
    return cmd + list(extra)


def event_project(event: dict[str, Any]) -> int | None:
    """The project id of a webhook payload, wherever this event kind keeps it."""
    for holder in (event.get("project"), event.get("task"), event.get("annotation")):
        if isinstance(holder, dict):
            pid = holder.get("id") if holder is event.get("project") else holder.get("project")
            if isinstance(pid, int) and not isinstance(pid, bool):
                return pid
            if isinstance(pid, str) and pid.isascii() and pid.isdigit() and len(pid) < 20:
                return int(pid)
    return None
