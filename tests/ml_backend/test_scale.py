"""Large projects against a real Label Studio: the task list is streamed by id, and a
candidates pass killed (SIGKILL) mid-way finishes after a restart without resampling."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ml_backend import lsclient
from tests.ml_backend.conftest import rationale_config, start_backend, stop_backend
from tests.ml_backend.test_integration import all_tasks, wait_for

pytestmark = pytest.mark.integration

VERSION = "zero-shot"
PHOTOS = ("chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg")


def make_tasks(client, label_studio, title: str, n: int) -> int:
    project = client.projects.create(title=title, label_config=rationale_config())
    client.import_storage.local.create(
        project=project.id,
        path=str(label_studio.local_files_root / "images"),
        use_blob_urls=False,
        title="images",
    )
    add_tasks(client, project.id, n)
    return project.id


def add_tasks(client, project: int, n: int, first: int = 0) -> None:
    rows = [
        {
            "image": f"/data/local-files/?d=images/{PHOTOS[i % len(PHOTOS)]}",
            "question": f"what is in picture {i}?",
            "answer": "something",
            "item_id": f"scale-{i}",
            "candidates": [],
        }
        for i in range(first, first + n)
    ]
    client.projects.import_tasks(id=project, request=rows)


def test_the_task_list_streams_page_by_page_in_id_order(ls_client, label_studio):
    project = make_tasks(ls_client, label_studio, "illume pages", 5)
    pages = lsclient.iter_task_pages(ls_client, project, page_size=2)
    first = next(pages)
    assert len(first) == 2
    # tasks imported while the listing runs still come: nothing was read ahead
    add_tasks(ls_client, project, 2, first=5)
    rest = list(pages)
    ids = [t["id"] for page in [first, *rest] for t in page]
    assert [len(p) for p in rest] == [2, 2, 1]
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert all("data" in t and "predictions" in t and "annotations" in t for p in rest for t in p)
    # a pass resumes after the last id it finished
    after = [t["id"] for page in lsclient.iter_task_pages(ls_client, project, ids[3]) for t in page]
    assert after == ids[4:]
    chosen = [t["id"] for t in lsclient.iter_tasks(ls_client, project, [ids[6], ids[1]], 1)]
    assert chosen == [ids[1], ids[6]]


def gunicorn_worker(master: int) -> int:
    """The pid of the one worker process gunicorn (started by this test) forked."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_a_killed_pass_resumes_without_resampling(
    ls_client, label_studio, tiny_lm_dir, tmp_path, local_root
):
    n = 24
    project = make_tasks(ls_client, label_studio, "illume kill", n)
    env = {"ILLUME_LM": str(tiny_lm_dir), "ILLUME_ENCODER": "tiny", "ILLUME_BATCH_ITEMS": "1"}
    backend, logf = start_backend(label_studio, local_root, tmp_path, env)
    ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)
    wait_for(
        lambda: backend.get("/status")["counters"]["tasks_generated"] >= 3,
        what="a few tasks sampled",
        timeout=120,
    )
    worker = gunicorn_worker(backend.proc.pid)
    os.kill(backend.proc.pid, signal.SIGKILL)  # the master first: it must not fork a new worker
    os.kill(worker, signal.SIGKILL)
    backend.proc.wait(timeout=10)
    logf.close()
    wait_for(lambda: not Path(f"/proc/{worker}").exists(), what="the worker gone", timeout=10)

    before = {t["id"]: t["data"] for t in all_tasks(ls_client, project)}
    done = {tid: d for tid, d in before.items() if d.get("candidates_version") == VERSION}
    assert 3 <= len(done) < n, f"the kill came too late to test a resume: {len(done)} of {n}"
    cursor = tmp_path / "projects" / str(project) / "generate.cursor"
    assert cursor.exists(), "the pass recorded no progress"

    backend, logf = start_backend(label_studio, local_root, tmp_path, env)
    try:
        tasks = wait_for(
            lambda: (
                (ts := all_tasks(ls_client, project))
                and all(
                    t["data"].get("candidates_version") == VERSION
                    and any(p["model_version"] == VERSION for p in t["predictions"])
                    for t in ts
                )
                and ts
            ),
            what="candidates and a prediction on every task after the restart",
            timeout=180,
        )
        status = backend.wait_idle()
    finally:
        stop_backend(backend, logf)
    log = (tmp_path / "backend.log").read_text()
    assert "resuming the zero-shot pass after task" in log
    assert not cursor.exists(), "a finished pass clears its cursor"
    for t in tasks:
        assert t["data"]["candidates"], t["data"]
        assert len([p for p in t["predictions"] if p["model_version"] == VERSION]) == 1
        if t["id"] in done:  # sampled before the kill: untouched since
            assert t["data"]["candidates_generated_at"] == done[t["id"]]["candidates_generated_at"]
            assert t["data"]["candidates"] == done[t["id"]]["candidates"]
            assert not t["data"].get("candidate_rounds"), "an earlier set was replaced"
    assert status["counters"]["tasks_generated"] == n - len(done)
