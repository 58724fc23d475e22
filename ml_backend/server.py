"""`illume serve`: run the backend under gunicorn against an existing Label Studio.

Environment: LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY (as label-studio-ml-backend's
examples name them), optional BASIC_AUTH_USER/BASIC_AUTH_PASS, ILLUME_BACKEND_DIR.
"""

from __future__ import annotations

import argparse
import os
import sys


def gunicorn_argv(host: str, port: int, threads: int = 8, timeout: int = 120) -> list[str]:
    """One worker process (the model and the job queue live in it), several threads."""
    return [
        "gunicorn",
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
        "ml_backend.wsgi:app",
    ]


def serve(host: str = "127.0.0.1", port: int = 9090, threads: int = 8) -> None:
    """Replace this process with gunicorn serving the backend (blocks until stopped)."""
    from gunicorn.app.wsgiapp import run

    print(f"ILLUME backend on http://{host}:{port}/ (progress page; /health, /status)", flush=True)
    sys.argv = gunicorn_argv(host, port, threads)
    run()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="illume serve", description=__doc__)
    ap.add_argument("--host", default=os.environ.get("ILLUME_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("ILLUME_PORT", "9090")))
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args(argv)
    serve(args.host, args.port, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
