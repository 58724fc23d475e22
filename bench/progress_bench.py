"""Load time of the progress page (GET /) for a project of 1,000 small tasks.

Starts its own Label Studio (SQLite, temp dir) and a backend without a model
(without a model: the page only reads Label Studio), imports N tasks that
look as the backend leaves them (25 candidates with temperatures and prompts
in task data, a prediction) with an annotation on every third one, and times
GET /?project=ID: cold (`fresh=1`, every task read through the SDK page by
page and counted) and warm (the cached page).

    .venv/bin/python bench/progress_bench.py [--tasks 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml_backend import server  # noqa: E402
from ml_backend.demo.ls_server import LabelStudioServer, free_port, wait_http  # noqa: E402

TEMPERATURES = (0.01, 0.1, 0.3, 0.6, 0.9)


def task(i: int) -> dict:
    cands = [
        {
            "text": f"candidate {j} of task {i}",
            "logprob": -1.0 - j / 10,
            "temperature": TEMPERATURES[j % 5],
            "prompt": f"Q: what is shown? A: thing {i}, because",
            "model_version": "zero-shot",
        }
        for j in range(25)
    ]
    row = {
        "data": {
            "image": "/data/upload/none.png",
            "question": "what is shown?",
            "answer": f"thing {i}",
            "explanations": [f"candidate 0 of task {i}"],
            "candidates": [{"value": c["text"]} for c in cands],
            "candidates_meta": cands,
            "candidates_version": "zero-shot",
            "candidates_generated_at": "2026-01-01T00:00:00+00:00",
        },
        "predictions": [
            {
                "model_version": "zero-shot",
                "score": 0.3,
                "result": [choices([cands[0]["text"]])],
            }
        ],
    }
    if i % 3 == 0:
        row["annotations"] = [{"result": [choices([cands[i % 25]["text"]])]}]
    return row


def choices(values: list[str]) -> dict:
    return {
        "from_name": "rationales",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": values},
    }


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as resp:
        resp.read()
        assert resp.status == 200
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from label_studio_sdk import LabelStudio

    with tempfile.TemporaryDirectory(prefix="illume-progress-bench-") as tmp:
        ls = LabelStudioServer(Path(tmp) / "ls").start()
        backend = None
        try:
            client = LabelStudio(base_url=ls.url, api_key=ls.token)
            config = (REPO / "label_config" / "rationales.xml").read_text()
            project = client.projects.create(title="progress bench", label_config=config).id
            started = time.perf_counter()
            rows = [task(i) for i in range(args.tasks)]
            for start in range(0, len(rows), 250):
                client.projects.import_tasks(id=project, request=rows[start : start + 250])
            print(f"imported {args.tasks} tasks in {time.perf_counter() - started:.1f} s")

            port = free_port()
            env = {
                **os.environ,
                "LABEL_STUDIO_URL": ls.url,
                "LABEL_STUDIO_API_KEY": ls.token,
                "ILLUME_BACKEND_DIR": str(Path(tmp) / "backend"),
                "PYTHONPATH": str(REPO),
            }
            log = open(Path(tmp) / "backend.log", "wb")  # noqa: SIM115
            backend = server.start(port, env, log, app=server.NO_MODEL_APP)
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/health", 60, backend)
            cold = [get(f"{url}/?project={project}&fresh=1") for _ in range(args.repeat)]
            warm = [get(f"{url}/?project={project}") for _ in range(args.repeat)]
            print(
                f"progress page, {args.tasks} tasks: cold {statistics.median(cold):.2f} s "
                f"(median of {args.repeat}; min {min(cold):.2f}, max {max(cold):.2f}), "
                f"cached {statistics.median(warm) * 1000:.1f} ms"
            )
        finally:
            if backend is not None:
                backend.terminate()
                backend.wait(timeout=20)
            ls.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
