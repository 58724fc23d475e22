"""One real browser session: open a task, tick a candidate, submit; the backend records it.

Needs Debian's chromium and playwright-core under tests/browser/ (both installed by
scripts/install_browser.sh); the test fails with that hint when they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ml_backend.test_integration import make_project, wait_for, wait_for_candidates

pytestmark = [pytest.mark.integration, pytest.mark.browser]

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require_browser() -> str:
    node = shutil.which("node")
    if not node or not Path(CHROMIUM).exists() or not (BROWSER_DIR / "node_modules").is_dir():
        pytest.fail(
            "browser test needs node, chromium and tests/browser/node_modules: "
            "run scripts/install_browser.sh",
            pytrace=False,
        )
    return node


def test_tick_and_submit_in_the_browser(ls_client, label_studio, backend, tmp_path):
    node = require_browser()
    project = make_project(ls_client, label_studio, "illume browser")
    ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)
    tasks = wait_for_candidates(ls_client, project)
    task = tasks[0]
    pick = task["data"]["candidates"][-1]["value"]  # the least likely: not pre-ticked
    shot = tmp_path / "task.png"
    env = {
        **os.environ,
        "LS_URL": label_studio.url,
        "LS_USER": label_studio.username,
        "LS_PASS": label_studio.password,
        "PROJECT": str(project),
        "TASK": str(task["id"]),
        "CHOICE": pick,
        "SCREENSHOT": str(shot),
        "CHROMIUM": CHROMIUM,
    }
    proc = subprocess.run(
        [node, "label_task.mjs"],
        cwd=BROWSER_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"ticked": True, "submitted": True, "annotation_status": 201}
    assert shot.stat().st_size > 10_000

    # Label Studio stored the tick ...
    anns = ls_client.tasks.get(id=task["id"]).annotations
    choices = [r["value"]["choices"] for a in anns for r in a["result"] if r["type"] == "choices"]
    assert any(pick in c for c in choices)
    # ... and the backend recorded the annotation event it was sent
    state = wait_for(
        lambda: backend.get("/status")["projects"].get(str(project), {}).get("new_annotations"),
        30,
        "the backend to record the annotation",
    )
    assert state == 1
    queue = (backend.data_dir / "queue" / "jobs.jsonl").read_text()
    assert any(
        json.loads(line).get("event", {}).get("annotation", {}).get("id") == anns[0]["id"]
        for line in queue.splitlines()
    )
