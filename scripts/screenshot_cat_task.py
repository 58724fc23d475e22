"""docs/screenshots/cat-task.png: the demo's cat task as an annotator opens it.

Starts the demo's pieces (ml_backend.demo: Label Studio on SQLite, the backend
under gunicorn) in a throwaway folder, with a project holding only the demo's
cat tasks (so the backend samples two tasks, not forty), waits for their
candidates, opens the "what animal is this?" task in headless Chromium
(tests/browser/label_task.mjs, nothing submitted), takes the screenshot and
prints the candidates with their ROUGE-L against the references. Stops what
it started.

    python scripts/screenshot_cat_task.py [--out docs/screenshots/cat-task.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from illume.critique import RougeCritic
from illume.items import Item
from ml_backend.demo.__main__ import ensure_project, prepare_files, start_backend
from ml_backend.demo.ls_server import REPO, LabelStudioServer, free_port

CAT = "demo-chelsea"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshots" / "cat-task.png"))
    ap.add_argument("--timeout", type=float, default=1500, help="seconds to wait for candidates")
    args = ap.parse_args()
    from label_studio_sdk import LabelStudio

    work = Path(tempfile.mkdtemp(prefix="illume-cat-"))
    ls = LabelStudioServer(work / "label-studio", port=free_port(), local_files_root=work / "files")
    rows = [r for r in prepare_files(ls.local_files_root, 0) if r["item_id"].startswith(CAT)]
    backend = None
    try:
        ls.start()
        port = free_port()
        backend = start_backend(ls, port, work)
        client = LabelStudio(base_url=ls.url, api_key=ls.token)
        project = ensure_project(client, ls, rows, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + args.timeout
        while True:
            tasks = list(client.tasks.list(project=project, fields="all"))
            cat = next(t for t in tasks if t.data["item_id"] == CAT)
            if cat.data.get("candidates_version") or time.monotonic() > deadline:
                break
            time.sleep(5)
        texts = [c["value"] for c in cat.data.get("candidates") or []]
        if not texts:
            raise SystemExit(f"no candidates on the cat task: {cat.data.get('candidates_error')}")
        item = Item(
            CAT,
            "",
            cat.data["question"],
            cat.data["answer"],
            explanations=cat.data["explanations"],
        )
        env = {
            **os.environ,
            "LS_URL": ls.url,
            "LS_USER": ls.username,
            "LS_PASS": ls.password,
            "PROJECT": str(project),
            "TASK": str(cat.id),
            "CHOICE": texts[0],
            "SCREENSHOT": str(Path(args.out).resolve()),
            "SUBMIT": "0",
        }
        proc = subprocess.run(
            ["node", "label_task.mjs"],
            cwd=REPO / "tests" / "browser",
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode:
            raise SystemExit(proc.stderr[-2000:])
        preds = list(client.predictions.list(task=cat.id))
        ticked = [c for p in preds for r in p.result for c in r["value"].get("choices", [])]
        for text, score in zip(texts, RougeCritic().score(item, texts), strict=True):
            mark = "pre-ticked" if text in ticked else ""
            print(f"{score:.2f} {mark:10} {text}")
        print(json.dumps({"screenshot": args.out, "candidates": len(texts), "pre_ticked": ticked}))
    finally:
        if backend is not None and backend.poll() is None:
            os.killpg(backend.pid, signal.SIGTERM)
            backend.wait(timeout=30)
        ls.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
