"""Running the backend as a real process that a test can kill -9 and start again.

For tests/ml_backend/test_faults.py: the backend under gunicorn in a process
group of its own (conftest.start_backend), the whole group killed with SIGKILL,
as a crashed container loses master, worker and tuning child at once; and the
checks those tests share (versions root, annotations, answers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from illume.versions import list_versions
from tests.ml_backend.conftest import Backend, start_backend
from tests.ml_backend.test_integration import all_tasks, make_project, tick, wait_for

VERSION = re.compile(r"^v\d{4}$")


class Lab:
    """One backend that a test may kill -9 and start again on the same data folder."""

    def __init__(self, label_studio, local_root, data_dir: Path, env: dict[str, str]):
        self.label_studio = label_studio
        self.local_root = local_root
        self.data_dir = data_dir
        self.env = env
        self.backend: Backend | None = None
        self._logf = None
        self.starts = 0

    @property
    def control(self) -> Path:
        return self.data_dir / "fake-tune-control"

    @property
    def held(self) -> Path:
        return self.data_dir / "fake-tune-control.held"

    def start(self) -> Backend:
        log = self.data_dir / "backend.log"
        if log.exists():  # start_backend truncates it: keep each run's log
            log.rename(self.data_dir / f"backend.{self.starts}.log")
        self.starts += 1
        self.backend, self._logf = start_backend(
            self.label_studio, self.local_root, self.data_dir, self.env, new_session=True
        )
        return self.backend

    def kill9(self) -> None:
        """SIGKILL to the backend's whole process group; wait until its processes are gone."""
        proc = self.backend.proc
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self._logf.close()
        wait_for(lambda: not group_alive(proc.pid), 30, "the process group to die")

    def stop(self) -> None:
        if self.backend is not None and self.backend.proc.poll() is None:
            os.killpg(self.backend.proc.pid, signal.SIGTERM)
            try:
                self.backend.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.backend.proc.pid, signal.SIGKILL)
            self._logf.close()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob("*.log")))

    def train(self, project: int) -> None:
        status, _ = self.backend.post(
            "/webhook", {"action": "START_TRAINING", "project": {"id": project}}
        )
        assert status == 201


def group_alive(pgid: int) -> bool:
    """Is any process of this process group still running (zombies count as gone)?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def mount_small_fs(path: Path, size: str) -> bool:
    """A tmpfs of `size` at `path` when this user may mount (root); False otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
    )
    return done.returncode == 0


def versions_state(root: Path) -> tuple[list[str], list[str]]:
    """(complete versions, leftover temp folders); fails on anything half-written."""
    complete, temp = [], []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name.startswith(".tmp-"):
            temp.append(entry.name)  # never served: list_versions skips them
        elif VERSION.match(entry.name):
            assert (entry / "metrics.json").is_file(), f"{entry.name} has no metrics.json"
            assert (entry / "manifest.jsonl").is_file(), f"{entry.name} has no manifest.jsonl"
            json.loads((entry / "metrics.json").read_text())
            complete.append(entry.name)
        else:
            pytest.fail(f"unexpected entry in the versions root: {entry.name}")
    assert [p.name for p in list_versions(root)] == complete
    return complete, temp


def annotations_of(client, project: int) -> str:
    """Every annotation of the project, as Label Studio holds it (to compare before/after)."""
    out = {}
    for t in all_tasks(client, project):
        anns = [
            {k: a[k] for k in ("id", "result", "completed_by", "was_cancelled")}
            for a in client.annotations.list(id=t["id"])
            for a in [json.loads(json.dumps(a.model_dump(), default=str))]
        ]
        out[t["id"]] = anns
    return json.dumps(out, sort_keys=True)


def unresolved_versions(client, project: int, resolved: set[int]) -> set[str | None]:
    """The candidates_version of every task nobody has resolved."""
    return {
        t["data"].get("candidates_version")
        for t in all_tasks(client, project)
        if t["id"] not in resolved
    }


def newest(versions: list[str]) -> str:
    """The version that serves when these are published."""
    return versions[-1] if versions else "zero-shot"


def serving(backend: Backend, project: int) -> str:
    status, body = backend.post("/setup", {"project": f"{project}.1"})
    assert status == 200
    return body["model_version"]


def prepared_lab(
    label_studio, client, local_root, tiny_lm_dir, data_dir: Path, title: str, **env: str
) -> Lab:
    """A started backend and a project with zero-shot candidates and one ticked task."""
    env = {"ILLUME_LM": str(tiny_lm_dir), "ILLUME_ENCODER": "tiny", **env}
    lab = Lab(label_studio, local_root, data_dir, env)
    lab.start()
    project = make_project(client, label_studio, title)
    serving(lab.backend, project)  # queues the candidate scan
    wait_for(
        lambda: all(t["data"].get("candidates_version") for t in all_tasks(client, project)),
        120,
        "zero-shot candidates",
    )
    first = all_tasks(client, project)[0]
    client.annotations.create(
        id=first["id"], result=[tick([first["data"]["candidates"][0]["value"]])]
    )
    lab.project, lab.resolved = project, {first["id"]}
    if "ILLUME_VERSIONS" in env:
        lab.versions = Path(env["ILLUME_VERSIONS"]) / str(project)
    else:
        lab.versions = data_dir / "projects" / str(project) / "versions"
    return lab


def http_code(url: str, body: dict | None = None) -> int:
    """The status of one request (5xx included), or 0 when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0
