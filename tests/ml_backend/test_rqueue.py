"""The Redis side of the queue, against a real redis-server: claims, batches, dedupe."""

from __future__ import annotations

import pytest
from redis import Redis

from illume.sample import SampleConfig
from ml_backend.config import Settings
from ml_backend.rqueue import RedisQueues


@pytest.fixture
def queues(redis_server):
    conn = Redis.from_url(redis_server.url)
    conn.flushdb()
    settings = Settings(
        redis_url=redis_server.url, sample=SampleConfig(batch_items=3), load_model=False
    )
    yield RedisQueues(settings, conn)
    conn.flushdb()


def test_tasks_go_into_one_batch_only(queues):
    first = queues.sample_batches(7, [1, 2, 3, 4, 5, 6, 7])
    assert len(first) == 3 and queues.sample.count == 3
    batches = [queues.sample.fetch_job(j).args for j in first]
    assert batches == [(7, [1, 2, 3]), (7, [4, 5, 6]), (7, [7])]
    # a second scan (or a /predict) while those are queued: only new tasks get a batch
    again = queues.sample_batches(7, [3, 7, 8, 9], front=True)
    assert [queues.sample.fetch_job(j).args for j in again] == [(7, [8, 9])]
    assert queues.sample.job_ids[0] == again[0]  # /predict's tasks go first
    assert queues.holder(7, 3) == first[0] and queues.holder(8, 3) is None  # per project


def test_a_job_releases_only_its_own_claims(queues):
    (job,) = queues.sample_batches(1, [10, 11])
    queues.release(1, [10, 11], "someone-else")
    assert queues.holder(1, 10) == job
    queues.release(1, [10, 11], job)
    assert queues.holder(1, 10) is None and queues.sample_batches(1, [10]) != []


def test_retried_jobs_keep_their_claims_long_enough(queues):
    s = queues.settings
    assert queues.claim_ttl > (s.sample_timeout_s + s.rq_grace_s) * (s.sample_retries + 1)
    (job,) = queues.sample_batches(1, [1])
    assert queues.sample.fetch_job(job).retries_left == s.sample_retries


def test_one_scan_per_project_at_a_time(queues):
    assert queues.scan(5) == "illume-scan-5"
    assert queues.scan(5) is None
    assert queues.scan(6) == "illume-scan-6"
    queues.sample.fetch_job("illume-scan-5").set_status("failed")
    assert queues.scan(5) == "illume-scan-5"  # an old, failed scan does not block a new one


def test_scheduler_ticks_are_not_doubled(queues):
    assert queues.schedule_tick(30) is True
    assert queues.schedule_tick(30) is False
    assert queues.train.scheduled_job_registry.count == 1
    assert queues.event({"action": "START_TRAINING", "project": {"id": 1}})
    assert queues.train.count == 1
    status = queues.status()
    assert status["train"]["queued"] == 1 and status["sample"]["queued"] == 0
