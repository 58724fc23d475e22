"""Webhook acknowledgement latency under a storm: 500 annotation events from 8 senders.

Starts the backend under gunicorn (the default model, Label Studio unreachable so
that only the backend is timed), sends the storm, prints p50/p99/max against the
100 ms target and the rounds the burst gave (one, coalesced). The test
tests/ml_backend/test_storm.py checks the behaviour; this prints the figures.

    .venv/bin/python bench/webhook_storm.py [--events 500] [--senders 8]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from ml_backend import server

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def post(url: str, body: dict) -> float:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    return (time.perf_counter() - started) * 1000


def storm(url: str, events: int, senders: int) -> list[float]:
    bodies = [
        {
            "action": "ANNOTATION_CREATED",
            "project": {"id": 7},
            "task": {"id": 1, "project": 7},
            "annotation": {"id": i + 1, "task": 1, "result": []},
        }
        for i in range(events)
    ]
    ms: list[float] = []
    lock = threading.Lock()

    def send(share: list[dict]) -> None:
        for body in share:
            took = post(url + "/webhook", body)
            with lock:
                ms.append(took)

    threads = [threading.Thread(target=send, args=(bodies[i::senders],)) for i in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--senders", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="illume-storm-") as tmp:
        env = {
            **os.environ,
            "LABEL_STUDIO_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "LABEL_STUDIO_API_KEY": "unreachable",
            "ILLUME_BACKEND_DIR": tmp,
            "ILLUME_TRAIN_EVERY": "10",
            "ILLUME_ROUND_DEBOUNCE_S": "2",
        }
        proc = server.start(port, env, subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if get(url + "/health")["model_state"] != "loading":
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            ms = storm(url, args.events, args.senders)
            # the worker drains the queue, the debounce settles: one round (it fails, as
            # Label Studio is away), and no second one
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                status = get(url + "/status")
                if status["jobs"]["pending"] == 0 and status["jobs"]["running"] is None:
                    break
                time.sleep(0.5)
            time.sleep(5)
            rounds = get(url + "/status")["projects"].get("7", {}).get("rounds_run")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    p99 = statistics.quantiles(ms, n=100)[98]
    print(
        f"{args.events} webhooks from {args.senders} senders: ack p50 {statistics.median(ms):.1f} "
        f"ms, p99 {p99:.1f} ms (target < 100 ms: {'met' if p99 < 100 else 'missed'}), "
        f"max {max(ms):.1f} ms; rounds run: {rounds}; load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
