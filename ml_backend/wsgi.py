"""WSGI entry point: `gunicorn ml_backend.wsgi:app` (see ml_backend/server.py for the flags).

Run gunicorn with ONE worker process (threads for concurrency): the model,
the job queue and its worker thread live in the process, and two processes
would load the model twice and race on the queue.
"""

from __future__ import annotations

import logging
import os

from ml_backend.app import create_app

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)

# httpx logs every SDK request at INFO: keep the backend's own progress readable.
logging.getLogger("httpx").setLevel(logging.WARNING)

app = create_app()
logging.getLogger("ml_backend").info(
    "progress page: GET / on this backend (the URL Label Studio connects to)"
)
