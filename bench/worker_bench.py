"""Sampling throughput with 1 and 2 `illume worker` processes on a real Redis.

One real Label Studio (easy-vqa-x images as local files), one redis-server and
the web backend in Redis mode (it only queues), then for each worker count N
in `--workers` (default 1 2), side by side on the same machine:

1. a new project of `--tasks` easy-vqa-x tasks without candidates;
2. N `illume worker --queues sample` processes, each limited to one core's
   threads (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1), wait until every one has
   loaded the model and registered with RQ;
3. /setup queues the scan; the workers split the tasks in batches of
   `--batch` (ILLUME_BATCH_ITEMS);
4. after every task has candidates (or `--timeout`), tasks/s is read from the
   tasks' own `candidates_generated_at` stamps: (n - 1) / (last - first), so
   model loading and queueing are outside the timer for every N alike.

Writes a JSON (`--out`) with tasks/s per N, the ratio to N=1, the load average
before and after each run and the settings. The embedded model by default
($ILLUME_MODEL picks another).

    .venv/bin/python bench/worker_bench.py [--tasks 24] [--workers 1 2] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml_backend import lsclient, server  # noqa: E402
from ml_backend.demo.ls_server import LabelStudioServer, free_port, wait_http  # noqa: E402
from ml_backend.demo.redis_server import RedisServer, redis_server_bin  # noqa: E402

ONE_CORE = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def fresh_row(item: dict) -> dict:
    return {
        "image": f"/data/local-files/?d={item['image']}",
        "question": item["question"],
        "answer": item["answer"],
        "item_id": item["id"],
        "candidates": [],
    }


def post(url: str, body: Any) -> Any:
    import urllib.request

    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read() or b"null")


def stamps(client, project: int) -> list[float]:
    """When each task of the project got its candidates (seconds since the epoch)."""
    out = []
    for page in lsclient.iter_task_pages(client, project):
        for t in page:
            at = t["data"].get("candidates_generated_at")
            if at and t["data"].get("candidates"):
                out.append(datetime.fromisoformat(at).timestamp())
    return sorted(out)


def start_workers(n: int, env: dict, tmp: Path, conn) -> list[subprocess.Popen]:
    from rq import Worker

    procs = []
    for i in range(n):
        wenv = {**env, "ILLUME_BACKEND_DIR": str(tmp / f"worker-{n}-{i}")}
        with open(tmp / f"worker-{n}-{i}.log", "wb") as log:
            argv = [sys.executable, "-m", "illume.cli", "worker", "--queues", "sample"]
            procs.append(
                subprocess.Popen(
                    [*argv, "--name", f"bench-{n}-{i}"],
                    cwd=REPO,
                    env=wenv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 900
    while len(Worker.all(connection=conn)) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"the workers did not start (logs in {tmp})")
        time.sleep(1)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_one(n: int, args, ls, client, items, env, tmp, conn, web_url) -> dict:
    config = (REPO / "label_config" / "rationales.xml").read_text()
    project = client.projects.create(title=f"{n} workers", label_config=config).id
    client.import_storage.local.create(
        project=project, path=str((args.data / "images").resolve()), title="images"
    )
    client.projects.import_tasks(id=project, request=[fresh_row(it) for it in items])
    procs = start_workers(n, env, tmp, conn)
    load_before = os.getloadavg()
    try:
        post(web_url + "/setup", {"project": f"{project}.0", "schema": config})
        deadline = time.monotonic() + args.timeout
        done: list[float] = []
        while time.monotonic() < deadline:
            done = stamps(client, project)
            print(f"{n} worker(s): {len(done)}/{len(items)} tasks", flush=True)
            if len(done) >= len(items):
                break
            time.sleep(5)
    finally:
        stop(procs)
    span = done[-1] - done[0] if len(done) > 1 else 0.0
    return {
        "workers": n,
        "tasks_done": len(done),
        "span_s": round(span, 1),
        "tasks_per_s": round((len(done) - 1) / span, 4) if span else None,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=REPO / "data" / "easy-vqa-x")
    ap.add_argument("--tasks", type=int, default=24, help="tasks to sample per worker count")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=2, help="tasks per sampling job")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per worker count")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "bench" / "workers.json")
    args = ap.parse_args()
    if not (args.data / "items.jsonl").exists():
        print(f"{args.data} is missing: build it with `illume data easy-vqa-x`", file=sys.stderr)
        return 2
    binary = redis_server_bin()
    if not binary:
        print("redis-server is missing: bash scripts/install_redis.sh", file=sys.stderr)
        return 2
    from label_studio_sdk import LabelStudio
    from redis import Redis

    with open(args.data / "items.jsonl", encoding="utf-8") as f:
        items = [json.loads(line) for line in islice(f, args.tasks * len(args.workers))]
    tmp = Path(tempfile.mkdtemp(prefix="illume-worker-bench-"))
    ls = LabelStudioServer(tmp / "ls", local_files_root=args.data.resolve())
    redis = RedisServer(binary)
    procs: list[subprocess.Popen] = []
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "runs": []}
    out["settings"] = {
        "tasks": args.tasks,
        "batch": args.batch,
        "threads_per_worker": 1,
        "model": os.environ.get("ILLUME_MODEL", "embedded"),
    }
    try:
        ls.start()
        redis.start()
        conn = Redis.from_url(redis.url)
        client = LabelStudio(base_url=ls.url, api_key=ls.token, timeout=600)
        env = {
            **os.environ,
            **ONE_CORE,
            "PYTHONPATH": str(REPO),
            "LABEL_STUDIO_URL": ls.url,
            "LABEL_STUDIO_API_KEY": ls.token,
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(args.data.resolve()),
            "ILLUME_REDIS_URL": redis.url,
            "ILLUME_VERSIONS": str(tmp / "versions"),
            "ILLUME_BATCH_ITEMS": str(args.batch),
            "ILLUME_TRAIN_EVERY": "0",
        }
        port = free_port()
        web_url = f"http://127.0.0.1:{port}"
        with open(tmp / "web.log", "wb") as log:
            web = server.start(port, {**env, "ILLUME_BACKEND_DIR": str(tmp / "web")}, log)
        procs.append(web)
        wait_http(web_url + "/health", 120, web)
        for i, n in enumerate(args.workers):
            chunk = items[i * args.tasks : (i + 1) * args.tasks]
            out["runs"].append(run_one(n, args, ls, client, chunk, env, tmp, conn, web_url))
            print(json.dumps(out["runs"][-1]), flush=True)
        base = out["runs"][0]["tasks_per_s"]
        for run in out["runs"]:
            run["ratio_to_first"] = round(run["tasks_per_s"] / base, 2) if base else None
    finally:
        stop(procs)
        redis.stop()
        ls.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
