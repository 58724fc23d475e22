"""Per-project bookkeeping the backend keeps between restarts, and its counters.

Label Studio holds tasks and annotations; this holds only what Label Studio
has no place for: annotations since the last round, the round history, and
throughput counters for /metrics.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ProjectState:
    new_annotations: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    """One record per tuning round: version, reason, feedback size, ok, error, times."""

    @property
    def round(self) -> int:
        return sum(1 for r in self.rounds if r.get("ok"))


class StateStore:
    """ProjectState as JSON files, written atomically."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    def _path(self, project: int) -> Path:
        return self.root / "projects" / str(project) / "state.json"

    def load(self, project: int) -> ProjectState:
        try:
            raw = json.loads(self._path(project).read_text())
            return ProjectState(**{k: raw[k] for k in ("new_annotations", "rounds") if k in raw})
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            return ProjectState()

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


@dataclass
class Counters:
    """Throughput and failure counts since the process started (for /metrics)."""

    started: float = field(default_factory=time.time)
    tasks_generated: int = 0
    tasks_failed: int = 0
    candidates_written: int = 0
    generate_seconds: float = 0.0
    predict_calls: int = 0
    predict_sampled: int = 0
    webhooks: int = 0
    webhooks_rejected: int = 0
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
