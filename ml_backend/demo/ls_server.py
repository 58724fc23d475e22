"""Start and stop a local Label Studio server (for the demo and the integration tests).

Label Studio runs from its own venv (.venv-ls, see scripts/install_label_studio.sh)
on 127.0.0.1 with SQLite (or PostgreSQL: `database`, e.g. the django_env() of a
ml_backend.demo.postgres.PostgresCluster), a pre-created user and a legacy API
token, so a script can drive it through the SDK without a browser sign-up.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
LS_VENV = REPO / ".venv-ls"
INSTALL_SCRIPT = REPO / "scripts" / "install_label_studio.sh"


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label_studio_bin(venv: Path = LS_VENV) -> Path:
    return venv / "bin" / "label-studio"


def ensure_installed(venv: Path = LS_VENV) -> Path:
    """Install Label Studio into its venv if missing (idempotent script, ~75 s once)."""
    exe = label_studio_bin(venv)
    if not exe.exists():
        env = {**os.environ, "LS_VENV": str(venv)}
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, env=env)
    return exe


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers (any HTTP status < 500) or fail with why."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
            last = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")


PREDICTION_SCORE_FLAG = "ff_front_dev_1682_model_version_dropdown_070622_short"
"""Label Studio 1.23 feature flag (set through the server's environment). Off, the data
manager's prediction score averages only predictions whose model_version equals the
project's `model_version`, which is the backend's *title* once one is connected: every
task's score is empty and sorting by it does nothing. On, it averages the predictions
of the versions the connected backends report (the version /setup returns)."""


@dataclass
class LabelStudioServer:
    """One Label Studio process with its data dir, user and token.

    The token is a legacy token fixed before the first start
    (LABEL_STUDIO_USER_TOKEN): the SDK and the ML backend use it directly.
    """

    data_dir: Path
    port: int = 0
    username: str = "illume@localhost"
    password: str = "illume-demo"
    token: str = field(default_factory=lambda: secrets.token_hex(20), repr=False)
    local_files_root: Path | None = None
    database: dict[str, str] | None = None
    """Label Studio's database settings (DJANGO_DB=default, POSTGRE_*); None: SQLite."""
    venv: Path = LS_VENV
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Server environment; loopback backends need ML_BLOCK_LOCAL_IP/SSRF off (local only)."""
        env = {
            **os.environ,
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "DJANGO_DB": "sqlite",
            "LABEL_STUDIO_USERNAME": self.username,
            "LABEL_STUDIO_PASSWORD": self.password,
            "LABEL_STUDIO_USER_TOKEN": self.token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            # the data manager's "prediction score" then averages the predictions of the
            # connected backend's current version (ml_backend/order.py; docs/guide/backend.md)
            PREDICTION_SCORE_FLAG: "true",
        }
        if self.local_files_root is not None:
            env["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] = "true"
            env["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] = str(self.local_files_root)
        env.update(self.database or {})
        return env

    def start(self, timeout: float = 180.0) -> LabelStudioServer:
        exe = label_studio_bin(self.venv)
        if not exe.exists():
            raise FileNotFoundError(
                f"{exe} is missing: run scripts/install_label_studio.sh first "
                "(installs Label Studio into its own venv, about 75 s)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.data_dir / ".illume-token"
        if token_file.exists():  # the token is stored at the first start only
            self.token = token_file.read_text().strip()
        else:
            token_file.write_text(self.token)
            token_file.chmod(0o600)
        self.port = self.port or free_port()
        cmd = [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1"]
        cmd += ["-p", str(self.port)]
        logf = open(self.data_dir / "label-studio.log", "ab")  # noqa: SIM115 (lives with proc)
        log.info("starting Label Studio on %s (log: %s)", self.url, logf.name)
        self.proc = subprocess.Popen(
            cmd, env=self.env(), stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_http(f"{self.url}/health", timeout, self.proc)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and the processes it spawned (its own process group only)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
