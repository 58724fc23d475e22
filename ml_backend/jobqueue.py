"""A durable job queue: an append-only JSONL log plus a cursor, and one worker thread.

Why not RQ/Redis by default: a labeling team running Label Studio on one
machine should not need another server. Jobs are written (and fsynced)
before a request is acknowledged, so a crash or restart loses nothing: the
worker resumes after the last job it finished. One thread runs jobs one at a
time, so rounds never overlap and the model is never used by two jobs at once.

How far the worker got is written twice: the cursor file (how many jobs are
finished) and an append-only file of done markers (one position per finished
job). A damaged cursor is moved aside, logged as an ERROR and listed in
`errors` (/status), and recovered from the done markers; without those, from
the cursor file's time: every job queued after its last write is unfinished,
and the ones queued before it are taken as finished (some unfinished ones may
be skipped, and Label Studio, the source of truth, is rescanned by the next
/setup; replaying every job ever queued, rounds included, would be worse).
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

from ml_backend.state import moved_aside, report

log = logging.getLogger(__name__)

Job = dict[str, Any]


class JobLog:
    """Jobs in arrival order on disk; `cursor` holds how many are finished."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "jobs.jsonl"
        self.cursor_path = root / "jobs.cursor"
        self.done_path = root / "jobs.done"
        self.errors: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = self._synced = 0
        """Lines appended by this process, and how many of them an fsync has covered."""
        self._jobs: list[Job] = self._read()
        self.cursor = self._read_cursor()
        self._wake = threading.Condition(self._lock)

    def _read(self) -> list[Job]:
        if not self.path.exists():
            return []
        _drop_torn_tail(self.path)
        jobs = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                jobs.append(json.loads(line))
            except json.JSONDecodeError:
                log.error("%s: line %d is damaged and skipped", self.path, n)
                self.errors.append({"what": "job log", "file": str(self.path), "line": n})
        return jobs

    def _read_cursor(self) -> int:
        done = self._done_markers()
        try:
            text = self.cursor_path.read_text()
        except FileNotFoundError:
            return min(done or 0, len(self._jobs))
        try:
            cursor = int(text.strip())
            if cursor < 0:
                raise ValueError(f"negative cursor {cursor}")
        except ValueError as e:  # (UnicodeDecodeError is one too)
            mtime = self.cursor_path.stat().st_mtime
            report(
                self.errors, "job queue cursor", self.cursor_path, moved_aside(self.cursor_path), e
            )
            cursor = done if done is not None else self._finished_before(mtime)
            how = "the done markers" if done is not None else "the cursor file's time"
            log.error("job queue: resuming at job %d of %d (from %s)", cursor, len(self._jobs), how)
        return min(max(cursor, done or 0), len(self._jobs))

    def _done_markers(self) -> int | None:
        """One past the last finished position the done markers record (None: no markers)."""
        if not self.done_path.exists():
            return None
        _drop_torn_tail(self.done_path)
        found = [int(x) for x in self.done_path.read_text(errors="replace").split() if x.isdigit()]
        return max(found) + 1 if found else None

    def _finished_before(self, mtime: float) -> int:
        """Jobs queued after the cursor's last write cannot have finished: resume at the first."""
        for i, job in enumerate(self._jobs):
            queued = job.get("queued_at")
            if isinstance(queued, int | float) and queued > mtime:
                return i
        return len(self._jobs)

    def append(self, job: Job) -> int:
        """Record a job durably (fsynced before this returns) and wake the worker; its position.

        Group commit: the line is written under the lock, the fsync happens
        outside it, and one fsync covers every line written before it, so
        concurrent webhooks share a disk flush instead of queueing for one
        each (8 senders: about 2 flushes of wait, not 8).
        """
        job = {**job, "queued_at": time.time()}
        line = json.dumps(job, ensure_ascii=False) + "\n"
        with self._lock:
            f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed below, after the sync)
            try:
                f.write(line)
                f.flush()
            except BaseException:
                f.close()
                raise
            self._jobs.append(job)  # the file's order, so positions survive a restart
            self._written += 1
            seq, position = self._written, len(self._jobs) - 1
        try:
            self._sync(f.fileno(), seq)
        finally:
            f.close()
        with self._lock:
            self._wake.notify_all()
        return position

    def _sync(self, fd: int, seq: int) -> None:
        """Make the seq-th written line durable, unless a flush since has done so already."""
        with self._sync_lock:
            if self._synced >= seq:
                return
            with self._lock:
                target = self._written
            os.fsync(fd)  # flushes the file, whichever descriptor wrote the lines
            self._synced = target

    def has_pending(self) -> bool:
        """Any unfinished job? (Without copying them, unlike `pending`.)"""
        with self._lock:
            return self.cursor < len(self._jobs)

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
            with open(self.done_path, "a", encoding="ascii") as f:
                f.write(f"{position}\n")
            tmp = self.cursor_path.with_suffix(".tmp")
            tmp.write_text(str(self.cursor))
            tmp.replace(self.cursor_path)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line a crash left unfinished, so the next append starts a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: dropping an unfinished last line (%d bytes)", path, len(data) - keep)
        with open(path, "r+b") as f:
            f.truncate(keep)


class Worker:
    """One daemon thread draining a JobLog through `handle(job)`.

    A job that raises is logged and counted, then skipped: one bad job must
    not block the ones behind it. Whenever the queue is empty the worker calls
    `tick()` (the round scheduler: it may run a due round), which returns the
    seconds until it wants to be called again (None: nothing is due).
    """

    def __init__(
        self,
        jobs: JobLog,
        handle: Callable[[Job], None],
        tick: Callable[[], float | None] | None = None,
    ):
        self.jobs = jobs
        self.handle = handle
        self.tick = tick
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

    def _tick(self) -> float:
        """Let the scheduler run what is due; how long to wait for a job before asking again."""
        if self.tick is None:
            return 1.0
        try:
            until = self.tick()
        except Exception as e:  # noqa: BLE001 (scheduling must not stop the worker)
            self.last_error = f"tick: {type(e).__name__}: {e}"
            log.exception("round scheduling failed")
            return 1.0
        return 1.0 if until is None else min(1.0, max(0.01, until))

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = 1.0 if self.jobs.has_pending() else self._tick()
            nxt = self.jobs.next(timeout=wait)
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
