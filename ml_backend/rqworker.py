"""`illume worker`: an RQ worker process for the `sample` and/or `train` queues.

One process holds one model host (the model loads once, in the background, when
the process takes `sample` jobs) and runs jobs one at a time in itself (RQ's
SimpleWorker: no fork per job, so the loaded model and the adapter cache
outlive a job). Several processes, on any machines that reach Redis, Label
Studio and the versions root, split the work.

Every sampling job first serves the project's newest complete version
(candidates.py via illume.versions.latest_version), so a version the tuning
worker publishes is used from the next batch on, by every sampling worker.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import Queue, SimpleWorker, get_current_job

from illume.versions import BASE_VERSION, latest_version
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.jobs import Jobs
from ml_backend.labels import is_resolved
from ml_backend.model_host import ModelHost
from ml_backend.rqueue import QUEUES, SAMPLE, SCHEDULER_LOCK, TRAIN, RedisQueues
from ml_backend.state import Counters

log = logging.getLogger(__name__)


class WorkerContext:
    """What the jobs of one worker process share: settings, queues, model host, handlers."""

    def __init__(self, settings: Settings, queues: list[str]):
        self.settings = settings
        self.queues = RedisQueues(settings)
        self.counters = Counters()
        self.host = ModelHost(settings)
        if SAMPLE in queues and settings.load_model:
            self.host.start_loading()
        # only a train worker runs rounds, so only it may take over a round a crash cut short
        self.jobs = Jobs(
            settings,
            self.host,
            self.counters,
            regenerate=self.queues.scan,
            recover=TRAIN in queues,
        )


_context: WorkerContext | None = None


def context() -> WorkerContext:
    """This process's context (built from the environment if `illume worker` did not)."""
    global _context
    if _context is None:
        _context = WorkerContext(Settings.from_env(), list(QUEUES))
    return _context


def newest_version_name(settings: Settings, project: int) -> str:
    latest = latest_version(settings.project_versions(project))
    return latest.name if latest else BASE_VERSION


# ---- the jobs (RQ calls them by name: ml_backend.rqworker.<name>) -------------------------


def scan_job(project: int) -> int:
    """Queue sampling batches for the unresolved tasks without the newest version's candidates."""
    ctx = context()
    version = newest_version_name(ctx.settings, project)
    labels = ctx.jobs.ls.labels(project)
    todo = [
        t["id"]
        for t in lsclient.iter_tasks(ctx.jobs.client, project)
        if not is_resolved(t, labels) and tasks.candidates_version(t) != version
    ]
    jobs = ctx.queues.sample_batches(project, todo)
    log.info(
        "project %s: %d tasks lack %s candidates; %d jobs", project, len(todo), version, len(jobs)
    )
    return len(todo)


def sample_job(project: int, task_ids: list[int]) -> int:
    """Sample one batch: Label Studio is read again, tasks done meanwhile are skipped."""
    ctx = context()
    job = get_current_job()
    n = ctx.jobs.candidates.generate(project, task_ids)
    log.info("project %s: sampled %d of tasks %s (job %s)", project, n, task_ids, job and job.id)
    if job is not None:
        ctx.queues.release(project, task_ids, job.id)
    return n


def event_job(event: dict[str, Any], at: float) -> None:
    """A webhook event: the scheduler marks the project, then runs what is due."""
    ctx = context()
    with _scheduler_lock(ctx):
        ctx.jobs.on_event(event, at)
        _tick(ctx)


def tick_job() -> None:
    """The scheduler's wake-up call: run a round that has come due."""
    ctx = context()
    with _scheduler_lock(ctx):
        _tick(ctx)


def _scheduler_lock(ctx: WorkerContext):
    timeout = ctx.settings.train_timeout_s
    return ctx.queues.redis.lock(SCHEDULER_LOCK, timeout=timeout, blocking_timeout=timeout)


def _tick(ctx: WorkerContext) -> None:
    """Run every round due now; leave a tick job for the next one that will be due."""
    until = ctx.jobs.tick()
    while until is not None and until <= 0:
        until = ctx.jobs.tick()
    if until is not None:
        ctx.queues.schedule_tick(until)


# ---- the process ------------------------------------------------------------------------


class IllumeWorker(SimpleWorker):
    """RQ's in-process worker; `grace_s` past a job's timeout it counts as abandoned."""

    grace_s = 60

    def get_heartbeat_ttl(self, job) -> int:
        if job.timeout == -1:
            return super().get_heartbeat_ttl(job)
        return int(job.timeout or self.default_worker_ttl) + self.grace_s


def parse_queues(raw: str) -> list[str]:
    names = [q.strip() for q in raw.split(",") if q.strip()]
    bad = [q for q in names if q not in QUEUES]
    if not names or bad:
        raise ValueError(f"--queues takes {', '.join(QUEUES)} (comma-separated), got {raw!r}")
    return names


def run(
    queues: list[str], name: str | None = None, burst: bool = False, maintenance_s: int = 600
) -> int:
    """Work the queues until stopped (or, with burst, until they are empty)."""
    global _context
    settings = Settings.from_env()
    if not settings.redis_url:
        raise SystemExit("illume worker needs ILLUME_REDIS_URL (the Redis the web process uses)")
    _context = WorkerContext(settings, queues)
    conn = _context.queues.redis
    IllumeWorker.grace_s = settings.rq_grace_s
    worker = IllumeWorker(
        [Queue(q, connection=conn) for q in queues],
        connection=conn,
        name=name,
        maintenance_interval=maintenance_s,
        # an idle worker blocks this long less 15 s on the queues between maintenance runs
        worker_ttl=min(420, maintenance_s + 15),
    )
    log.info("worker %s on %s (Redis %s)", worker.name, ",".join(queues), _redacted(settings))
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    return 0


def _redacted(settings: Settings) -> str:
    """The Redis URL without a password."""
    url = settings.redis_url
    head, sep, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url
