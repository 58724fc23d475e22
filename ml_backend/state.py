"""Per-project bookkeeping the backend keeps between restarts, and its counters.

Label Studio holds tasks and annotations; this holds only what Label Studio
has no place for: what asks for the next round (annotations since the last
round started, "Start training" pressed), the round in progress, the round
history, and throughput counters for /status.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from illume.versions import list_versions

log = logging.getLogger(__name__)


@dataclass
class ProjectState:
    new_annotations: int = 0
    """Distinct annotation events since the last round started (len of new_keys)."""
    new_keys: list[str] = field(default_factory=list)
    """Their keys, "<event kind>:<annotation id>": an annotation updated five times counts once."""
    first_event: float | None = None
    last_event: float | None = None
    """When the first and the newest of them arrived (Unix time): the debounce window."""
    requested: str | None = None
    """Why a round was asked for regardless of the count ("START_TRAINING"); None: it was not."""
    requested_at: float | None = None
    running: dict[str, Any] | None = None
    """The round in progress (reason, started). Still set at start-up: a crash cut it short."""
    rounds: list[dict[str, Any]] = field(default_factory=list)
    """One record per tuning round: version, reason, rationales used, ok, error, times."""

    @property
    def round(self) -> int:
        return sum(1 for r in self.rounds if r.get("ok"))


class StateStore:
    """ProjectState as JSON files, written atomically.

    A damaged file is never silently replaced: it is moved aside (with a
    timestamp suffix), logged as an ERROR, listed in `errors` (shown in
    /status), and the round history is rebuilt from the published versions.
    What cannot be rebuilt: failed or skipped rounds and the count of
    annotations since the last round (it starts again from 0).
    """

    def __init__(self, root: Path, versions: Callable[[int], Path] | None = None):
        self.root = root
        self.versions = versions or (lambda p: root / "projects" / str(p) / "versions")
        """Where each project's versions live (Settings.project_versions)."""
        self.errors: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    def _path(self, project: int) -> Path:
        return self.root / "projects" / str(project) / "state.json"

    def load(self, project: int) -> ProjectState:
        path = self._path(project)
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return ProjectState()
        try:
            return _parse(text)
        except (ValueError, TypeError) as e:
            return self._recover(project, path, text, e)

    def _recover(self, project: int, path: Path, text: bytes, error: Exception) -> ProjectState:
        with self._lock:
            try:
                if path.read_bytes() != text:  # another thread got here first
                    return self.load(project)
            except FileNotFoundError:
                return self.load(project)
            aside = moved_aside(path)
            state = ProjectState(rounds=self.rebuilt_rounds(project))
            self.save(project, state)
        report(self.errors, f"project {project} state", path, aside, error)
        log.error(
            "project %s: rebuilt %d rounds from the published versions", project, len(state.rounds)
        )
        return state

    def rebuilt_rounds(self, project: int) -> list[dict[str, Any]]:
        """One successful round per published version (what a damaged file leaves us)."""
        return [
            {"version": v.name, "ok": True, "reason": "rebuilt from the published versions"}
            for v in list_versions(self.versions(project))
        ]

    def save(self, project: int, state: ProjectState) -> None:
        path = self._path(project)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(state), indent=2))
            tmp.replace(path)

    def projects(self) -> list[int]:
        base = self.root / "projects"
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit())


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "new_annotations": int,
    "new_keys": list,
    "first_event": (int, float, type(None)),
    "last_event": (int, float, type(None)),
    "requested": (str, type(None)),
    "requested_at": (int, float, type(None)),
    "running": (dict, type(None)),
    "rounds": list,
}
"""What each ProjectState field may hold in the file (a bool is never a number here)."""


def _parse(text: bytes) -> ProjectState:
    """A ProjectState from its file, or ValueError/TypeError naming what is wrong."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise TypeError(f"expected a JSON object, got {type(raw).__name__}")
    known = {}
    for f in fields(ProjectState):
        if f.name in raw:
            value = raw[f.name]
            if not isinstance(value, _FIELD_TYPES[f.name]) or isinstance(value, bool):
                raise TypeError(f"{f.name} is {type(value).__name__}")
            known[f.name] = value
    if not all(isinstance(r, dict) for r in known.get("rounds", [])):
        raise TypeError("rounds must be objects")
    if not all(isinstance(k, str) for k in known.get("new_keys", [])):
        raise TypeError("new_keys must be strings")
    return ProjectState(**known)


def moved_aside(path: Path) -> Path:
    """Rename a damaged file to <name>.corrupt-<UTC time>; return the new path."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    n = 1
    while aside.exists():
        aside, n = aside.with_name(f"{aside.name.split('~')[0]}~{n}"), n + 1
    path.replace(aside)
    return aside


def report(errors: list[dict[str, Any]], what: str, path: Path, aside: Path, error: Exception):
    """Log a damaged file as an ERROR and keep it for /status."""
    log.error("%s: %s is damaged (%s); moved to %s", what, path, error, aside.name)
    errors.append(
        {
            "what": what,
            "file": str(path),
            "moved_to": aside.name,
            "error": f"{type(error).__name__}: {error}"[:300],
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )


@dataclass
class Counters:
    """Throughput and failure counts since the process started (for /status)."""

    started: float = field(default_factory=time.time)
    tasks_generated: int = 0
    tasks_failed: int = 0
    candidates_written: int = 0
    generate_seconds: float = 0.0
    predict_calls: int = 0
    predict_sampled: int = 0
    webhooks: int = 0
    webhooks_rejected: int = 0
    webhooks_dropped: int = 0
    """Events acknowledged, then dropped by the worker: their project is unknown to Label Studio."""
    rounds_ok: int = 0
    rounds_failed: int = 0
    rounds_skipped: int = 0
    last_round_error: str | None = None
    last_task_error: str | None = None

    def snapshot(self) -> dict[str, Any]:
        d = asdict(self)
        secs = self.generate_seconds
        d["tasks_per_second"] = round(self.tasks_generated / secs, 3) if secs else None
        d["uptime_s"] = round(time.time() - self.started, 1)
        d["generate_seconds"] = round(secs, 2)
        return d
