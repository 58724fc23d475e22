"""A throwaway PostgreSQL cluster on loopback, for running Label Studio on PostgreSQL locally.

Teams run Label Studio on PostgreSQL; the tests must too, without a system
service or root-owned state: `initdb` + `pg_ctl` from Debian's package
(scripts/install_postgres.sh installs it where missing) build a cluster in
a temporary folder, listening on 127.0.0.1 and a free port with its unix
socket inside that folder. PostgreSQL refuses to run as root, so a root
caller runs the tools as the `postgres` system user (the package creates
it) through `runuser`. `stop()` stops the server and deletes the folder.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from illume.envconfig import from_env
from ml_backend.demo.ls_server import free_port
from ml_backend.demo.settings import ServiceSettings

log = logging.getLogger(__name__)

PG_ROOT = Path("/usr/lib/postgresql")
RUN_AS_WHEN_ROOT = "postgres"
"""The unprivileged user a root caller runs PostgreSQL as (Debian's package creates it)."""


def pg_bin_dir() -> Path | None:
    """$ILLUME_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin with initdb (None: none)."""
    configured = from_env(ServiceSettings).pg_bin
    if configured:
        return configured
    majors = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return majors[-1] if majors else None


@dataclass
class PostgresCluster:
    """One PostgreSQL server with one database and one password-protected user."""

    bin_dir: Path
    port: int = 0
    user: str = "labelstudio"
    database: str = "labelstudio"
    password: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    root: Path | None = None
    running: bool = False

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "sock"

    def _run(self, *argv: str) -> subprocess.CompletedProcess:
        """A PostgreSQL tool, as the unprivileged user when we are root; raises with its output."""
        cmd = [str(self.bin_dir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", RUN_AS_WHEN_ROOT, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed ({done.returncode}): {done.stderr or done.stdout}"
            )
        return done

    def start(self) -> PostgresCluster:
        """initdb, start on 127.0.0.1:<free port>, create the database (about 3 s)."""
        if not (self.bin_dir / "initdb").exists():
            raise FileNotFoundError(
                f"{self.bin_dir / 'initdb'} is missing: run scripts/install_postgres.sh "
                "(installs Debian's postgresql; the Makefile's test target does)"
            )
        # /tmp, not pytest's tmp dir: the unprivileged user must be able to reach it
        self.root = Path(tempfile.mkdtemp(prefix="illume-pg-"))
        self.socket_dir.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            for path in (self.root, self.socket_dir, pwfile):
                shutil.chown(path, RUN_AS_WHEN_ROOT, RUN_AS_WHEN_ROOT)
        self.port = self.port or free_port()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",  # the socket sits in our own 0700 folder
            "--auth-host=scram-sha-256",  # Label Studio connects over TCP with the password
            "-E",
            "UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        options = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"  # throwaway data: durability buys nothing
        )
        log.info("starting PostgreSQL on 127.0.0.1:%d (%s)", self.port, self.root)
        self.running = True
        try:
            log_file = str(self.root / "postgres.log")
            self._run(
                "pg_ctl", "-D", str(self.data_dir), "-l", log_file, "-o", options, "-w", "start"
            )
        except Exception:
            self.stop()
            raise
        sock = ("-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user)
        self._run("createdb", *sock, self.database)
        return self

    def django_env(self) -> dict[str, str]:
        """Label Studio's settings for this database."""
        return {
            "DJANGO_DB": "default",
            "POSTGRE_NAME": self.database,
            "POSTGRE_USER": self.user,
            "POSTGRE_PASSWORD": self.password,
            "POSTGRE_HOST": "127.0.0.1",
            "POSTGRE_PORT": str(self.port),
        }

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the cluster's folder."""
        if self.root is None:
            return
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            except RuntimeError as e:
                log.warning("PostgreSQL did not stop cleanly: %s", e)
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
