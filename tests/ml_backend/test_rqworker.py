"""The train queue's jobs in a worker process (real Redis; no Label Studio needed)."""

from __future__ import annotations

import time

import pytest
from redis import Redis

from ml_backend import rqworker
from ml_backend.config import Settings


@pytest.fixture
def ctx(redis_server, tmp_path, monkeypatch):
    conn = Redis.from_url(redis_server.url)
    conn.flushdb()
    settings = Settings(
        redis_url=redis_server.url,
        data_dir=tmp_path,
        load_model=False,
        train_every=2,
        round_debounce_s=30.0,
    )
    context = rqworker.WorkerContext(settings, ["train"])
    monkeypatch.setattr(rqworker, "_context", context)
    yield context
    conn.flushdb()


def annotated(aid: int) -> dict:
    return {"action": "ANNOTATION_CREATED", "project": {"id": 3}, "annotation": {"id": aid}}


def test_events_count_once_and_leave_one_tick_for_when_the_round_is_due(ctx):
    train = ctx.queues.train
    rqworker.event_job(annotated(1), time.time())
    rqworker.event_job(annotated(1), time.time())  # the same annotation again: counted once
    assert ctx.jobs.store.load(3).new_annotations == 1
    assert train.scheduled_job_registry.count == 0  # 1 of 2: nothing is due, ever
    rqworker.event_job(annotated(2), time.time())
    rqworker.event_job(annotated(3), time.time())
    (tick,) = train.scheduled_job_registry.get_job_ids()
    assert train.fetch_job(tick).func_name == "ml_backend.rqworker.tick_job"
    assert ctx.jobs.store.load(3).new_annotations == 3  # due in 30 s: the burst settles first


def test_start_training_runs_the_round_here_and_queues_a_scan_for_the_samplers(ctx):
    ran = []
    ctx.jobs.rounds.run = lambda project, reason: ran.append((project, reason)) or True
    event = {"action": "START_TRAINING", "project": {"id": 3}}
    rqworker.event_job(event, time.time())
    assert ran == [(3, "START_TRAINING")]
    assert ctx.queues.sample.job_ids == ["illume-scan-3"]  # candidates of the new version
    assert ctx.jobs.store.load(3).requested is None


def test_worker_flags_and_abandonment_time(redis_server, monkeypatch):
    from rq.job import Job

    assert rqworker.parse_queues("sample, train") == ["sample", "train"]
    with pytest.raises(ValueError, match="--queues"):
        rqworker.parse_queues("gpu")
    conn = Redis.from_url(redis_server.url)
    monkeypatch.setattr(rqworker.IllumeWorker, "grace_s", 3)
    worker = rqworker.IllumeWorker(["sample"], connection=conn)
    job = Job.create(print, connection=conn, timeout=20)
    # RQ takes the worker of a job for dead this long after the job started
    assert worker.get_heartbeat_ttl(job) == 23
