"""What the background worker does: dispatch queued jobs to candidates and rounds.

Every job re-reads Label Studio (the source of truth) instead of trusting a
webhook payload, and every job is safe to run twice: candidates are only
written for tasks that lack them for the serving version (candidates.py), and
a round publishes a new version atomically or nothing at all (rounds.py).
"""

from __future__ import annotations

import logging
from typing import Any

from ml_backend import lsclient
from ml_backend.candidates import CandidateWriter
from ml_backend.config import Settings
from ml_backend.engine import Engine
from ml_backend.rounds import RoundRunner
from ml_backend.state import Counters, StateStore

log = logging.getLogger(__name__)

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")


class Jobs:
    """Handlers for the job kinds in the queue: event, generate, train."""

    def __init__(self, settings: Settings, engine: Engine, counters: Counters, client=None):
        self.settings = settings
        self.counters = counters
        self.store = StateStore(settings.data_dir, settings.project_versions)
        self.ls = lsclient.Connection(settings, client)
        self.candidates = CandidateWriter(settings, engine, counters, self.ls)
        self.rounds = RoundRunner(settings, counters, self.store, self.ls)

    @property
    def client(self):
        return self.ls.client

    def handle(self, job: dict[str, Any]) -> None:
        kind = job.get("kind")
        if kind == "event":
            self.on_event(job["event"])
        elif kind == "generate":
            self.candidates.generate(int(job["project"]), job.get("task_ids"))
        elif kind == "train":
            self.train(int(job["project"]), job.get("reason", "requested"))
        else:
            log.warning("unknown job kind %r skipped", kind)

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

    def train(self, project: int, reason: str) -> bool:
        """A round, then candidates from the new version for the still unresolved tasks."""
        ok = self.rounds.run(project, reason)
        if ok:
            self.candidates.generate(project)
        return ok


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
