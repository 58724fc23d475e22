"""A durable job queue: an append-only JSONL log plus a cursor, and one worker thread.

Why not RQ/Redis by default: a labeling team running Label Studio on one
machine should not need another server. Jobs are written (and fsynced)
before a request is acknowledged, so a crash or restart loses nothing: the
worker resumes after the last job it finished. One thread runs jobs one at a
time, so rounds never overlap and the model is never used by two jobs at once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Job = dict[str, Any]


class JobLog:
    """Jobs in arrival order on disk; `cursor` holds how many are finished."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "jobs.jsonl"
        self.cursor_path = root / "jobs.cursor"
        self._lock = threading.Lock()
        self._jobs: list[Job] = self._read()
        self.cursor = self._read_cursor()
        self._wake = threading.Condition(self._lock)

    def _read(self) -> list[Job]:
        if not self.path.exists():
            return []
        jobs = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                jobs.append(json.loads(line))
            except json.JSONDecodeError:  # a torn last line after a crash: skip it
                log.warning("skipping a damaged line in %s", self.path)
        return jobs

    def _read_cursor(self) -> int:
        try:
            return min(int(self.cursor_path.read_text().strip()), len(self._jobs))
        except (FileNotFoundError, ValueError):
            return 0

    def append(self, job: Job) -> int:
        """Record a job durably and wake the worker; returns its position."""
        job = {**job, "queued_at": time.time()}
        line = json.dumps(job, ensure_ascii=False) + "\n"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            self._jobs.append(job)
            self._wake.notify_all()
            return len(self._jobs) - 1

    def pending(self) -> list[Job]:
        with self._lock:
            return list(self._jobs[self.cursor :])

    def next(self, timeout: float) -> tuple[int, Job] | None:
        """The oldest unfinished job, waiting up to `timeout` s for one."""
        with self._lock:
            if self.cursor >= len(self._jobs):
                self._wake.wait(timeout)
            if self.cursor >= len(self._jobs):
                return None
            return self.cursor, self._jobs[self.cursor]

    def finish(self, position: int) -> None:
        with self._lock:
            self.cursor = max(self.cursor, position + 1)
            tmp = self.cursor_path.with_suffix(".tmp")
            tmp.write_text(str(self.cursor))
            tmp.replace(self.cursor_path)


class Worker:
    """One daemon thread draining a JobLog through `handle(job)`.

    A job that raises is logged and counted, then skipped: one bad job must
    not block the ones behind it.
    """

    def __init__(self, jobs: JobLog, handle: Callable[[Job], None]):
        self.jobs = jobs
        self.handle = handle
        self.current: Job | None = None
        self.done = 0
        self.failed = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="illume-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self.jobs._wake:
            self.jobs._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def idle(self) -> bool:
        return self.current is None and not self.jobs.pending()

    def _run(self) -> None:
        while not self._stop.is_set():
            nxt = self.jobs.next(timeout=1.0)
            if nxt is None:
                continue
            position, job = nxt
            self.current = job
            started = time.monotonic()
            try:
                self.handle(job)
                self.done += 1
            except Exception as e:  # noqa: BLE001 (a job's failure must not stop the worker)
                self.failed += 1
                self.last_error = f"{job.get('kind')}: {type(e).__name__}: {e}"
                log.exception("job %s failed", job.get("kind"))
            finally:
                self.current = None
                self.jobs.finish(position)
            log.info("job %s took %.1f s", job.get("kind"), time.monotonic() - started)
