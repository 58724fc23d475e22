"""A throwaway redis-server on loopback, for running the RQ workers locally and in tests.

Debian's `redis-server` (scripts/install_redis.sh installs it where missing)
runs in the foreground on 127.0.0.1 and a free port, persisting nothing
(`--save ''`, no append-only file) and keeping its working files in a
temporary folder. `stop()` ends that one process (by the PID it recorded)
and deletes the folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from illume.envconfig import from_env
from ml_backend.demo.ls_server import free_port
from ml_backend.demo.settings import ServiceSettings


def redis_server_bin() -> str | None:
    """$ILLUME_REDIS_SERVER, else redis-server on PATH (None: not installed)."""
    return from_env(ServiceSettings).redis_server or shutil.which("redis-server")


@dataclass
class RedisServer:
    """One redis-server process; `url` is what ILLUME_REDIS_URL takes."""

    binary: str
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        self.root = Path(tempfile.mkdtemp(prefix="illume-redis-"))
        self.port = free_port()
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"]
        log = open(self.root / "redis.log", "wb")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.root / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {text}")
            if _answers(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _answers(port: int) -> bool:
    """Does a Redis on the port answer PING?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False
