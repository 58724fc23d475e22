"""A webhook storm against the backend under gunicorn: fast acknowledgements, coalesced rounds.

500 annotation events from 8 concurrent senders (some the same annotation
updated five times) must all be acknowledged (201; p50/p99 printed with `-s`,
the 100 ms target measured by bench/webhook_storm.py), with Label Studio
unreachable as well as up, and give exactly one round once the burst has
settled; a second, smaller burst gives exactly one more; too few events give
none. Run with `-s` to see the figures.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest

from ml_backend.demo.ls_server import free_port
from ml_backend.jobs import RETRY_PREFIX
from tests.ml_backend.conftest import rationale_config, start_backend, stop_backend

SENDERS = 8
DEBOUNCE_S = 2.0
TRAIN_EVERY = 10


def storm_events(project: int, first_id: int, created: int, updated: int) -> list[dict]:
    """`created` new annotations, then `updated` updates spread over ten of them (5 each)."""
    events = [
        {
            "action": "ANNOTATION_CREATED",
            "project": {"id": project},
            "task": {"id": 1, "project": project},
            "annotation": {"id": first_id + i, "task": 1, "result": []},
        }
        for i in range(created)
    ]
    events += [
        {
            "action": "ANNOTATION_UPDATED",
            "project": {"id": project},
            "task": {"id": 1, "project": project},
            "annotation": {"id": first_id + i % 10, "task": 1, "result": []},
        }
        for i in range(updated)
    ]
    random.Random(first_id).shuffle(events)
    return events


def send_all(url: str, events: list[dict]) -> list[float]:
    """POST every event from SENDERS threads; the acknowledgement latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def sender(share: list[dict]) -> None:
        for event in share:
            req = urllib.request.Request(
                url + "/webhook",
                data=json.dumps(event).encode(),
                headers={"Content-Type": "application/json"},
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    resp.read()
                    error = None if resp.status == 201 else f"status {resp.status}"
            except OSError as e:
                error = repr(e)
            ms = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(ms)
                if error:
                    errors.append(error)

    threads = [threading.Thread(target=sender, args=(events[i::SENDERS],)) for i in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert len(latencies) == len(events)
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def project_status(backend, project: int) -> dict:
    return backend.get("/status")["projects"].get(str(project), {})


def wait_rounds(backend, project: int, n: int, timeout: float = 40) -> dict:
    """Wait until the project has run n rounds and none runs; then make sure no more follow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = project_status(backend, project)
        if st.get("rounds_run", 0) >= n and not st.get("round_running"):
            break
        time.sleep(0.2)
    time.sleep(DEBOUNCE_S * 1.5)  # a spurious extra round would have started by now
    return project_status(backend, project)


LS_UP = pytest.param("label-studio-up", marks=pytest.mark.integration)


@pytest.fixture(params=["label-studio-down", LS_UP])
def storm_backend(request, tiny_lm_dir, local_root, tmp_path_factory):
    """The backend on the tiny model with TRAIN_EVERY=10 and a 2 s debounce, and a project."""
    if request.param == "label-studio-up":
        ls = request.getfixturevalue("label_studio")
        client = request.getfixturevalue("ls_client")
        project = client.projects.create(title="storm", label_config=rationale_config()).id
    else:
        ls = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}", token="unreachable")
        project = 7
    env = {
        "ILLUME_LM": str(tiny_lm_dir),
        "ILLUME_ENCODER": "tiny",
        "ILLUME_TRAIN_EVERY": str(TRAIN_EVERY),
        "ILLUME_ROUND_DEBOUNCE_S": str(DEBOUNCE_S),
    }
    backend, logf = start_backend(ls, local_root, tmp_path_factory.mktemp("storm"), env)
    deadline = time.monotonic() + 60
    while backend.get("/health")["model_state"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.2)  # the load must not compete with the storm
    yield SimpleNamespace(backend=backend, project=project, ls=request.param)
    stop_backend(backend, logf)


def test_storm_is_acknowledged_fast_and_coalesced_into_one_round(storm_backend):
    backend, project = storm_backend.backend, storm_backend.project
    latencies = send_all(backend.url, storm_events(project, 1, created=450, updated=50))
    p50, p99 = statistics.median(latencies), percentile(latencies, 99)
    st = wait_rounds(backend, project, 1)
    print(
        f"\nstorm ({storm_backend.ls}): 500 events, {SENDERS} senders: ack p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(latencies):.1f} ms; rounds run: {st['rounds_run']} "
        f"({st['last_round'].get('reason')}; ok={st['last_round'].get('ok')}, "
        f"{st['last_round'].get('error') or ''})"
    )
    # the 100 ms target is a figure (bench/webhook_storm.py), not a timed assertion here
    assert st["rounds_run"] == 1
    assert st["last_round"]["reason"] == "460 new annotations"  # 450 + 10 updated ones
    if storm_backend.ls == "label-studio-down":
        # the round could not read Label Studio: it asks for itself again a minute later
        # (tests/ml_backend/test_faults.py follows that through); later bursts fold into it
        assert not st["last_round"]["ok"]
        assert st["pending"] == f"{RETRY_PREFIX}460 new annotations"
        return
    assert st["pending"] is None

    # a second burst while nothing runs: exactly one more round
    send_all(backend.url, storm_events(project, 1001, created=40, updated=0))
    st = wait_rounds(backend, project, 2)
    assert st["rounds_run"] == 2 and st["last_round"]["reason"] == "40 new annotations"

    # too few for a round: it waits, and says why
    send_all(backend.url, storm_events(project, 2001, created=TRAIN_EVERY - 5, updated=0))
    time.sleep(DEBOUNCE_S)
    st = project_status(backend, project)
    assert st["rounds_run"] == 2 and st["pending"] == f"5 of {TRAIN_EVERY} new annotations"
    print(f"rounds after a 500-event burst, a 40-event one and 5 events: {st['rounds_run']}")
