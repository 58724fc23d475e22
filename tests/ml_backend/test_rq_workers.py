"""Two real `illume worker` processes on a real Redis split a real Label Studio project.

One worker is killed (SIGKILL, its whole process group) right after it took a
sampling batch: RQ notices the abandoned job (timeout + grace), retries it on
the other worker, and every task ends with candidates, none sampled twice.
Then a tuned version appears in the shared versions root next to a
half-written one: the next batches sample with the complete one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from redis import Redis
from rq import Worker
from rq.job import Job

from illume.versions import COMPLETE, mark_complete
from ml_backend.config import Settings
from ml_backend.rqueue import RedisQueues
from tests.ml_backend.conftest import REPO, rationale_config, start_backend, stop_backend
from tests.ml_backend.test_integration import GOOD, all_tasks, wait_for

pytestmark = pytest.mark.integration

N_TASKS = 12
BATCH = 3
TIMEOUT_S = 30
"""Sampling job timeout: a batch of 3 tiny-model tasks takes a few seconds even when loaded."""


def make_project(client, label_studio, n: int) -> int:
    project = client.projects.create(title="rq workers", label_config=rationale_config())
    client.import_storage.local.create(
        project=project.id,
        path=str(label_studio.local_files_root / "images"),
        use_blob_urls=False,
        title="images",
    )
    rows = []
    for i in range(n):
        img, q, a = GOOD[i % len(GOOD)]
        rows.append(
            {"image": f"/data/local-files/?d=images/{img}", "question": q, "answer": a}
            | {"item_id": f"rq-{i}", "candidates": []}
        )
    client.projects.import_tasks(id=project.id, request=rows)
    return project.id


def start_worker(name: str, env: dict, log_dir) -> subprocess.Popen:
    """`illume worker` in its own process group (so a kill takes it whole, as a dead host)."""
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)
    argv = [sys.executable, "-m", "illume.cli", "worker", "--queues", "sample,train"]
    argv += ["--name", name, "--maintenance-s", "2"]
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    return proc


def current_job(conn: Redis, name: str) -> str | None:
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=conn)
    return worker.get_current_job_id() if worker is not None else None


def test_two_workers_a_killed_one_and_a_new_version(
    label_studio, ls_client, redis_server, tiny_model, tiny_lm_dir, local_root, tmp_path
):
    conn = Redis.from_url(redis_server.url)
    conn.flushdb()
    project = make_project(ls_client, label_studio, N_TASKS)
    versions = tmp_path / "versions"  # the shared versions root of every process
    env = {
        "ILLUME_REDIS_URL": redis_server.url,
        "ILLUME_VERSIONS": str(versions),
        "ILLUME_BATCH_ITEMS": str(BATCH),
        "ILLUME_SAMPLE_TIMEOUT_S": str(TIMEOUT_S),
        "ILLUME_RQ_GRACE_S": "2",
    }
    (tmp_path / "web").mkdir()
    backend, backend_log = start_backend(label_studio, local_root, tmp_path / "web", env)
    worker_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_API_KEY": label_studio.token,
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(local_root),
        "ILLUME_LM": str(tiny_lm_dir),
        "ILLUME_ENCODER": "tiny",
        "ILLUME_MAX_NEW_TOKENS": "8",
        "ILLUME_PRETICK_MIN_RANK": "0",
        "OMP_NUM_THREADS": "1",
        **env,
    }
    procs = {}
    try:
        for name in ("victim", "survivor"):
            wenv = {**worker_env, "ILLUME_BACKEND_DIR": str(tmp_path / name)}
            procs[name] = start_worker(name, wenv, tmp_path)
        wait_for(lambda: len(Worker.all(connection=conn)) == 2, 60, "2 workers in RQ")

        status, body = backend.post("/setup", {"project": project, "schema": rationale_config()})
        assert status == 200 and body["model_version"] == "zero-shot"

        def victim_batch():
            job = current_job(conn, "victim")
            return job if job and job.startswith("illume-sample-") else None

        killed = wait_for(victim_batch, 90, "the victim taking a sampling batch")
        os.killpg(procs["victim"].pid, signal.SIGKILL)  # our own child's group, by its pid
        procs["victim"].wait(timeout=10)

        tasks = wait_for(
            lambda: (
                (ts := all_tasks(ls_client, project))
                and all(t["data"].get("candidates") for t in ts)
                and ts
            ),
            timeout=150,
            what="candidates on every task",
        )
        assert len(tasks) == N_TASKS
        for t in tasks:
            assert t["data"]["candidates_version"] == "zero-shot"
            assert not t["data"].get("candidate_rounds"), f"task {t['id']} sampled twice"
            assert len(t["predictions"]) <= 1, f"task {t['id']} got two predictions"
        job = Job.fetch(killed, connection=conn)
        wait_for(lambda: job.get_status(refresh=True) == "finished", 60, "the retried job")
        assert job.retries_left == Settings().sample_retries - 1  # retried once, by RQ
        assert job.worker_name == "survivor"
        queues = RedisQueues(Settings(redis_url=redis_server.url), conn)
        assert queues.holder(project, job.args[1][0]) is None  # its claims released

        # a tuning worker publishes v0001; a v0002 is still being copied in (no marker)
        tiny_model.save_version(versions / str(project) / "v0001")
        mark_complete(versions / str(project) / "v0001")
        half = versions / str(project) / "v0002"
        half.mkdir()
        (half / "adapters.safetensors").write_bytes(b"half")
        assert queues.scan(project)
        tasks = wait_for(
            lambda: (
                (ts := all_tasks(ls_client, project))
                and all(t["data"].get("candidates_version") == "v0001" for t in ts)
                and ts
            ),
            timeout=120,
            what="v0001 candidates on every task",
        )
        assert all(len(t["data"]["candidate_rounds"]) == 1 for t in tasks)  # once per version
        assert not (half / COMPLETE).exists()
        assert backend.get("/status")["rq"]["sample"]["queued"] == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()  # RQ's warm shutdown
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        stop_backend(backend, backend_log)
        conn.flushdb()
