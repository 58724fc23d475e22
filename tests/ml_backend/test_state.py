"""Damaged state never passes silently: moved aside, logged, shown, rebuilt without replays."""

from __future__ import annotations

import json
import logging
import os

import pytest

from illume.versions import mark_complete
from ml_backend.config import Settings
from ml_backend.jobqueue import JobLog
from ml_backend.model import IllumeModel
from ml_backend.state import ProjectState, StateStore


@pytest.mark.parametrize(
    "damage", [b'{"new_annotations": 3, "rou', b"\xff\xfe", b"[1, 2]", b'{"rounds": 5}']
)
def test_damaged_state_file_is_moved_aside_and_rebuilt(tmp_path, caplog, damage):
    store = StateStore(tmp_path)
    store.save(4, ProjectState(new_annotations=2, rounds=[{"ok": True, "version": "v0001"}]))
    for name in ("v0001", "v0002"):
        (tmp_path / "projects" / "4" / "versions" / name).mkdir(parents=True)
        mark_complete(tmp_path / "projects" / "4" / "versions" / name)
    path = tmp_path / "projects" / "4" / "state.json"
    path.write_bytes(damage)
    with caplog.at_level(logging.ERROR):
        state = store.load(4)
    assert [r["version"] for r in state.rounds] == ["v0001", "v0002"] and state.round == 2
    aside = list(path.parent.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damage  # kept for a human to look at
    assert json.loads(path.read_text())["rounds"][1]["version"] == "v0002"  # the rebuilt one
    assert "damaged" in caplog.text and store.errors[0]["moved_to"] == aside[0].name
    assert store.load(4).round == 2 and len(store.errors) == 1  # once, not on every read


def test_state_error_shows_in_metrics(tmp_path):
    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    path = tmp_path / "projects" / "9" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    errors = model.metrics()["state_errors"]
    assert errors[0]["what"] == "project 9 state" and "JSONDecodeError" in errors[0]["error"]


def _queue_with(tmp_path, n: int, finished: int) -> JobLog:
    q = JobLog(tmp_path)
    for i in range(n):
        q.append({"kind": "event", "n": i})
    for i in range(finished):
        q.finish(i)
    return q


def test_damaged_cursor_recovers_from_done_markers(tmp_path, caplog):
    _queue_with(tmp_path, 5, 3)
    (tmp_path / "jobs.cursor").write_text("garbage\x00")
    with caplog.at_level(logging.ERROR):
        q = JobLog(tmp_path)
    assert q.cursor == 3 and [j["n"] for j in q.pending()] == [3, 4]
    assert list(tmp_path.glob("jobs.cursor.corrupt-*")) and "damaged" in caplog.text
    assert q.errors[0]["what"] == "job queue cursor"


def test_damaged_cursor_without_markers_replays_only_later_jobs(tmp_path):
    q = _queue_with(tmp_path, 2, 2)
    written = (tmp_path / "jobs.cursor").stat().st_mtime - 10
    os.utime(tmp_path / "jobs.cursor", (written, written))
    for job in q._jobs:
        job["queued_at"] = written - 5  # rewrite the log: these two were queued before
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in q._jobs))
    q.append({"kind": "event", "n": 2})  # after the cursor's last write: not finished
    (tmp_path / "jobs.done").unlink()
    (tmp_path / "jobs.cursor").write_text("-7")
    os.utime(tmp_path / "jobs.cursor", (written, written))
    assert [j["n"] for j in JobLog(tmp_path).pending()] == [2]


def test_lost_cursor_write_is_caught_up_by_the_markers(tmp_path):
    _queue_with(tmp_path, 4, 3)
    (tmp_path / "jobs.cursor").write_text("1")  # an older cursor: crash between the writes
    assert JobLog(tmp_path).cursor == 3


def test_torn_last_line_does_not_swallow_the_next_job(tmp_path):
    _queue_with(tmp_path, 2, 0)
    with open(tmp_path / "jobs.jsonl", "a") as f:
        f.write('{"kind": "eve')  # a crash mid-append
    JobLog(tmp_path).append({"kind": "event", "n": 9})
    assert [j.get("n") for j in JobLog(tmp_path).pending()] == [0, 1, 9]


def test_concurrent_appends_share_fsyncs_and_keep_the_file_order(tmp_path, monkeypatch):
    import threading
    import time

    from ml_backend import jobqueue

    syncs = []

    def slow_fsync(fd):
        syncs.append(fd)
        time.sleep(0.005)  # a disk flush

    monkeypatch.setattr(jobqueue.os, "fsync", slow_fsync)
    q = JobLog(tmp_path)
    positions = []

    def sender(k):
        for i in range(25):
            positions.append(q.append({"kind": "event", "n": k * 100 + i}))

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(positions) == list(range(200))
    assert len(syncs) < 150, len(syncs)  # flushes shared (one per append: 200)
    on_disk = [json.loads(line)["n"] for line in (tmp_path / "jobs.jsonl").read_text().splitlines()]
    assert on_disk == [j["n"] for j in q.pending()] == [j["n"] for j in JobLog(tmp_path).pending()]
