"""The candidates pass's bookkeeping: the resumable cursor and which tasks need sampling."""

from __future__ import annotations

import threading

from ml_backend.candidates import CandidateWriter, PassCursor, needs_candidates
from ml_backend.config import Settings
from ml_backend.labels import DEFAULT_LABELS
from ml_backend.lsclient import Connection
from ml_backend.state import Counters
from tests.ml_backend.annotations import ann


def test_a_pass_resumes_after_the_last_task_it_finished(tmp_path):
    cursor = PassCursor(tmp_path / "projects" / "3")
    assert cursor.resume("v0001") == 0
    cursor.save("v0001", 41)
    cursor.save("v0001", 57)
    assert PassCursor(tmp_path / "projects" / "3").resume("v0001") == 57
    assert cursor.resume("v0002") == 0, "a pass of another version starts from the beginning"
    cursor.clear()
    assert cursor.resume("v0001") == 0
    cursor.clear()  # clearing twice is fine


def test_an_unreadable_cursor_starts_the_pass_over(tmp_path):
    cursor = PassCursor(tmp_path)
    for raw in ("{half", "[]", '{"version": "v1", "after": "12"}', '{"version": "v1"}'):
        cursor.path.write_text(raw)
        assert cursor.resume("v1") == 0, raw


def test_only_unresolved_tasks_without_this_versions_set_need_sampling():
    def task(data: dict, annotations: list | None = None) -> dict:
        return {"id": 1, "data": {"candidates": [], **data}, "annotations": annotations or []}

    assert needs_candidates(task({}), "v1", DEFAULT_LABELS)
    assert needs_candidates(task({"candidates_version": "v0"}), "v1", DEFAULT_LABELS)
    assert not needs_candidates(task({"candidates_version": "v1"}), "v1", DEFAULT_LABELS)
    failed = {"candidates_version": "v1", "candidates_error": "no image"}
    assert not needs_candidates(task(failed), "v1", DEFAULT_LABELS)
    resolved = task({"candidates": [{"value": "it is red"}]}, [ann(["it is red"])])
    assert not needs_candidates(resolved, "v1", DEFAULT_LABELS)


def test_predict_never_waits_on_a_batch_it_leaves_its_tasks_to_the_pass(tmp_path):
    settings = Settings(data_dir=tmp_path, load_model=False)
    ls = Connection(settings)  # never called: nothing is read or sampled here
    ls._labels[3] = DEFAULT_LABELS
    writer = CandidateWriter(settings, None, Counters(), ls)
    assert not writer.model_busy()
    with writer._model_lock:  # a batch being sampled (another thread in the backend)
        busy = []
        thread = threading.Thread(target=lambda: busy.append(writer.model_busy()))
        thread.start()
        thread.join()
        assert busy == [True]
        thread = threading.Thread(
            target=lambda: busy.append(
                writer.generate_tasks([{"id": 5}, {"id": 6}], 3, False, False)
            )
        )
        thread.start()
        thread.join(timeout=10)
        assert busy[-1] == {}, "the request returned without sampling"
    writer.want(3, [6, 7])
    assert list(writer._wanted[3]) == [5, 6, 7]
