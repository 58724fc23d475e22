"""Fixtures for the backend: a REAL Label Studio on loopback, the backend under gunicorn.

Label Studio comes from .venv-ls (scripts/install_label_studio.sh; the Makefile's
test target runs it), on SQLite, and for the full-cycle test also on a throwaway
PostgreSQL cluster (scripts/install_postgres.sh installs Debian's package).
The backend runs the tiny model (ILLUME_LM/ILLUME_ENCODER) so sampling takes
milliseconds; tuning rounds run the real `illume tune` (through tune_wrapper.py,
a wrapper the failed-round test can tell to fail).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ml_backend import server
from ml_backend.demo.ls_server import (
    LS_VENV,
    LabelStudioServer,
    free_port,
    label_studio_bin,
    wait_http,
)
from ml_backend.demo.postgres import PostgresCluster, pg_bin_dir

REPO = Path(__file__).resolve().parents[2]
DEMO_IMAGES = REPO / "illume_bench" / "data" / "demo" / "images"


@pytest.fixture(scope="session")
def local_root(tmp_path_factory) -> Path:
    """LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT with an images/ folder of real photos."""
    root = tmp_path_factory.mktemp("ls-files")
    (root / "images").mkdir()
    for name in ("chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg"):
        shutil.copy(DEMO_IMAGES / name, root / "images" / name)
    (root / "images" / "broken.jpg").write_bytes(b"not an image")
    return root


def start_label_studio(data_dir: Path, local_root: Path, database: dict | None = None):
    if not label_studio_bin(LS_VENV).exists():
        pytest.fail(
            f"{label_studio_bin(LS_VENV)} is missing: run scripts/install_label_studio.sh "
            "(the Makefile's test target does)",
            pytrace=False,
        )
    server = LabelStudioServer(data_dir, local_files_root=local_root, database=database)
    return server.start()


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory, local_root):
    """A real Label Studio 1.23 server (SQLite, temp data dir, free port)."""
    server = start_label_studio(tmp_path_factory.mktemp("ls-data"), local_root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (stopped and deleted at the end)."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "no PostgreSQL under /usr/lib/postgresql: run scripts/install_postgres.sh "
            "(the Makefile's test target does)",
            pytrace=False,
        )
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def label_studio_pg(tmp_path_factory, local_root, postgres):
    """A second Label Studio, on the PostgreSQL cluster (its own data dir for media)."""
    server = start_label_studio(
        tmp_path_factory.mktemp("ls-data-pg"), local_root, postgres.django_env()
    )
    yield server
    server.stop()


def sdk_client(server: LabelStudioServer):
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=server.url, api_key=server.token)


@pytest.fixture(scope="session")
def ls_client(label_studio):
    return sdk_client(label_studio)


@pytest.fixture(scope="session")
def ls_client_pg(label_studio_pg):
    return sdk_client(label_studio_pg)


class Backend:
    """The backend process and helpers to read its HTTP endpoints."""

    def __init__(self, url: str, proc: subprocess.Popen, data_dir: Path, control: Path):
        self.url = url
        self.proc = proc
        self.data_dir = data_dir
        self.control = control

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, path: str, body) -> tuple[int, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait_idle(self, timeout: float = 120) -> dict:
        """Wait until the job queue is empty and nothing runs; return /status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.get("/status")
            if m["jobs"]["pending"] == 0 and m["jobs"]["running"] is None:
                return m
            time.sleep(0.3)
        raise TimeoutError(f"backend still busy after {timeout} s: {m['jobs']}")


def start_backend(
    label_studio, local_root, data_dir: Path, extra_env: dict, new_session: bool = False
):
    """The backend under gunicorn (one worker, threads), exactly as `illume serve` runs it.

    new_session: in a process group of its own, so a test can kill -9 the whole tree
    (master, worker, tuning child) at once, as a crashed container would lose it.
    """
    control = data_dir / "fake-tune-control"
    port = free_port()
    env = {
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_API_KEY": label_studio.token,
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(local_root),
        "ILLUME_BACKEND_DIR": str(data_dir),
        "ILLUME_TRAIN_EVERY": "0",
        "ILLUME_ROUND_DEBOUNCE_S": "1",
        "ILLUME_MAX_NEW_TOKENS": "8",
        # the tiny models' random text ranks low: tick the best ones anyway, the tests read ticks
        "ILLUME_PRETICK_MIN_RANK": "0",
        "TUNE_WRAPPER_CONTROL": str(control),
        **extra_env,
    }
    # the real `illume tune` behind a wrapper that the failed-round test can make fail
    env["ILLUME_TUNE_JOB"] = "tests.ml_backend.tune_wrapper"
    env.setdefault(
        "ILLUME_TUNE_ARGS", "--steps 0 --epochs 1 --batch-size 4 --min-rationales 1 --min-items 1"
    )
    logf = open(data_dir / "backend.log", "wb")  # noqa: SIM115 (closed after the process)
    proc = server.start(port, env, logf, new_session=new_session)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", 60, proc)
    except Exception:
        proc.terminate()
        logf.close()
        raise
    return Backend(url, proc, data_dir, control), logf


def stop_backend(backend: Backend, logf) -> None:
    backend.proc.terminate()
    backend.proc.wait(timeout=20)
    logf.close()


@pytest.fixture(scope="session")
def backend(label_studio, tiny_lm_dir, tmp_path_factory, local_root):
    """The backend on the tiny embedded model."""
    # the tiny model's text ranks low: pre-tick whatever it ranks best, to test the mechanics
    env = {"ILLUME_LM": str(tiny_lm_dir), "ILLUME_ENCODER": "tiny"}
    started, logf = start_backend(label_studio, local_root, tmp_path_factory.mktemp("backend"), env)
    yield started
    stop_backend(started, logf)


@pytest.fixture(scope="session")
def backend_pg(label_studio_pg, tiny_lm_dir, tmp_path_factory, local_root):
    """The same backend, against the Label Studio on PostgreSQL."""
    env = {"ILLUME_LM": str(tiny_lm_dir), "ILLUME_ENCODER": "tiny"}
    data_dir = tmp_path_factory.mktemp("backend-pg")
    started, logf = start_backend(label_studio_pg, local_root, data_dir, env)
    yield started
    stop_backend(started, logf)


@pytest.fixture(scope="session")
def hf_backend(label_studio, tmp_path_factory, local_root):
    """The backend on a tiny LLaVA: any Hugging Face model through $ILLUME_MODEL."""
    from illume.testing.tiny_vlms import build

    folder = build("llava", tmp_path_factory.mktemp("llava") / "llava")
    env = {"ILLUME_MODEL": f"hf:{folder}"}
    started, logf = start_backend(
        label_studio, local_root, tmp_path_factory.mktemp("hf-backend"), env
    )
    yield started
    stop_backend(started, logf)


def rationale_config() -> str:
    return (REPO / "label_config" / "rationales.xml").read_text()


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway redis-server on 127.0.0.1 and a free port (stopped by its PID at the end)."""
    from ml_backend.demo.redis_server import RedisServer, redis_server_bin

    binary = redis_server_bin()
    if binary is None:
        pytest.fail(
            "no redis-server: run scripts/install_redis.sh (the Makefile's test target does)",
            pytrace=False,
        )
    server = RedisServer(binary).start()
    yield server
    server.stop()
