"""Faults against real processes: a real Label Studio, the backend
under gunicorn in a process group of its own, the real tuning job on the tiny model.

"kill -9 of the backend" kills the whole group with SIGKILL (gunicorn's master,
its worker and the tuning child), as a crashed container or machine loses them;
then the backend is started again on the same data folder. Rounds are asked for
with START_TRAINING webhooks sent straight to the backend; the tuning child is
held at chosen points through tests/ml_backend/tune_wrapper.py.

The first four tests share a project on the session's Label Studio and run in
file order, each a round further (the versions root grows by one complete
version per successful round); the last two share a Label Studio of their own,
which they stop and whose token they revoke. Helpers: faultlab.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest
from label_studio_sdk import LabelStudio

from tests.ml_backend.conftest import sdk_client, start_label_studio
from tests.ml_backend.faultlab import (
    annotations_of,
    http_code,
    mount_small_fs,
    newest,
    prepared_lab,
    serving,
    unresolved_versions,
    versions_state,
)
from tests.ml_backend.test_integration import all_tasks, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_versions_root(tmp_path_factory):
    """The versions root on an 8 MiB tmpfs (room for many tiny versions), when mount works."""
    root = tmp_path_factory.mktemp("versions-fs")
    mounted = mount_small_fs(root, "8m")
    yield root, mounted
    if mounted:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture(scope="module")
def lab(label_studio, ls_client, local_root, tiny_lm_dir, tmp_path_factory, small_versions_root):
    """The shared Label Studio; the versions root on the small file system."""
    root, _ = small_versions_root
    data_dir = tmp_path_factory.mktemp("fault-backend")
    lab = prepared_lab(
        label_studio,
        ls_client,
        local_root,
        tiny_lm_dir,
        data_dir,
        "illume faults",
        ILLUME_VERSIONS=str(root),
    )
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def own_label_studio(tmp_path_factory, local_root):
    """A Label Studio of this module's own: the tests below stop it and revoke its token."""
    server = start_label_studio(tmp_path_factory.mktemp("ls-faults"), local_root)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_lab(own_label_studio, local_root, tiny_lm_dir, tmp_path_factory):
    client = sdk_client(own_label_studio)
    data_dir = tmp_path_factory.mktemp("own-backend")
    lab = prepared_lab(
        own_label_studio, client, local_root, tiny_lm_dir, data_dir, "illume faults, own LS"
    )
    lab.client = client
    yield lab
    lab.stop()


def test_kill_during_tuning_then_the_round_runs_again(lab, ls_client):
    """kill -9 while the tuning child runs: nothing published, the round reruns after restart."""
    annotations = annotations_of(ls_client, lab.project)
    before, _ = versions_state(lab.versions)
    lab.control.write_text("hold")
    lab.train(lab.project)
    wait_for(lab.held.exists, 120, "the tuning child")
    lab.kill9()

    complete, _ = versions_state(lab.versions)
    assert complete == before  # nothing published, nothing half-visible
    assert annotations_of(ls_client, lab.project) == annotations

    lab.control.write_text("")
    lab.held.unlink()
    backend = lab.start()
    assert serving(backend, lab.project) == newest(before)
    wait_for(lambda: backend.get("/status")["counters"]["rounds_ok"] >= 1, 300, "the rerun round")
    status = backend.wait_idle(300)
    last = status["projects"][str(lab.project)]["last_round"]
    assert "cut short by a restart" in last["reason"] and last["ok"]
    complete, temp = versions_state(lab.versions)
    assert complete == [*before, last["version"]] and temp == []
    assert serving(backend, lab.project) == last["version"]
    assert unresolved_versions(ls_client, lab.project, lab.resolved) == {last["version"]}
    assert annotations_of(ls_client, lab.project) == annotations
    assert "was cut short; it runs again" in lab.log_text()


def test_kill_while_a_version_is_published(lab, ls_client):
    """kill -9 between the weights and the rename: a temp folder, never a half version."""
    annotations = annotations_of(ls_client, lab.project)
    before, _ = versions_state(lab.versions)
    assert before, "the previous test publishes the version that keeps serving here"
    lab.control.write_text("hold-publish")
    lab.train(lab.project)
    wait_for(lab.held.exists, 300, "the tuning child inside publish")
    complete, temp = versions_state(lab.versions)
    assert complete == before and len(temp) == 1  # the half-written one is a temp folder
    assert serving(lab.backend, lab.project) == before[-1]
    lab.kill9()

    complete, temp = versions_state(lab.versions)
    assert complete == before and len(temp) == 1  # left behind, never listed or served
    lab.control.write_text("")
    lab.held.unlink()
    backend = lab.start()
    assert serving(backend, lab.project) == before[-1]
    assert backend.get(f"/versions?project={lab.project}")["projects"][str(lab.project)] == before
    wait_for(lambda: backend.get("/status")["counters"]["rounds_ok"] >= 1, 300, "the rerun round")
    last = backend.wait_idle(300)["projects"][str(lab.project)]["last_round"]
    complete, temp = versions_state(lab.versions)
    assert complete == [*before, last["version"]]
    assert temp == []  # the next job cleans what a killed one left
    assert annotations_of(ls_client, lab.project) == annotations


def test_versions_disk_full(lab, ls_client, small_versions_root):
    """No space left on the versions root: the round fails cleanly and is reported; the
    previous version keeps serving; with space again the next round publishes.

    On the small tmpfs (root) the disk is really full; elsewhere the tuning child runs
    under RLIMIT_FSIZE (EFBIG, "File too large"), the nearest a user can get."""
    root, mounted = small_versions_root
    annotations = annotations_of(ls_client, lab.project)
    before, _ = versions_state(lab.versions)
    backend = lab.backend
    failed = backend.get("/status")["counters"]["rounds_failed"]
    filler = root / "filler"
    if mounted:
        stat = os.statvfs(root)
        free = stat.f_bavail * stat.f_frsize
        with open(filler, "wb") as f:  # leave 4 KiB: less than the tiny model's weights
            f.write(b"\0" * max(0, free - 4096))
        why = "No space left"
    else:
        lab.control.write_text("fsize:16384")  # the tiny model's weights are ~40 KiB
        why = "File too large"
    try:
        lab.train(lab.project)
        wait_for(
            lambda: backend.get("/status")["counters"]["rounds_failed"] > failed, 300, "failure"
        )
        status = backend.wait_idle(300)
        last = status["projects"][str(lab.project)]["last_round"]
        assert last["ok"] is False and why in last["error"], last
        assert why in status["counters"]["last_round_error"]
        complete, temp = versions_state(lab.versions)
        assert complete == before and temp == []
        assert backend.get("/health")["status"] == "UP"
        assert serving(backend, lab.project) == newest(before)
        task = all_tasks(ls_client, lab.project)[1]
        code, body = backend.post("/predict", {"tasks": [task], "project": f"{lab.project}.1"})
        assert code == 200 and body["results"][0]["model_version"] == newest(before)
    finally:
        filler.unlink(missing_ok=True)
        lab.control.write_text("")
    ok = backend.get("/status")["counters"]["rounds_ok"]
    lab.train(lab.project)
    wait_for(lambda: backend.get("/status")["counters"]["rounds_ok"] > ok, 300, "a good round")
    last = backend.wait_idle(300)["projects"][str(lab.project)]["last_round"]
    assert versions_state(lab.versions) == ([*before, last["version"]], [])
    assert annotations_of(ls_client, lab.project) == annotations


def test_kill_during_the_regeneration_after_a_round(lab, ls_client):
    """kill -9 while the new version writes candidates: after the restart every unresolved
    task gets candidates from the newest version; nothing half-written, nothing lost."""
    annotations = annotations_of(ls_client, lab.project)
    before, _ = versions_state(lab.versions)
    lab.train(lab.project)
    new = f"v{len(before) + 1:04d}"
    wait_for(
        lambda: f"candidates for 3 tasks with {new}" in lab.log_text(), 300, "the regeneration"
    )
    lab.kill9()
    complete, _ = versions_state(lab.versions)
    assert complete == [*before, new]
    assert unresolved_versions(ls_client, lab.project, lab.resolved) <= {newest(before), new}

    backend = lab.start()
    last = wait_for(
        lambda: (
            backend.get("/status")["jobs"]["pending"] == 0
            and (vs := versions_state(lab.versions)[0])
            and unresolved_versions(ls_client, lab.project, lab.resolved) == {vs[-1]}
            and vs[-1]
        ),
        300,
        "candidates of the newest version on every unresolved task",
    )
    backend.wait_idle(300)
    complete, temp = versions_state(lab.versions)
    assert complete[-1] == last and temp == []
    assert annotations_of(ls_client, lab.project) == annotations
    for t in all_tasks(ls_client, lab.project):
        if t["id"] not in lab.resolved:
            assert t["data"]["candidates"] and t["data"]["candidates_version"] == last


LS_DOWN_S = 30.0
"""How long Label Studio stays stopped (at least; until the held round has finished too)."""


def test_label_studio_stopped_mid_round(own_lab, own_label_studio):
    """Label Studio stops while a round tunes and stays down >= LS_DOWN_S: the backend
    answers /predict, /health and /status without a 5xx, the round publishes, and once
    Label Studio is back the new version's candidates reach every unresolved task
    without anyone calling the backend. A round asked for while Label Studio is down
    fails, is reported, and runs by itself once Label Studio is back."""
    lab, client, project = own_lab, own_lab.client, own_lab.project
    annotations = annotations_of(client, project)
    shown = all_tasks(client, project)[1]  # stored candidates: answered from the request
    lab.control.write_text("hold")
    lab.train(project)
    wait_for(lab.held.exists, 120, "the tuning child")
    own_label_studio.stop()
    down = time.monotonic()
    lab.control.write_text("")
    url, codes = lab.backend.url, []
    predict = {"tasks": [shown], "project": f"{project}.1"}
    unknown = {
        "tasks": [{"id": shown["id"], "data": {"candidates": []}}],
        "project": f"{project}.1",
    }
    while True:
        codes += [
            http_code(url + "/predict", predict),
            http_code(url + "/predict", unknown),
            http_code(url + "/health"),
            http_code(url + "/status"),
        ]
        status = lab.backend.get("/status")
        owed = status["projects"][str(project)]["candidates_wait_for_label_studio"]
        if owed and time.monotonic() - down >= LS_DOWN_S:
            break
        assert time.monotonic() - down < 600, "the round did not finish with Label Studio down"
        time.sleep(1)
    assert codes and set(codes) == {200}, sorted(set(codes))
    assert status["counters"]["rounds_ok"] == 1 and status["counters"]["rounds_failed"] == 0
    new = status["projects"][str(project)]["last_round"]["version"]
    assert versions_state(lab.versions) == ([new], [])
    lab.train(project)  # a round that cannot read Label Studio
    wait_for(lambda: lab.backend.get("/status")["counters"]["rounds_failed"] == 1, 60, "failure")
    status = lab.backend.get("/status")["projects"][str(project)]
    assert "ConnectError" in status["last_round"]["error"]
    assert status["pending"].startswith("again, Label Studio could not be read")
    assert http_code(url + "/predict", unknown) == 200 and http_code(url + "/health") == 200

    own_label_studio.start()  # same port, same data
    wait_for(
        lambda: unresolved_versions(client, project, lab.resolved) == {new},
        120,
        "the new version's candidates after Label Studio came back",
    )
    assert not lab.backend.get("/status")["projects"][str(project)][
        "candidates_wait_for_label_studio"
    ]
    wait_for(lambda: lab.backend.get("/status")["counters"]["rounds_ok"] == 2, 300, "the retry")
    status = lab.backend.wait_idle(300)["projects"][str(project)]
    assert status["last_round"]["ok"] and status["pending"] is None
    assert versions_state(lab.versions) == ([new, status["last_round"]["version"]], [])
    assert unresolved_versions(client, project, lab.resolved) == {status["last_round"]["version"]}
    assert annotations_of(client, project) == annotations
    assert "wait for Label Studio" in lab.log_text()


def test_revoked_token(own_lab, own_label_studio):
    """Label Studio's token is reset: clear errors, no 5xx, nothing written; a restart with
    the new token recovers."""
    lab, project, ls = own_lab, own_lab.project, own_label_studio
    req = urllib.request.Request(
        ls.url + "/api/current-user/reset-token/",
        method="POST",
        headers={"Authorization": f"Token {ls.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        token = json.loads(resp.read())["token"]
    assert token != ls.token
    client = LabelStudio(base_url=ls.url, api_key=token)
    client.projects.import_tasks(
        id=project,
        request=[
            {
                "image": "/data/local-files/?d=images/coffee.jpg",
                "question": "what is this?",
                "answer": "coffee",
                "item_id": "after-revoke",
                "candidates": [],
            }
        ],
    )
    before = {t["id"]: t["data"] for t in all_tasks(client, project)}
    annotations = annotations_of(client, project)
    fresh = next(t for t in all_tasks(client, project) if t["data"]["item_id"] == "after-revoke")
    backend = lab.backend
    failed = backend.get("/status")["counters"]["rounds_failed"]

    lab.train(project)
    wait_for(lambda: backend.get("/status")["counters"]["rounds_failed"] > failed, 60, "failure")
    body = {"tasks": [fresh], "project": f"{project}.1"}
    assert http_code(backend.url + "/predict", body) == 200
    code, answer = backend.post("/predict", body)
    assert code == 200 and answer["results"][0]["result"] == []
    assert http_code(backend.url + "/health") == 200
    status = backend.wait_idle()
    assert "HTTP 401" in status["counters"]["last_round_error"], status["counters"]
    assert "HTTP 401" in status["projects"][str(project)]["last_round"]["error"]
    assert status["projects"][str(project)]["pending"] is None  # the operator must act
    assert {t["id"]: t["data"] for t in all_tasks(client, project)} == before
    assert annotations_of(client, project) == annotations
    assert "HTTP 401" in lab.log_text()
    assert ls.token not in lab.log_text() and token not in lab.log_text()

    lab.stop()
    lab.env["LABEL_STUDIO_API_KEY"] = token
    backend = lab.start()
    serving(backend, project)  # the candidate scan
    wait_for(
        lambda: next(
            t for t in all_tasks(client, project) if t["data"]["item_id"] == "after-revoke"
        )["data"].get("candidates"),
        120,
        "candidates with the new token",
    )
    assert annotations_of(client, project) == annotations
