"""Task-data contract, the job queue and the export's bookkeeping."""

from __future__ import annotations

import pytest

from illume.versions import version_round
from ml_backend import tasks
from ml_backend.export import task_record
from ml_backend.jobqueue import JobLog
from ml_backend.jobs import event_project
from ml_backend.labels import DEFAULT_LABELS, is_resolved, prediction
from ml_backend.order import task_score
from ml_backend.tasks import candidate_sets, shown_at
from tests.ml_backend.annotations import ann


def test_task_item_names_what_is_missing():
    with pytest.raises(tasks.TaskError, match="question, answer"):
        tasks.task_item({"id": 1, "data": {"image": "x", "question": " ", "answer": 3}})
    with pytest.raises(tasks.TaskError, match="no data"):
        tasks.task_item({"id": 1, "data": "oops"})
    item = tasks.task_item(
        {"id": 9, "data": {"image": " i ", "question": "q", "answer": "a"}}, lambda s: f"/x/{s}"
    )
    assert item.id == "task-9" and item.image == "/x/i"


def test_one_engine_id_rule_per_task():
    data = {"image": "i", "question": "q", "answer": "a"}
    assert tasks.engine_id({"id": 4, "data": {**data, "item_id": "cat-1"}}) == "cat-1"
    assert tasks.engine_id({"id": 4, "data": {**data, "item_id": ""}}) == "task-4"
    assert tasks.task_item({"id": 4, "data": {**data, "item_id": 7}}).id == "7"
    assert tasks.item_id_of(None, 5) == "task-5"


def test_resolved_means_some_fitting_rationale():
    assert not is_resolved({"annotations": []})
    assert not is_resolved({"annotations": [ann([DEFAULT_LABELS.none_fits])]})
    assert not is_resolved({"annotations": [ann(["a"], cancelled=True)]})
    assert is_resolved({"annotations": [ann(["a"])]})
    assert is_resolved({"annotations": [ann([], text=["typed"])]})


def test_with_candidates_keeps_history_and_a_clean_choice_list():
    data = {"image": "i", "candidates": [], "candidates_error": "old"}
    c1 = [{"text": "a", "logprob": -1.0}, {"text": "b", "logprob": -0.1}]
    d1 = tasks.with_candidates(data, c1, "zero-shot")
    assert d1["candidates"] == [{"value": "a"}, {"value": "b"}] and "candidates_error" not in d1
    d2 = tasks.with_candidates(d1, [{"text": "c", "logprob": -0.2}], "v0001")
    assert d2["candidate_rounds"][0]["version"] == "zero-shot"
    assert [c["text"] for c in tasks.stored_candidates({"data": d2})] == ["c"]


def test_prediction_preticks_only_ranks_that_clear_the_threshold():
    cands = [
        {"text": "a b c", "rank": 0.6},
        {"text": "b c d", "rank": 0.9},
        {"text": "c d e", "rank": 0.3},
        {"text": "no rank stored", "logprob": -0.1},
    ]
    p = prediction(cands, "v0003", pretick=3, min_rank=0.5)
    assert p["result"][0]["value"]["choices"] == ["b c d", "a b c"]
    # the score orders tasks (ml_backend.order), whether or not anything is ticked
    assert p["model_version"] == "v0003" and p["score"] == task_score(cands)
    assert prediction(cands, "v0003", pretick=1, min_rank=0.5)["result"][0]["value"]["choices"] == [
        "b c d"
    ]
    none = prediction(cands, "v0003", pretick=3, min_rank=0.95)
    assert none["result"] == [] and none["score"] == p["score"]
    assert prediction([], "v1", 3)["result"] == []


def test_prediction_never_preticks_a_restated_answer():
    cands = [{"text": "it is a cat", "rank": 0.99}, {"text": "it has striped fur", "rank": 0.6}]
    p = prediction(cands, "v1", pretick=3, min_rank=0.5, answer="cat")
    assert p["result"][0]["value"]["choices"] == ["it has striped fur"]


@pytest.mark.parametrize(
    "event, project",
    [
        ({"project": {"id": 3}}, 3),
        ({"task": {"project": 4}}, 4),
        ({"annotation": {"project": "5"}}, 5),
        ({"project": {"id": True}}, None),
        ({"project": None, "task": None}, None),
        ({}, None),
    ],
)
def test_event_project(event, project):
    assert event_project(event) == project


def test_job_log_survives_a_restart(tmp_path):
    log = JobLog(tmp_path)
    log.append({"kind": "a"})
    log.append({"kind": "b"})
    pos, job = log.next(timeout=0)
    log.finish(pos)
    with open(tmp_path / "jobs.jsonl", "a") as f:
        f.write('{"kind": "torn')  # a crash mid-write
    again = JobLog(tmp_path)
    assert [j["kind"] for j in again.pending()] == ["b"]


def test_export_record_names_versions_rounds_and_rejections():
    data = {"item_id": "x", "image": "i", "question": "q", "answer": "a"}
    d = tasks.with_candidates(data, [{"text": "old1"}, {"text": "old2"}], "zero-shot")
    d["candidates_generated_at"] = "2030-01-01T00:00:00+00:00"
    d = tasks.with_candidates(d, [{"text": "new1"}, {"text": "new2"}], "v0002")
    d["candidates_generated_at"] = "2030-01-03T00:00:00+00:00"
    task = {
        "id": 5,
        "data": d,
        "annotations": [
            ann(["old1"], created="2030-01-02T00:00:00Z", aid=11),
            ann(["new2"], text=["typed"], created="2030-01-04T00:00:00Z", aid=12),
        ],
    }
    rec = task_record(task, {1: "ann@x"})
    by_text = {f["text"]: f for f in rec["fitting"]}
    assert by_text["old1"]["model_version"] == "zero-shot" and by_text["old1"]["round"] == 0
    assert by_text["new2"]["model_version"] == "v0002" and by_text["new2"]["round"] == 2
    assert by_text["typed"]["source"] == "typed" and by_text["typed"]["annotator"] == "annotator-1"
    rejected = {(r["text"], r["annotation_id"]) for r in rec["rejected"]}
    assert rejected == {("old2", 11), ("new1", 12)}
    assert version_round("v0010") == 10 and version_round(None) == 0
    sets = candidate_sets(d)
    assert shown_at(sets, None)["version"] == "v0002"


def test_queued_jobs_survive_a_backend_restart(tmp_path):
    from ml_backend.config import Settings
    from ml_backend.model import IllumeModel

    first = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    first.fit("START_TRAINING", {"project": {"id": 3}})
    first.setup(3)
    again = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    assert [j["kind"] for j in again.queue.pending()] == ["event", "generate"]


def test_serve_runs_gunicorn_with_one_worker(monkeypatch):
    import sys

    import gunicorn.app.wsgiapp

    from ml_backend import server

    seen = {}
    monkeypatch.setattr(gunicorn.app.wsgiapp, "run", lambda: seen.update(argv=list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["illume"])
    server.serve("127.0.0.1", 9191)
    argv = seen["argv"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:9191"
    assert argv[argv.index("--workers") + 1] == "1" and argv[-1] == "ml_backend.wsgi:app"


def test_merge_own_keys_takes_only_the_backends_keys_from_an_edit():
    current = {"image": "a.png", "question": "q?", "answer": "a", "candidates": []}
    edited = {"image": "forged.png", "question": None, "candidates": [{"value": "x"}], "extra": 1}
    merged = tasks.merge_own_keys(current, edited)
    assert merged == {
        "image": "a.png",
        "question": "q?",
        "answer": "a",
        "candidates": [{"value": "x"}],
    }
    # an edit from with_candidates adds only own keys
    made = tasks.with_candidates(current, [{"text": "it purrs", "logprob": -1.0}], "zero-shot")
    assert set(made) - set(current) <= tasks.OWN_KEYS
    assert tasks.merge_own_keys(current, made) == made
