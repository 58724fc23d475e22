"""The progress page in headless Chromium, its numbers against a project with known annotations.

Also writes the screenshot docs/screenshots/progress.png shows (set
ILLUME_SCREENSHOT_DIR to keep it; the test itself writes into its tmp dir).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from illume.envconfig import from_env
from ml_backend import lsclient
from ml_backend.demo.settings import TestSwitches
from tests.ml_backend.test_browser import BROWSER_DIR, CHROMIUM, require_browser
from tests.ml_backend.test_integration import (
    make_project,
    tick,
    wait_for,
    wait_for_candidates,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_progress_page_shows_the_projects_figures(ls_client, label_studio, backend, tmp_path):
    node = require_browser()
    project = make_project(ls_client, label_studio, "illume progress")
    ml = ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)
    first, second, *_ = sorted(wait_for_candidates(ls_client, project), key=lambda t: t["id"])
    # references on the first task: its first candidate, so the critic accepts exactly it
    shown = [c["value"] for c in first["data"]["candidates"]]
    ls_client.tasks.update(id=first["id"], data={**first["data"], "explanations": [shown[0]]})
    ls_client.annotations.create(id=first["id"], result=[tick([shown[0]])])
    ls_client.annotations.create(id=second["id"], result=[tick(["none of these fits"])])
    n_second = len(second["data"]["candidates"])
    wait_for(
        lambda: len([t for t in lsclient.iter_tasks(ls_client, project) if t["annotations"]]) == 2,
        what="both annotations",
    )

    shot = tmp_path / "progress.png"
    page = read_page(node, backend.url, project, shot)
    assert page["status"] == 200 and page["plots"] >= 3
    assert (page["tasks"], page["annotated"], page["none_fits"]) == ("4", "2", "1")
    assert page["resolved"] == "1 (25.0%)"
    # one version showed every candidate: 1 of (first's + second's) ticked
    (version,) = page["versions"]
    shown_total = len(shown) + n_second
    assert version[:4] == ["zero-shot", str(shown_total), "1", f"{100 / shown_total:.1f}%"]
    ((name, annotations, *_),) = page["annotators"]
    assert name == label_studio.username and annotations == "2"
    # the critic on the first task: accepts the reference (ticked), rejects the others
    (agreement,) = page["agreement"]
    assert agreement[:5] == [str(len(shown)), "1", "0", "0", str(len(shown) - 1)]
    assert agreement[5:] == ["100.0%", "100.0%", "1.00"]
    assert shot.stat().st_size > 20_000
    assert page["rounds"] == []
    # after a round, its row: the rationales and the items it was tuned on, as numbers
    ls_client.ml.train(id=ml.id)
    wait_for(lambda: backend.get("/status")["counters"]["rounds_ok"] >= 1, 180, "a round")
    (round_row,) = read_page(node, backend.url, project, tmp_path / "after.png")["rounds"]
    assert round_row[6] == "1" and round_row[7].isdigit(), round_row
    keep = from_env(TestSwitches).screenshot_dir
    if keep:
        shutil.copy(shot, keep / "progress.png")


def read_page(node: str, url: str, project: int, shot) -> dict:
    """The progress page as Chromium shows it: its figures and tables, and a screenshot."""
    env = {
        **os.environ,
        "URL": f"{url}/?project={project}&fresh=1",
        "PROJECT": str(project),
        "SCREENSHOT": str(shot),
        "CHROMIUM": CHROMIUM,
    }
    proc = subprocess.run(
        [node, "progress_page.mjs"],
        cwd=BROWSER_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
