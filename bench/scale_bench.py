"""A 10,000-task project in a real Label Studio: what the backend costs at that scale.

Starts its own Label Studio (SQLite, temp dir, easy-vqa-x images served as
local files) and the backend under gunicorn, as `illume serve` runs it, then:

1. imports 1,000 easy-vqa-x tasks that look as the backend leaves them
   (candidates in task data and a prediction from version `zero-shot`), all
   but `--warm` of them, lets the backend stream over the project (/setup
   queues the candidates pass, which reads every page, samples the few
   without candidates and skips the rest) and reads its RSS;
2. imports 9,000 more, lets it stream over all 10,000 and reads the RSS
   again (same process);
3. imports `--fresh` tasks without candidates, /setup starts a pass that
   samples them; over `--window` seconds from the first sampled task it
   counts the tasks that got candidates (read back from Label Studio) and
   times /predict requests of 10 tasks (stored candidates, as Label Studio
   sends them) and /setup;
4. times Label Studio's task list: the data manager's first page
   (GET /api/tasks/?page=1&page_size=30) and a walk over all pages as the
   backend reads them (100 tasks per page, fields=all).

The sampling process runs with OMP_NUM_THREADS=1 and MKL_NUM_THREADS=1 (torch
then uses one intra-op thread): one core's threads per worker.
Sampling with 1 and 2 `illume worker` processes on Redis is
bench/worker_bench.py. Writes a JSON (`--out`) with the figures, the load average before and
after, and the settings.

    .venv/bin/python bench/scale_bench.py [--tasks 10000] [--window 120] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml_backend import lsclient, server  # noqa: E402
from ml_backend.demo.ls_server import LabelStudioServer, free_port, wait_http  # noqa: E402

VERSION = "zero-shot"
TEMPERATURES = (0.01, 0.1, 0.3, 0.6, 0.9)
ONE_CORE = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def choices(values: list[str]) -> dict:
    return {"from_name": "rationales", "to_name": "image", "type": "choices",
            "value": {"choices": values}}  # fmt: skip


def task_row(item: dict, done: bool) -> dict:
    """An easy-vqa-x item as a task; `done`: as the backend leaves it (candidates, prediction)."""
    data = {
        "image": f"/data/local-files/?d={item['image']}",
        "question": item["question"],
        "answer": item["answer"],
        "item_id": item["id"],
        "split": item.get("split", "train"),
        "candidates": [],
    }
    if not done:
        return {"data": data}
    cands = [
        {
            "text": f"the shape is {item['answer']} and it has a colour, sample {j}",
            "rank": 0.5 - j / 100,
            "logprob": -1.0 - j / 10,
            "temperature": TEMPERATURES[j % 5],
            "prompt": f"Q: {item['question']} A: {item['answer']}, because",
            "model_version": VERSION,
        }
        for j in range(15)
    ]
    data.update(
        candidates=[{"value": c["text"]} for c in cands],
        candidates_meta=cands,
        candidates_version=VERSION,
        candidates_generated_at="2026-01-01T00:00:00+00:00",
    )
    pred = {"model_version": VERSION, "score": 0.4, "result": [choices([cands[0]["text"]])]}
    return {"data": data, "predictions": [pred]}


def import_rows(client, project: int, rows: list[dict], chunk: int = 500) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), chunk):
        client.projects.import_tasks(id=project, request=rows[start : start + chunk])
    return time.perf_counter() - started


def http(url: str, body: Any = None, timeout: float = 120) -> tuple[float, Any]:
    """(seconds, JSON answer) of a GET, or a POST when `body` is given."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return time.perf_counter() - started, json.loads(raw or b"null")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pid(master: int) -> int:
    """The gunicorn worker (the process that holds the model and streams the tasks)."""
    return int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])


def wait_idle(url: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, st = http(url + "/status")
        if st["jobs"]["pending"] == 0 and st["jobs"]["running"] is None:
            return st
        time.sleep(1)
    raise TimeoutError("backend still busy")


def stream_pass(url: str, project: int, last_setup: float) -> tuple[float, float]:
    """/setup (after the backend's 30 s throttle), wait for the pass; (when, seconds)."""
    time.sleep(max(0.0, last_setup + 31 - time.monotonic()))
    at = time.monotonic()
    http(url + "/setup", {"project": f"{project}.0"})
    time.sleep(1)
    wait_idle(url)
    return at, time.monotonic() - at


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(pct(values, 95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def count_sampled(client, project: int, after: int) -> int:
    """Tasks past id `after` (the fresh ones) that show candidates or an error."""
    pages = lsclient.iter_task_pages(client, project, after=after)
    return sum(1 for page in pages for t in page if t["data"].get("candidates_version"))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=REPO / "data" / "easy-vqa-x",
                    help="easy-vqa-x (`illume data easy-vqa-x` builds it if missing)")  # fmt: skip
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--first", type=int, default=1000, help="tasks at the first RSS reading")
    ap.add_argument("--warm", type=int, default=4, help="of --first, tasks sampled at once")
    ap.add_argument("--fresh", type=int, default=60, help="tasks without candidates to sample")
    ap.add_argument("--window", type=float, default=120, help="seconds of generation counted")
    ap.add_argument("--predicts", type=int, default=200, help="/predict requests in the window")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "bench" / "scale.json")
    args = ap.parse_args()
    if not (args.data / "items.jsonl").exists():
        subprocess.run(
            [sys.executable, "-m", "illume.cli", "data", "easy-vqa-x", "--out", str(args.data)],
            check=True,
            cwd=REPO,
        )
    with open(args.data / "items.jsonl", encoding="utf-8") as f:
        items = [json.loads(line) for line in islice(f, args.tasks + args.fresh)]
    done_items, fresh_items = items[: args.tasks], items[args.tasks :]
    load_before = os.getloadavg()
    from label_studio_sdk import LabelStudio

    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before]},
        "settings": {**{k: v for k, v in vars(args).items() if k not in ("data", "out")},
                     "threads_per_worker": 1, "model": os.environ.get("ILLUME_MODEL", "embedded")},
    }  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="illume-scale-bench-"))
    ls = LabelStudioServer(tmp / "ls", local_files_root=args.data.resolve())
    procs: list[subprocess.Popen] = []
    try:
        ls.start()
        client = LabelStudio(base_url=ls.url, api_key=ls.token, timeout=600)
        config = (REPO / "label_config" / "rationales.xml").read_text()
        project = client.projects.create(title="scale bench", label_config=config).id
        client.import_storage.local.create(
            project=project, path=str((args.data / "images").resolve()), title="images"
        )
        # a few tasks without candidates first: the first pass samples them, so both RSS
        # readings come after sampling has allocated what it needs
        rows = [task_row(it, done=False) for it in done_items[: args.warm]]
        rows += [task_row(it, done=True) for it in done_items[args.warm : args.first]]
        out["import_s"] = {"first": round(import_rows(client, project, rows), 1)}
        print(f"imported {args.first} tasks in {out['import_s']['first']} s", flush=True)

        env = {
            **os.environ,
            **ONE_CORE,
            "PYTHONPATH": str(REPO),
            "LABEL_STUDIO_URL": ls.url,
            "LABEL_STUDIO_API_KEY": ls.token,
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(args.data.resolve()),
            "ILLUME_BACKEND_DIR": str(tmp / "backend"),
            "ILLUME_TRAIN_EVERY": "0",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(tmp / "backend.log", "wb")  # noqa: SIM115 (closed with the process)
        backend = server.start(port, env, log)
        procs.append(backend)
        wait_http(url + "/health", 120, backend)
        started = time.monotonic()
        while http(url + "/health")[1]["model_state"] != "ready":
            if time.monotonic() - started > 900:
                raise TimeoutError("the model did not load")
            time.sleep(1)
        out["model_ready_s"] = round(time.monotonic() - started, 1)
        pid = worker_pid(backend.pid)

        last, took = stream_pass(url, project, -1e9)
        out["rss_mb"] = {str(args.first): round(rss_mb(pid), 1)}
        out["pass_s"] = {str(args.first): round(took, 1)}
        print(f"{args.first} tasks: pass {took:.1f} s, RSS {out['rss_mb']}", flush=True)

        rows = [task_row(it, done=True) for it in done_items[args.first :]]
        out["import_s"]["rest"] = round(import_rows(client, project, rows), 1)
        del rows
        last, took = stream_pass(url, project, last)
        out["rss_mb"][str(args.tasks)] = round(rss_mb(pid), 1)
        out["pass_s"][str(args.tasks)] = round(took, 1)
        first_rss = out["rss_mb"][str(args.first)]
        out["rss_growth_pct"] = round(100 * (out["rss_mb"][str(args.tasks)] / first_rss - 1), 2)
        print(f"{args.tasks} tasks: pass {took:.1f} s, RSS {out['rss_mb']}", flush=True)

        # Label Studio's task list at 10k tasks (before fresh tasks and writes)
        h = {"Authorization": f"Token {ls.token}"}
        first_page = []
        for _ in range(5):
            req = urllib.request.Request(
                f"{ls.url}/api/tasks/?project={project}&page=1&page_size=30", headers=h
            )
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, timeout=120) as resp:
                resp.read()
            first_page.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        walked, last_done_id, sent = 0, 0, []
        every = max(1, args.tasks // 200)  # 200 tasks to send in /predict requests
        pages = 0
        for page in lsclient.iter_task_pages(client, project):
            pages += 1
            walked += len(page)
            last_done_id = max(last_done_id, *(t["id"] for t in page))
            picked = (t for t in page if t["id"] % every == 0)
            sent += [{k: t[k] for k in ("id", "data", "project")} for t in picked]
        walk = time.perf_counter() - t0
        out["label_studio_task_list"] = {
            "first_page_30_median_ms": round(statistics.median(first_page) * 1000, 1),
            "walk_all_pages_s": round(walk, 1),
            "walk_pages": pages,
            "walk_tasks": walked,
        }
        print(f"task list: {out['label_studio_task_list']}", flush=True)

        # generation while /predict and /setup are timed
        import_rows(client, project, [task_row(it, done=False) for it in fresh_items])
        time.sleep(max(0.0, last + 31 - time.monotonic()))
        http(url + "/setup", {"project": f"{project}.0"})
        deadline = time.monotonic() + 1800
        while count_sampled(client, project, last_done_id) == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("no task sampled")
            time.sleep(2)
        start_n, window_start = count_sampled(client, project, last_done_id), time.monotonic()
        predict, setup = [], []
        gap = args.window / max(1, args.predicts)
        rng = random.Random(1)
        while time.monotonic() - window_start < args.window:
            body = {
                "tasks": rng.sample(sent, k=10),
                "project": f"{project}.0",
                "label_config": config,
            }
            predict.append(http(url + "/predict", body)[0])
            setup.append(http(url + "/setup", {"project": f"{project}.0"})[0])
            time.sleep(gap)
        window = time.monotonic() - window_start
        end_n = count_sampled(client, project, last_done_id)
        out["generation"] = {
            "workers": 1,
            "queue": "in-process",
            "window_s": round(window, 1),
            "tasks": end_n - start_n,
            "tasks_per_s": round((end_n - start_n) / window, 4),
        }
        out["predict_10_tasks_while_generating"] = ms(predict)
        out["setup_while_generating"] = ms(setup)
        print(f"generation {out['generation']}", flush=True)
        print(f"/predict (10 tasks) {out['predict_10_tasks_while_generating']}", flush=True)
        print(f"/setup {out['setup_while_generating']}", flush=True)
        out["rss_mb"]["after_generation"] = round(rss_mb(pid), 1)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        ls.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
