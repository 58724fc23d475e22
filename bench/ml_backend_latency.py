"""Latency of the backend's /setup and /predict (p50/p95 over N calls), idle and busy,
and the candidate-generation throughput of its background job.

Run against a live backend + Label Studio, e.g. the demo's:

    .venv/bin/python -m ml_backend.demo &          # wait for "Ready"
    .venv/bin/python bench/ml_backend_latency.py --project 1

"busy": the bench imports --busy-tasks copies of existing tasks (without
candidates) and asks /setup to scan, so the background job samples with the
real model while the calls are timed. Throughput = tasks the job finished per
second of its own time (from /status).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def call(url: str, body: dict | None = None) -> tuple[float, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as resp:
        out = json.loads(resp.read())
    return (time.perf_counter() - started) * 1000, out


def percentiles(ms: list[float]) -> str:
    qs = statistics.quantiles(ms, n=100)
    return f"p50 {statistics.median(ms):.1f} ms, p95 {qs[94]:.1f} ms, max {max(ms):.1f} ms"


def timed(backend: str, project: int, task: dict, schema: str, n: int) -> dict[str, str]:
    setup = [
        call(f"{backend}/setup", {"project": f"{project}.1", "schema": schema})[0] for _ in range(n)
    ]
    predict = [
        call(f"{backend}/predict", {"tasks": [task], "project": f"{project}.1"})[0]
        for _ in range(n)
    ]
    return {"setup": percentiles(setup), "predict": percentiles(predict)}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", default="http://127.0.0.1:9090")
    ap.add_argument("--label-studio", default="http://127.0.0.1:8080")
    ap.add_argument("--token-file", default=str(REPO / ".demo/label-studio/.illume-token"))
    ap.add_argument("--project", type=int, required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--busy-tasks", type=int, default=8)
    args = ap.parse_args()

    from label_studio_sdk import LabelStudio

    client = LabelStudio(
        base_url=args.label_studio, api_key=Path(args.token_file).read_text().strip()
    )
    schema = (REPO / "label_config" / "rationales.xml").read_text()
    tasks = [t.model_dump(mode="json") for t in client.tasks.list(project=args.project)]
    task = next(t for t in tasks if t["data"].get("candidates"))
    print(f"idle ({args.n} calls each): {timed(args.backend, args.project, task, schema, args.n)}")

    if args.busy_tasks:
        before = call(f"{args.backend}/status")[1]["counters"]
        rows = [
            {k: t["data"][k] for k in ("image", "question", "answer", "item_id")}
            | {"candidates": []}
            for t in tasks[: args.busy_tasks]
        ]
        client.projects.import_tasks(id=args.project, request=rows)
        time.sleep(31)  # /setup scans a project at most every 30 s
        call(f"{args.backend}/setup", {"project": f"{args.project}.1"})
        time.sleep(1)
        busy = timed(args.backend, args.project, task, schema, args.n)
        running = call(f"{args.backend}/status")[1]["jobs"]["running"]
        print(f"busy, job running={running!r} ({args.n} calls each): {busy}")
        deadline = time.time() + 900
        while time.time() < deadline:
            m = call(f"{args.backend}/status")[1]
            if m["jobs"]["running"] is None and m["jobs"]["pending"] == 0:
                break
            time.sleep(2)
        after = m["counters"]
        n = after["tasks_generated"] - before["tasks_generated"]
        secs = after["generate_seconds"] - before["generate_seconds"]
        cands = after["candidates_written"] - before["candidates_written"]
        print(
            f"background job: {n} tasks, {cands} candidates in {secs:.1f} s "
            f"= {n / secs:.3f} tasks/s, {cands / secs:.1f} candidates/s "
            f"(sampling + writing to Label Studio)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
