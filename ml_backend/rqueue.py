"""Jobs in Redis through RQ, when ILLUME_REDIS_URL is set: what gets queued, and where.

Why: past one machine, the web process must only record work and answer,
while `illume worker` processes on other machines sample and tune. RQ keeps
the jobs, retries them (Retry), notices a worker that died mid-job (its job
stays in the StartedJobRegistry past its timeout; the next worker's registry
clean-up retries it or moves it to the FailedJobRegistry); nothing of that is
re-built here.

Two queues:
- `sample`: a project scan (which tasks lack candidates for the newest
  version), and sampling batches of `sample.batch_items` task ids each, so several
  workers split a project. Each task a scan puts into a batch is claimed in
  Redis for that batch's job (SET NX): two scans (or a scan and a /predict)
  never put the same task into two batches, so no task is sampled twice. A
  retried job keeps its id, so it keeps its claims; a job that finally failed
  lets them expire, and the next scan takes the tasks again.
- `train`: webhook events, "Start training" and the scheduler's ticks; the
  round scheduler (schedule.py) runs in the worker that takes them, one at a
  time (a Redis lock), so its coalescing rules hold whatever the number of
  train workers.

The job functions themselves live in ml_backend/rqworker.py (by name here,
so the web process never imports the worker's engine).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from ml_backend.config import Settings

log = logging.getLogger(__name__)

SAMPLE = "sample"
TRAIN = "train"
QUEUES = (SAMPLE, TRAIN)

WORKER = "ml_backend.rqworker"
"""The module holding the job functions (imported by the worker only)."""

CLAIM = "illume:claim:{project}:{task}"
"""Redis key: the sampling job that holds a task (its value), until it ends or the key expires."""
SCHEDULER_LOCK = "illume:scheduler"
"""Redis lock: one train-queue job at a time runs the round scheduler."""
RETRY_INTERVALS_S = (0, 30, 120)
"""Seconds before RQ's 1st, 2nd, 3rd (and later) retry of a job."""
TICK_KEY = "illume:tick-at"
"""Redis key: when the next scheduler tick job is due (so ticks are not doubled)."""


class RedisQueues:
    """The `sample` and `train` queues of one Redis, and the task claims."""

    def __init__(self, settings: Settings, connection=None):
        from redis import Redis
        from rq import Queue

        self.settings = settings
        self.redis = connection or Redis.from_url(settings.redis_url)
        self.sample = Queue(SAMPLE, connection=self.redis)
        self.train = Queue(TRAIN, connection=self.redis)

    @property
    def claim_ttl(self) -> int:
        """Long enough for every attempt of a batch (RQ's retries) and its abandonment checks."""
        s = self.settings
        attempts = (s.sample_timeout_s + s.rq_grace_s) * (s.sample_retries + 1)
        waits = sum(
            RETRY_INTERVALS_S[min(i, len(RETRY_INTERVALS_S) - 1)] for i in range(s.sample_retries)
        )
        return attempts + waits + 60

    def _retry(self, times: int):
        """At once the first time (the usual cause is a dead worker), later ones spaced out
        (Label Studio or Redis may be down for a while)."""
        from rq import Retry

        return Retry(max=times, interval=list(RETRY_INTERVALS_S))

    # ---- sample ---------------------------------------------------------------------------

    def scan(self, project: int) -> str | None:
        """Queue one scan of the project (None: one is queued or running already)."""
        from rq.exceptions import DuplicateJobError, NoSuchJobError
        from rq.job import Job, JobStatus

        in_flight = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, None)

        job_id = f"illume-scan-{project}"
        for _ in range(2):
            try:
                self.sample.enqueue(
                    f"{WORKER}.scan_job",
                    project,
                    job_id=job_id,
                    unique=True,
                    job_timeout=self.settings.sample_timeout_s,
                    retry=self._retry(self.settings.sample_retries),
                    result_ttl=0,
                    failure_ttl=24 * 3600,
                )
                return job_id
            except DuplicateJobError:
                try:
                    old = Job.fetch(job_id, connection=self.redis)
                except NoSuchJobError:
                    continue  # it ended just now: queue this one
                if old.get_status(refresh=True) in in_flight:
                    return None  # waiting, running, or waiting for its retry
                old.delete()  # a failed or stopped scan of earlier: this is a new one
        return None

    def sample_batches(self, project: int, task_ids: list[int], front: bool = False) -> list[str]:
        """Claim the tasks nobody holds and queue them in batches; the new jobs' ids."""
        size = max(1, self.settings.sample.batch_items)
        jobs: list[str] = []
        batch: list[int] = []
        job_id = _sample_job_id(project)
        for task in dict.fromkeys(task_ids):
            if self._claim(project, task, job_id):
                batch.append(task)
            if len(batch) == size:
                jobs.append(self._enqueue_batch(project, batch, job_id, front))
                batch, job_id = [], _sample_job_id(project)
        if batch:
            jobs.append(self._enqueue_batch(project, batch, job_id, front))
        if jobs:
            log.info("project %s: %d sampling jobs queued", project, len(jobs))
        return jobs

    def _enqueue_batch(self, project: int, batch: list[int], job_id: str, front: bool) -> str:
        self.sample.enqueue(
            f"{WORKER}.sample_job",
            project,
            batch,
            job_id=job_id,
            at_front=front,
            job_timeout=self.settings.sample_timeout_s,
            retry=self._retry(self.settings.sample_retries),
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
        )
        return job_id

    def _claim(self, project: int, task: int, job_id: str) -> bool:
        key = CLAIM.format(project=project, task=task)
        return bool(self.redis.set(key, job_id, nx=True, ex=self.claim_ttl))

    def holder(self, project: int, task: int) -> str | None:
        """The sampling job that holds the task (None: no one)."""
        raw = self.redis.get(CLAIM.format(project=project, task=task))
        return raw.decode() if raw is not None else None

    def release(self, project: int, task_ids: list[int], job_id: str) -> None:
        """Drop the job's claims (only its own: an expired one may be another job's by now)."""
        for task in task_ids:
            key = CLAIM.format(project=project, task=task)
            with self.redis.pipeline() as pipe:
                from redis.exceptions import WatchError

                try:
                    pipe.watch(key)
                    if pipe.get(key) == job_id.encode():
                        pipe.multi()
                        pipe.delete(key)
                        pipe.execute()
                except WatchError:
                    pass

    # ---- train ----------------------------------------------------------------------------

    def _train_job(self, func: str, *args: Any, **kw: Any):
        return self.train.enqueue(
            f"{WORKER}.{func}",
            *args,
            job_timeout=self.settings.train_timeout_s,
            retry=self._retry(2),
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            **kw,
        )

    def event(self, event: dict[str, Any]) -> str:
        """A webhook event for the round scheduler (checked and counted by the worker)."""
        return self._train_job("event_job", event, time.time()).id

    def schedule_tick(self, seconds: float) -> bool:
        """Ask the scheduler again in `seconds` (RQ's scheduler moves the job in), unless a
        tick comes by then anyway (that one asks again). True when this call scheduled one.

        Only called under the scheduler lock, so the read and the write need no transaction.
        """
        now = time.time()
        at = now + max(0.0, seconds)
        raw = self.redis.get(TICK_KEY)
        coming = float(raw) if raw is not None else 0.0
        if now < coming <= at + 1.0:
            return False
        self.redis.set(TICK_KEY, repr(at), ex=int(seconds) + 3600)
        self.train.enqueue_in(
            timedelta(seconds=max(0.0, seconds)),
            f"{WORKER}.tick_job",
            job_timeout=self.settings.train_timeout_s,
            result_ttl=0,
        )
        return True

    # ---- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Per queue: queued, running, failed, scheduled jobs; the workers RQ knows."""
        from rq import Worker

        out: dict[str, Any] = {}
        for q in (self.sample, self.train):
            out[q.name] = {
                "queued": q.count,
                "running": q.started_job_registry.count,
                "failed": q.failed_job_registry.count,
                "scheduled": q.scheduled_job_registry.count,
                "workers": Worker.count(queue=q),
            }
        return out


def _sample_job_id(project: int) -> str:
    return f"illume-sample-{project}-{uuid.uuid4().hex[:12]}"
