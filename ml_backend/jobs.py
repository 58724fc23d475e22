"""What the background worker does: dispatch queued jobs to candidates and rounds.

Every job re-reads Label Studio (the source of truth) instead of trusting a
webhook payload, and every job is safe to run twice: candidates are only
written for tasks that lack them for the serving version (candidates.py), and
a round publishes a new version atomically or nothing at all (rounds.py).

Webhook events are checked here, not in the request (the acknowledgement never
waits on Label Studio): an event of a project Label Studio does not know is
logged and dropped. Events only mark the project; the scheduler
(schedule.py) decides when a round starts, and the worker runs it from `tick`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ml_backend import lsclient
from ml_backend.candidates import CandidateWriter
from ml_backend.config import Settings
from ml_backend.model_host import ModelHost
from ml_backend.rounds import RoundRunner
from ml_backend.schedule import RoundScheduler
from ml_backend.state import Counters, StateStore

log = logging.getLogger(__name__)

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")

PROJECT_CHECK_TTL_S = 30.0
"""How long an unknown project, or one Label Studio could not be asked about, stays so."""

ROUND_RETRY_S = 60.0
"""A round that could not read Label Studio is asked for again this much later."""

RETRY_PREFIX = "again, Label Studio could not be read: "

REGENERATE_RETRY_S = 15.0
"""A new version's candidates that Label Studio could not take are tried again this often."""


class Jobs:
    """Handlers for the job kinds in the queue: event, generate, train."""

    def __init__(
        self,
        settings: Settings,
        host: ModelHost,
        counters: Counters,
        client=None,
        regenerate: Callable[[int], Any] | None = None,
        recover: bool = True,
    ):
        """`regenerate(project)` runs after a published round (default: sample here; the RQ
        worker queues a scan instead); `recover=False` leaves cut-short rounds to the process
        that runs rounds (schedule.RoundScheduler)."""
        self.settings = settings
        self.counters = counters
        self.store = StateStore(settings.data_dir, settings.project_versions)
        self.ls = lsclient.Connection(settings, client)
        self.candidates = CandidateWriter(settings, host, counters, self.ls)
        self.rounds = RoundRunner(settings, counters, self.store, self.ls)
        self._regenerate_with = regenerate
        self.scheduler = RoundScheduler(
            self.store,
            counters,
            self.train,
            settings.train_every,
            settings.round_debounce_s,
            recover=recover,
        )
        self._known: set[int] = set()
        self._unsure: dict[int, tuple[float, bool]] = {}
        """project -> (until when, counts as known) after a 404 or an unanswered check."""
        self._owed: dict[int, float] = {}
        """project -> when to try again to write its new version's candidates."""
        for project in self.scheduler.published_before_cut:
            self._owed[project] = 0.0  # the worker's first tick writes them

    @property
    def client(self):
        return self.ls.client

    def handle(self, job: dict[str, Any]) -> None:
        kind = job.get("kind")
        at = job.get("queued_at")
        at = at if isinstance(at, int | float) and not isinstance(at, bool) else time.time()
        if kind == "event":
            self.on_event(job["event"], at)
        elif kind == "generate":
            self.candidates.generate(int(job["project"]), job.get("task_ids"))
        elif kind == "train":
            self.scheduler.request(int(job["project"]), job.get("reason", "requested"), at)
        else:
            log.warning("unknown job kind %r skipped", kind)

    def tick(self) -> float | None:
        """Between jobs: run a due round or a due regeneration; seconds until the next one."""
        now = time.monotonic()
        for project in [p for p, at in self._owed.items() if at <= now]:
            del self._owed[project]  # a failure other than Label Studio's is not retried
            self.regenerate(project)
        until = self.scheduler.tick()
        if self._owed:
            owed = max(0.0, min(self._owed.values()) - time.monotonic())
            until = owed if until is None else min(until, owed)
        return until

    def owes_candidates(self, project: int) -> bool:
        """Did a round publish a version whose candidates Label Studio has not taken yet?"""
        return project in self._owed

    def on_event(self, event: dict[str, Any], at: float | None = None) -> None:
        """Mark the project: START_TRAINING asks for a round, annotation events count once each."""
        action = event.get("action")
        project = event_project(event)
        if project is None or (action != "START_TRAINING" and action not in ANNOTATION_EVENTS):
            return
        if not self.known_project(project):
            self.counters.webhooks_dropped += 1
            log.warning("%s of project %s dropped: unknown to Label Studio", action, project)
            return
        at = time.time() if at is None else at
        if action == "START_TRAINING":
            self.scheduler.request(project, "START_TRAINING", at)
            return
        ids = annotation_ids(event) or [f"@{at!r}"]  # no id: counts once, as itself
        self.scheduler.mark(project, action, ids, at)

    def known_project(self, project: int) -> bool:
        """Does Label Studio know the project? Unanswered (Label Studio down): assume so."""
        if project in self._known or not self.settings.api_key:
            return True
        now = time.monotonic()
        until, known = self._unsure.get(project, (0.0, True))
        if until > now:
            return known
        try:
            exists = lsclient.project_exists(self.client, project)
        except lsclient.LabelStudioError as e:
            log.warning("cannot check project %s (its events are kept): %s", project, e)
            self._unsure[project] = (now + PROJECT_CHECK_TTL_S, True)
            return True
        if exists:
            self._known.add(project)
            self._unsure.pop(project, None)
        else:
            self._unsure[project] = (now + PROJECT_CHECK_TTL_S, False)
        return exists

    def train(self, project: int, reason: str) -> bool:
        """A round, then candidates from the new version for the still unresolved tasks.

        A round that could not reach Label Studio (no answer, or a 5xx) fails
        (recorded as such) and asks for itself again ROUND_RETRY_S later: Label
        Studio may only be restarting. A refusal (a revoked token: 401) waits for
        the operator instead of failing a round every minute.
        """
        try:
            ok = self.rounds.run(project, reason)
        except lsclient.LabelStudioError as e:
            status = lsclient.status_of(e.__cause__)
            if status is None or status >= 500:
                again = reason if reason.startswith(RETRY_PREFIX) else f"{RETRY_PREFIX}{reason}"
                self.scheduler.request(project, again, time.time() + ROUND_RETRY_S)
            raise
        if ok:
            self.regenerate(project)
        return ok

    def regenerate(self, project: int) -> None:
        """The serving version's candidates for the unresolved tasks, again later if Label
        Studio cannot take them now: the version is published, the round is done."""
        try:
            (self._regenerate_with or self.candidates.generate)(project)
        except lsclient.LabelStudioError as e:
            self._owed[project] = time.monotonic() + REGENERATE_RETRY_S
            log.warning(
                "project %s: the new version's candidates wait for Label Studio "
                "(again in %.0f s): %s",
                project,
                REGENERATE_RETRY_S,
                e,
            )
        else:
            self._owed.pop(project, None)


def annotation_ids(event: dict[str, Any]) -> list[Any]:
    """The annotation ids an event is about (ANNOTATIONS_DELETED lists several)."""
    holders = [event.get("annotation")]
    many = event.get("annotations")
    if isinstance(many, list):
        holders += many
    ids = []
    for h in holders:
        aid = h.get("id") if isinstance(h, dict) else h
        if isinstance(aid, int | str) and not isinstance(aid, bool) and len(str(aid)) < 40:
            ids.append(aid)
    return ids


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
