"""The round scheduling rule: deduplicated marks, one running + one pending, the debounce."""

from __future__ import annotations

import logging

import pytest

from ml_backend.config import Settings
from ml_backend.model import IllumeModel
from ml_backend.schedule import ROUND_MAX_WAIT_FACTOR, RoundScheduler
from ml_backend.state import Counters, ProjectState, StateStore


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def scheduler(tmp_path, clock, run=None, every=10, debounce=60.0) -> RoundScheduler:
    rounds = []

    def run_round(project, reason):
        rounds.append((project, reason))
        if run:
            run(project, reason)

    s = RoundScheduler(StateStore(tmp_path), Counters(), run_round, every, debounce, clock)
    s.rounds = rounds  # what ran, for the assertions
    return s


def test_an_annotation_counts_once_per_kind(tmp_path):
    clock = Clock()
    s = scheduler(tmp_path, clock)
    for _ in range(5):
        s.mark(3, "ANNOTATION_UPDATED", [41], clock())
    s.mark(3, "ANNOTATION_CREATED", [41], clock())
    s.mark(3, "ANNOTATION_UPDATED", [42, 41], clock())
    state = s.store.load(3)
    assert state.new_annotations == 3
    assert sorted(state.new_keys) == [
        "ANNOTATION_CREATED:41",
        "ANNOTATION_UPDATED:41",
        "ANNOTATION_UPDATED:42",
    ]
    assert s.status(3, state)["pending"] == "3 of 10 new annotations"


def test_a_burst_settles_before_its_one_round(tmp_path):
    clock = Clock()
    s = scheduler(tmp_path, clock, every=10, debounce=60)
    for i in range(500):  # a burst: one event every 0.1 s
        clock.t = 1000 + i * 0.1
        s.mark(3, "ANNOTATION_CREATED", [i], clock())
        until = s.tick()
        assert s.rounds == [] and (until is None) == (i < 9)  # due only from the 10th
    last = clock.t
    clock.t = last + 59
    assert s.tick() == pytest.approx(1.0) and s.rounds == []
    status = s.status(3, s.store.load(3))
    assert status["pending"] == "500 new annotations" and status["round_due_in_s"] == 1.0
    clock.t = last + 60
    assert s.tick() is None
    assert s.rounds == [(3, "500 new annotations")]
    for _ in range(3):
        clock.t += 600
        s.tick()
    assert len(s.rounds) == 1
    state = s.store.load(3)
    assert state.new_annotations == 0 and state.running is None
    assert s.status(3, state)["pending"] is None


def test_a_steady_trickle_cannot_postpone_a_round_for_ever(tmp_path):
    clock = Clock(0.0)
    s = scheduler(tmp_path, clock, every=2, debounce=10)
    for i in range(100):  # every 5 s, always inside the window
        clock.t = i * 5.0
        s.mark(1, "ANNOTATION_CREATED", [i], clock())
        s.tick()
    assert s.rounds[0] == (1, f"{ROUND_MAX_WAIT_FACTOR * 10 // 5 + 1} new annotations")


def test_start_training_is_due_at_once_and_coalesced(tmp_path):
    clock = Clock()
    s = scheduler(tmp_path, clock, every=0)
    s.mark(2, "ANNOTATION_CREATED", [1], clock())
    assert s.tick() is None and s.rounds == []  # TRAIN_EVERY=0: never by the count
    assert "Start training" in s.status(2, s.store.load(2))["pending"]
    for _ in range(4):
        s.request(2, "START_TRAINING", clock())
    s.tick()
    s.tick()
    assert s.rounds == [(2, "START_TRAINING")]


def test_a_round_with_new_annotations_meanwhile_is_followed_by_exactly_one(tmp_path):
    clock = Clock()
    seen = []

    def during(project, reason):
        """While the first round runs: 30 annotations (some twice) and two presses."""
        seen.append(s.status(project, s.store.load(project)))
        if len(seen) == 1:
            for i in range(30):
                s.mark(project, "ANNOTATION_CREATED", [100 + i % 20], clock())
            s.request(project, "START_TRAINING", clock())
            s.request(project, "START_TRAINING", clock())
            clock.t += 300  # the round takes 5 minutes

    s = scheduler(tmp_path, clock, run=during, every=10, debounce=60)
    for i in range(12):
        s.mark(5, "ANNOTATION_CREATED", [i], clock())
    clock.t += 60
    s.tick()
    assert seen[0]["round_running"] and seen[0]["pending"] is None  # running, marks cleared
    assert s.status(5, s.store.load(5))["pending"] == "START_TRAINING"  # the one pending
    for _ in range(5):
        s.tick()
        clock.t += 100
    assert s.rounds == [(5, "12 new annotations"), (5, "START_TRAINING")]
    assert s.store.load(5).new_annotations == 0


def test_a_round_with_too_few_annotations_meanwhile_has_no_follow_up(tmp_path):
    clock = Clock()

    def during(project, reason):
        for i in range(3):
            s.mark(project, "ANNOTATION_UPDATED", [i], clock())

    s = scheduler(tmp_path, clock, run=during, every=10, debounce=1)
    s.request(5, "START_TRAINING", clock())
    for _ in range(5):
        s.tick()
        clock.t += 100
    assert s.rounds == [(5, "START_TRAINING")]
    assert s.status(5, s.store.load(5))["pending"] == "3 of 10 new annotations"


def test_a_round_cut_short_by_a_crash_runs_again_once(tmp_path, caplog):
    store = StateStore(tmp_path)
    store.save(4, ProjectState(running={"reason": "12 new annotations", "started": "x"}))
    clock = Clock()
    with caplog.at_level(logging.WARNING):
        s = scheduler(tmp_path, clock)
    assert "cut short" in caplog.text
    s.tick()
    s.tick()
    assert s.rounds == [(4, "round cut short by a restart (12 new annotations)")]


def test_a_restart_after_the_publish_owes_candidates_not_a_round(tmp_path, monkeypatch):
    """The round recorded its version; a kill came during the regeneration: no re-tuning,
    the new version's candidates are written on the worker's first tick."""
    running = {"reason": "START_TRAINING", "started": "2026-12-02T03:52:36Z"}
    done = {"reason": "START_TRAINING", "started": "2026-12-02T03:52:37+00:00", "ok": True}
    StateStore(tmp_path).save(5, ProjectState(running=running, rounds=[done]))
    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    calls = []
    monkeypatch.setattr(model.jobs.candidates, "generate", lambda p, ids=None: calls.append(p))
    monkeypatch.setattr(model.jobs.rounds, "run", lambda p, r: pytest.fail("round rerun"))
    assert model.jobs.store.load(5).running is None
    assert model.metrics()["projects"]["5"]["pending"] is None
    model.jobs.tick()
    assert calls == [5] and not model.jobs.owes_candidates(5)


def test_a_failing_round_is_recorded_and_scheduling_goes_on(tmp_path):
    clock = Clock()

    def boom(project, reason):
        raise RuntimeError("Label Studio unreachable")

    s = scheduler(tmp_path, clock, run=boom)
    s.request(6, "START_TRAINING", clock())
    s.tick()
    state = s.store.load(6)
    assert state.running is None and state.rounds[-1]["ok"] is False
    assert "unreachable" in state.rounds[-1]["error"] and s.counters.rounds_failed == 1
    s.request(6, "START_TRAINING", clock())
    s.tick()
    assert len(s.rounds) == 2


def test_events_through_the_jobs_mark_and_never_run_a_round_inline(tmp_path, monkeypatch):
    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False, train_every=2))
    rounds = []
    monkeypatch.setattr(model.jobs.scheduler, "run_round", lambda p, r: rounds.append((p, r)))
    model.jobs.scheduler.debounce_s = 0.0
    event = {"action": "ANNOTATION_CREATED", "project": {"id": 6}, "annotation": {"id": 9}}
    for _ in range(3):
        model.jobs.handle({"kind": "event", "event": event, "queued_at": 1.0})
    assert rounds == [] and model.jobs.store.load(6).new_annotations == 1
    deleted = {"action": "ANNOTATIONS_DELETED", "project": {"id": 6}, "annotations": [{"id": 9}]}
    model.jobs.handle({"kind": "event", "event": deleted, "queued_at": 2.0})
    assert rounds == []
    model.jobs.tick()
    assert rounds == [(6, "2 new annotations")]
    start = {"action": "START_TRAINING", "project": {"id": 6}}
    model.jobs.handle({"kind": "event", "event": start})
    model.jobs.tick()
    assert rounds[-1] == (6, "START_TRAINING")
    assert model.metrics()["projects"]["6"]["rounds_run"] == 0  # run_round was a stand-in


class FakeProjects:
    def __init__(self, known=(), error=False):
        self.known, self.error, self.calls = set(known), error, 0

    def get(self, id):  # noqa: A002 (the SDK's name)
        self.calls += 1
        if self.error:
            raise ConnectionError("connection refused")
        if id not in self.known:
            e = RuntimeError("not found")
            e.status_code = 404
            raise e
        return object()


class FakeClient:
    def __init__(self, projects):
        self.projects = projects


def test_the_worker_drops_events_of_unknown_projects(tmp_path, caplog):
    projects = FakeProjects(known={1})
    settings = Settings(data_dir=tmp_path, load_model=False, api_key="t")
    model = IllumeModel(settings, client=FakeClient(projects))
    with caplog.at_level(logging.WARNING):
        for pid in (1, 99999, 99999, 1):
            model.jobs.on_event({"action": "START_TRAINING", "project": {"id": pid}})
    assert model.counters.webhooks_dropped == 2 and "99999 dropped" in caplog.text
    assert projects.calls == 2  # each project asked once
    assert model.jobs.store.load(1).requested == "START_TRAINING"
    assert model.jobs.store.projects() == [1]


def test_label_studio_down_keeps_the_events(tmp_path):
    projects = FakeProjects(error=True)
    settings = Settings(data_dir=tmp_path, load_model=False, api_key="t")
    model = IllumeModel(settings, client=FakeClient(projects))
    for i in range(20):
        event = {"action": "ANNOTATION_CREATED", "project": {"id": 2}, "annotation": {"id": i}}
        model.jobs.on_event(event)
    assert model.jobs.store.load(2).new_annotations == 20 and projects.calls == 1
    assert model.counters.webhooks_dropped == 0


def test_the_worker_ticks_only_with_an_empty_queue(tmp_path):
    import threading
    import time

    from ml_backend.jobqueue import JobLog, Worker

    q = JobLog(tmp_path)
    seen = []
    gate = threading.Event()

    def handle(job):
        gate.wait(5)
        seen.append(("job", job["n"]))

    def tick():
        seen.append(("tick", len(q.pending())))
        return 0.05

    for n in range(3):
        q.append({"kind": "x", "n": n})
    worker = Worker(q, handle, tick)
    worker.start()
    gate.set()
    deadline = time.monotonic() + 5
    while sum(1 for s in seen if s[0] == "tick") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert [s for s in seen if s[0] == "job"] == [("job", 0), ("job", 1), ("job", 2)]
    first_tick = next(i for i, s in enumerate(seen) if s[0] == "tick")
    assert first_tick == 3 and all(s == ("tick", 0) for s in seen[3:] if s[0] == "tick")


def test_candidates_label_studio_could_not_take_are_tried_again(tmp_path, monkeypatch):
    """The round published; Label Studio was down for its regeneration: the round is ok,
    /status says the candidates wait, and a later tick writes them."""
    from ml_backend import jobs as jobs_module
    from ml_backend.lsclient import LabelStudioError

    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    calls = []

    def generate(project, task_ids=None):
        calls.append(project)
        if len(calls) < 3:
            raise LabelStudioError("cannot list tasks of project 3: ConnectionError")
        return 0

    monkeypatch.setattr(model.jobs.rounds, "run", lambda project, reason: True)
    monkeypatch.setattr(model.jobs.candidates, "generate", generate)
    monkeypatch.setattr(jobs_module, "REGENERATE_RETRY_S", 0.0)
    model.jobs.store.save(3, ProjectState())
    assert model.jobs.train(3, "START_TRAINING") is True
    assert model.metrics()["projects"]["3"]["candidates_wait_for_label_studio"] is True
    model.jobs.tick()
    assert calls == [3, 3] and model.jobs.owes_candidates(3)
    model.jobs.tick()
    assert calls == [3, 3, 3] and not model.jobs.owes_candidates(3)
    assert model.metrics()["projects"]["3"]["candidates_wait_for_label_studio"] is False


def test_a_round_that_cannot_read_label_studio_is_asked_for_again(tmp_path, monkeypatch):
    """Recorded as failed, pending again a minute later (Label Studio may be restarting)."""
    import time

    from ml_backend import jobs as jobs_module
    from ml_backend.lsclient import LabelStudioError

    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False))
    runs = []

    def run(project, reason):
        runs.append(reason)
        if len(runs) < 3:
            raise LabelStudioError("cannot list tasks of project 7: ConnectError")
        return False

    monkeypatch.setattr(model.jobs.rounds, "run", run)
    model.jobs.handle({"kind": "train", "project": 7, "reason": "START_TRAINING"})
    model.jobs.tick()
    status = model.metrics()["projects"]["7"]
    assert runs == ["START_TRAINING"] and status["last_round"]["ok"] is False
    assert status["pending"].startswith(jobs_module.RETRY_PREFIX)
    assert 0 < status["round_due_in_s"] <= jobs_module.ROUND_RETRY_S
    model.jobs.tick()
    assert len(runs) == 1  # not before its time
    later = jobs_module.ROUND_RETRY_S + 1
    model.jobs.scheduler.clock = lambda: time.time() + later
    model.jobs.tick()  # fails again: asks again, due on the later clock at once
    model.jobs.tick()
    assert runs == ["START_TRAINING", status["pending"], status["pending"]]
    assert model.jobs.store.load(7).requested is None


def test_a_round_refused_by_label_studio_is_not_asked_for_again(tmp_path, monkeypatch):
    """A 401 (revoked token) needs the operator: one failed round, nothing pending."""
    from ml_backend.lsclient import LabelStudioError

    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False))

    def run(project, reason):
        refused = RuntimeError("Invalid token.")
        refused.status_code = 401
        raise LabelStudioError("cannot list tasks of project 8: HTTP 401") from refused

    monkeypatch.setattr(model.jobs.rounds, "run", run)
    model.jobs.handle({"kind": "train", "project": 8, "reason": "START_TRAINING"})
    model.jobs.tick()
    status = model.metrics()["projects"]["8"]
    assert "HTTP 401" in status["last_round"]["error"] and status["pending"] is None
