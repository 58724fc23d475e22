"""/metrics: Prometheus' text format, parsed back with prometheus_client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ml_backend.app import create_app
from ml_backend.config import Settings
from ml_backend.metrics import seconds
from ml_backend.model import IllumeModel
from ml_backend.state import ProjectState

FAMILIES = {
    "illume_jobs_queued",
    "illume_jobs_running",
    "illume_jobs_done",
    "illume_jobs_failed",
    "illume_tasks_generated",
    "illume_tasks_failed",
    "illume_candidates_written",
    "illume_sampling_seconds",
    "illume_sampling_candidates_per_second",
    "illume_rounds",
    "illume_round_duration_seconds",
    "illume_model_load_seconds",
    "illume_model_state",
    "illume_model_info",
}


@pytest.fixture
def model(tmp_path) -> IllumeModel:
    """No engine and no worker thread: queued jobs stay queued."""
    return IllumeModel(Settings(data_dir=tmp_path, load_model=False)).start()


def scrape(client) -> dict[str, dict[tuple, float]]:
    """family name -> {(sample name, sorted labels): value}."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    return {
        f.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples}
        for f in text_string_to_metric_families(r.get_data(as_text=True))
    }


def test_families_parse_and_a_webhook_moves_the_queue(model):
    client = create_app(model).test_client()
    before = scrape(client)
    assert set(before) >= FAMILIES
    assert before["illume_jobs_queued"][("illume_jobs_queued", ())] == 0
    assert before["illume_model_state"][("illume_model_state", (("state", "idle"),))] == 1
    event = {"action": "ANNOTATION_CREATED", "project": {"id": 4}, "annotation": {"id": 1}}
    assert client.post("/webhook", json=event).status_code == 201
    after = scrape(client)
    assert after["illume_jobs_queued"][("illume_jobs_queued", ())] == 1
    assert after["illume_webhooks"][("illume_webhooks_total", ())] == 1


def test_counters_and_round_durations(model):
    client = create_app(model).test_client()
    model.counters.rounds_ok, model.counters.rounds_skipped = 2, 1
    model.counters.candidates_written, model.counters.generate_seconds = 50, 10.0
    rounds = [
        {
            "ok": True,
            "started": "2026-01-01T10:00:00+00:00",
            "finished": "2026-01-01T10:00:45+00:00",
        },
        {
            "ok": False,
            "started": "2026-01-01T11:00:00+00:00",
            "finished": "2026-01-01T11:20:00+00:00",
        },
        {"ok": False, "skipped": True, "started": "2026-01-01T12:00:00+00:00"},
    ]
    model.jobs.store.save(3, ProjectState(rounds=rounds))
    m = scrape(client)
    assert m["illume_rounds"][("illume_rounds_total", (("outcome", "ok"),))] == 2
    assert m["illume_rounds"][("illume_rounds_total", (("outcome", "skipped"),))] == 1
    rate = m["illume_sampling_candidates_per_second"]
    assert rate[("illume_sampling_candidates_per_second", ())] == 5.0
    hist = m["illume_round_duration_seconds"]
    assert hist[("illume_round_duration_seconds_count", ())] == 2
    assert hist[("illume_round_duration_seconds_sum", ())] == 45 + 1200
    assert hist[("illume_round_duration_seconds_bucket", (("le", "60.0"),))] == 1
    assert hist[("illume_round_duration_seconds_bucket", (("le", "+Inf"),))] == 2


def test_each_app_has_its_own_registry(tmp_path):
    """Two apps in one process: no duplicate-timeseries error, separate figures."""
    a = IllumeModel(Settings(data_dir=tmp_path / "a", load_model=False)).start()
    b = IllumeModel(Settings(data_dir=tmp_path / "b", load_model=False)).start()
    a.counters.tasks_generated = 7
    ma, mb = scrape(create_app(a).test_client()), scrape(create_app(b).test_client())
    key = ("illume_tasks_generated_total", ())
    assert ma["illume_tasks_generated"][key] == 7 and mb["illume_tasks_generated"][key] == 0


def test_round_seconds_ignores_unfinished_and_skipped():
    assert seconds({"started": "2026-01-01T10:00:00+00:00"}) is None
    assert seconds({"skipped": True, "started": "x", "finished": "y"}) is None
    assert seconds({"started": "bad", "finished": "2026-01-01T10:00:00+00:00"}) is None


def test_with_redis_the_web_process_only_queues_jobs(tmp_path, redis_server):
    """ILLUME_REDIS_URL: /setup, /predict and /webhook put jobs into RQ's queues, nothing runs."""
    from redis import Redis

    conn = Redis.from_url(redis_server.url)
    conn.flushdb()
    settings = Settings(data_dir=tmp_path, load_model=False, redis_url=redis_server.url)
    model = IllumeModel(settings).start()
    assert model.worker._thread is None  # no in-process worker
    client = create_app(model).test_client()
    assert client.post("/setup", json={"project": 4}).status_code == 200
    tasks = [{"id": 11, "data": {}}, {"id": 12, "data": {}}]
    r = client.post("/predict", json={"tasks": tasks, "project": "4.123"})
    assert r.status_code == 200 and [p["result"] for p in r.json["results"]] == [[], []]
    event = {"action": "ANNOTATION_CREATED", "project": {"id": 4}, "annotation": {"id": 1}}
    r = client.post("/webhook", json=event)
    assert r.status_code == 201 and r.json["queued"]
    rq = client.get("/status").json["rq"]
    assert rq["sample"]["queued"] == 2 and rq["train"]["queued"] == 1  # a scan, a batch
    assert model.remote.sample.job_ids[0].startswith("illume-sample-4-")  # /predict's first
    m = scrape(client)
    jobs = m["illume_rq_jobs"]
    assert jobs[("illume_rq_jobs", (("queue", "sample"), ("state", "queued")))] == 2
    assert m["illume_rq_up"][("illume_rq_up", ())] == 1
    assert not (tmp_path / "queue" / "jobs.jsonl").exists()  # the file queue stays unused
    conn.flushdb()
