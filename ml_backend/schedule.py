"""When a project's next tuning round starts: coalesced, deduplicated, debounced.

Webhook events never start a round themselves; they only mark the project
(`mark`, `request`), and the worker asks `tick` between jobs. Per project
there is at most one round running (the single worker runs it) and at most
one pending (a mark, not a queued job), so 500 annotations in an hour give a
handful of rounds, not 50 queued behind each other.

The rule, per project:
- every (annotation id, event kind) counts once as new since the last round
  started; "Start training" (START_TRAINING) asks for a round regardless;
- "Start training" is due at once: a person asked for it;
- ILLUME_TRAIN_EVERY new annotations are due once no annotation event came for
  ILLUME_ROUND_DEBOUNCE_S (the burst settled), at the latest
  ROUND_MAX_WAIT_FACTOR debounce windows after the first one;
- a round clears the marks when it starts; what arrives while it runs marks
  the project again, so when it ends exactly one more round follows, and only
  if those marks are enough.

Event times are when the webhook was queued, not when the worker got to it,
so a backlog drained after a long round does not wait another window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ml_backend.state import Counters, ProjectState, StateStore

log = logging.getLogger(__name__)

ROUND_MAX_WAIT_FACTOR = 5
"""A steady trickle of events cannot postpone a due round past this many debounce windows."""

MAX_KEYS = 100_000
"""Distinct annotation keys remembered between rounds (beyond: counted, not deduplicated)."""


@dataclass(frozen=True)
class Pending:
    """Why a project waits for a round, and from when it may start (None: not enough yet)."""

    reason: str
    due: float | None


def pending(state: ProjectState, train_every: int, debounce_s: float) -> Pending | None:
    """The scheduling rule for one project's state (None: nothing asks for a round)."""
    if state.requested is not None:
        return Pending(state.requested, state.requested_at or 0.0)
    n = state.new_annotations
    if n == 0:
        return None
    if train_every <= 0:
        return Pending(f"{n} new annotations; rounds start on 'Start training' only", None)
    if n < train_every:
        return Pending(f"{n} of {train_every} new annotations", None)
    last = state.last_event or 0.0
    first = state.first_event if state.first_event is not None else last
    due = min(last + debounce_s, first + ROUND_MAX_WAIT_FACTOR * debounce_s)
    return Pending(f"{n} new annotations", due)


class RoundScheduler:
    """Marks projects from events and runs each due round through `run_round(project, reason)`.

    Only the worker thread calls `mark`, `request` and `tick`; the state
    files make the marks survive a restart, and a round a crash cut short
    (its `running` record still set at start-up) is asked for again.
    """

    def __init__(
        self,
        store: StateStore,
        counters: Counters,
        run_round: Callable[[int, str], Any],
        train_every: int,
        debounce_s: float,
        clock: Callable[[], float] = time.time,
        recover: bool = True,
    ):
        """recover: ask again for rounds a crash cut short (only the process that runs rounds;
        a web process that only queues jobs for an RQ worker must not touch its records)."""
        self.store = store
        self.counters = counters
        self.run_round = run_round
        self.train_every = train_every
        self.debounce_s = debounce_s
        self.clock = clock
        self.running: int | None = None
        """The project whose round runs now."""
        self._due: dict[int, float] = {}
        self.published_before_cut: list[int] = []
        """Projects whose round had published its version when a restart cut it short:
        only that version's candidates are owed (Jobs writes them), not another round."""
        for project in store.projects():
            state = store.load(project)
            if recover and state.running is not None:
                why = state.running.get("reason", "?")
                if published_since(state, state.running):
                    log.warning(
                        "project %s: a restart cut short the candidates of round (%s)'s "
                        "version; they are written again, the round is not rerun",
                        project,
                        why,
                    )
                    self.published_before_cut.append(project)
                else:
                    log.warning(
                        "project %s: a round (%s) was cut short; it runs again", project, why
                    )
                    state.requested = f"round cut short by a restart ({why})"
                    state.requested_at = self.clock()
                state.running = None
                store.save(project, state)
            self._refresh(project, state)

    def mark(self, project: int, kind: str, annotation_ids: Iterable[Any], at: float) -> int:
        """Annotation events: count each (annotation id, kind) once. Returns how many are new."""
        state = self.store.load(project)
        keys = set(state.new_keys)
        added = 0
        for aid in annotation_ids:
            key = f"{kind}:{aid}"
            if key not in keys:
                keys.add(key)
                added += 1
                if len(state.new_keys) < MAX_KEYS:
                    state.new_keys.append(key)
        if added:
            state.new_annotations += added
            state.first_event = at if state.first_event is None else state.first_event
            state.last_event = max(state.last_event or at, at)
            self.store.save(project, state)
            self._refresh(project, state)
        return added

    def request(self, project: int, reason: str, at: float) -> None:
        """ "Start training": a round as soon as the worker is free (one, however often pressed)."""
        state = self.store.load(project)
        if state.requested is None:
            state.requested, state.requested_at = reason, at
            self.store.save(project, state)
        self._refresh(project, state)

    def tick(self) -> float | None:
        """Run the round that has been due longest, if any; seconds until the next one is due."""
        now = self.clock()
        ready = sorted((due, p) for p, due in self._due.items() if due <= now)
        if ready:
            self._run(ready[0][1])
        if not self._due:
            return None
        return max(0.0, min(self._due.values()) - self.clock())

    def status(self, project: int, state: ProjectState) -> dict[str, Any]:
        """The pending reason and when the round may start, for /metrics."""
        p = pending(state, self.train_every, self.debounce_s)
        due = p.due if p else None
        return {
            "round_running": self.running == project,
            "pending": p.reason if p else None,
            "round_due_at": _iso(due) if due is not None else None,
            "round_due_in_s": round(max(0.0, due - self.clock()), 2) if due is not None else None,
        }

    def _refresh(self, project: int, state: ProjectState) -> None:
        p = pending(state, self.train_every, self.debounce_s)
        if p is not None and p.due is not None:
            self._due[project] = p.due
        else:
            self._due.pop(project, None)

    def _run(self, project: int) -> None:
        """Clear the marks, record the round as running, run it, clear the record."""
        state = self.store.load(project)
        p = pending(state, self.train_every, self.debounce_s)
        if p is None or p.due is None or p.due > self.clock():
            self._refresh(project, state)
            return
        state.new_annotations, state.new_keys = 0, []
        state.first_event = state.last_event = None
        state.requested = state.requested_at = None
        state.running = {"reason": p.reason, "started": _iso(self.clock())}
        self.store.save(project, state)
        self._refresh(project, state)
        self.running = project
        log.info("project %s: round starts (%s)", project, p.reason)
        try:
            self.run_round(project, p.reason)
        except Exception as e:  # noqa: BLE001 (a failed round must not stop the scheduling)
            log.exception("project %s: round failed (%s)", project, p.reason)
            self.counters.rounds_failed += 1
            self.counters.last_round_error = f"project {project}: {type(e).__name__}: {e}"[:500]
            failed = {"reason": p.reason, "ok": False, "error": f"{type(e).__name__}: {e}"[:500]}
            state = self.store.load(project)
            state.rounds.append({**failed, "started": state.running and state.running["started"]})
            self.store.save(project, state)
        finally:
            self.running = None
            state = self.store.load(project)
            state.running = None
            self.store.save(project, state)
            self._refresh(project, state)


def published_since(state: ProjectState, running: dict[str, Any]) -> bool:
    """Did the running round record a published version (its record starts no earlier)?"""
    last = state.rounds[-1] if state.rounds else {}
    started, since = str(last.get("started") or ""), str(running.get("started") or "")
    # "...T03:52:36+00:00" and "...T03:52:36Z": compare to the second
    return bool(last.get("ok")) and bool(since) and started[:19] >= since[:19]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
