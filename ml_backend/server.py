"""The backend under gunicorn: the one place its command line is written.

`illume serve` replaces its own process with it (`serve`); the demo, the benchmarks and
the tests start it as a child (`start`); docker/Dockerfile runs `illume serve`. One worker
process holds the model and the job queue (two would load the model twice and race on
the queue), its threads answer requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
APP = "ml_backend.wsgi:app"
NO_MODEL_APP = "ml_backend.testing.wsgi_no_model:app"
"""The same backend without a model, for benchmarks of pages that only read Label Studio."""


def gunicorn_argv(
    host: str, port: int, threads: int = 8, timeout: int = 120, app: str = APP
) -> list[str]:
    """gunicorn's arguments: one worker process, several threads, access log on stdout."""
    return [
        "--bind",
        f"{host}:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        app,
    ]


def serve(host: str = "127.0.0.1", port: int = 9090, threads: int = 8) -> None:
    """Replace this process with gunicorn serving the backend (blocks until stopped)."""
    from gunicorn.app.wsgiapp import run

    print(f"ILLUME backend on http://{host}:{port}/ (progress page; /health, /status)", flush=True)
    sys.argv = ["gunicorn", *gunicorn_argv(host, port, threads)]
    run()


def start(
    port: int,
    env: Mapping[str, str],
    log: IO[bytes],
    *,
    host: str = "127.0.0.1",
    app: str = APP,
    new_session: bool = False,
) -> subprocess.Popen:
    """The backend as a child process on `port` with `env` added to this environment
    (LABEL_STUDIO_URL, ILLUME_* settings), this checkout first on PYTHONPATH, its output
    to `log`. `new_session`: in a process group of its own, so that a caller can stop the
    whole tree (master, worker, tuning child) at once."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_argv(host, port, app=app)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=new_session,
    )
