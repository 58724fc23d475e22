"""`illume import` against a real Label Studio, as docs/guide/import.md tells a team to run it:
an items JSONL outside Label Studio's file root -> a project with the interface, a storage,
the tasks with their references, the backend and its webhook -> candidates in every task."""

from __future__ import annotations

import json
import shutil

import pytest

from illume.cli import main
from tests.ml_backend.conftest import DEMO_IMAGES
from tests.ml_backend.test_integration import all_tasks, wait_for_candidates

pytestmark = pytest.mark.integration


def test_items_jsonl_becomes_a_project_with_candidates(
    tmp_path, monkeypatch, capsys, label_studio, ls_client, backend, local_root
):
    team = tmp_path / "team-data"
    team.mkdir()
    rows = []
    for i, (photo, q, a) in enumerate(
        [("chelsea.jpg", "what animal is this?", "cat"), ("coffee.jpg", "what drink?", "coffee")]
    ):
        shutil.copy(DEMO_IMAGES / photo, team / photo)
        rows.append(
            {"id": f"team-{i}", "image": photo, "question": q, "answer": a,
             "explanations": [f"reference {i}"]}
        )  # fmt: skip
    rows.append({"id": "team-gone", "image": "gone.jpg", "question": "q?", "answer": "a"})
    items = team / "items.jsonl"
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(local_root))
    argv = ["import", "--items", str(items), "--title", "team import", "--copy-images", "team"]
    argv += ["--backend-url", backend.url]

    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "2 tasks imported, 0 already there, 1 refused" in out, out
    assert "skipped team-gone" in err
    project = int(out.split()[1])

    tasks = wait_for_candidates(ls_client, project)
    assert {t["data"]["item_id"] for t in tasks} == {"team-0", "team-1"}
    for t in tasks:
        assert t["data"]["candidates"], t["data"]
        assert t["data"]["explanations"] == [f"reference {t['data']['item_id'][-1]}"]
    assert 'value="$candidates"' in ls_client.projects.get(id=project).label_config
    assert [s.path for s in ls_client.import_storage.local.list(project=project)] == [
        str(local_root / "team")
    ]
    assert [b.url for b in ls_client.ml.list(project=project)] == [backend.url]
    hooks = [w.url for w in ls_client.webhooks.list(project=project)]
    assert hooks.count(backend.url + "/webhook") == 1

    # a second run adds nothing, connects nothing twice
    assert main(argv) == 0
    assert "0 tasks imported, 2 already there" in capsys.readouterr().out
    assert len(all_tasks(ls_client, project)) == 2
    assert len(list(ls_client.ml.list(project=project))) == 1


def test_nothing_importable_is_an_error_before_any_call(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", raising=False)
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "x", "image": "gone.jpg", "question": "q", "answer": "a"}))
    assert main(["import", "--items", str(items)]) == 2
    err = capsys.readouterr().err
    assert "no item can be imported" in err and "Traceback" not in err
