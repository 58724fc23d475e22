"""Where the demo and the tests find the services they start (`illume.envconfig` reads these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServiceSettings:
    """Binaries of the throwaway PostgreSQL and Redis the demo's tests start on loopback."""

    ENV_PREFIX = "ILLUME_"

    pg_bin: Path | None = field(
        default=None,
        metadata={"help": "PostgreSQL's bin folder (unset: the newest Debian one)"},
    )
    redis_server: str = field(
        default="", metadata={"help": "the redis-server binary (unset: the one on PATH)"}
    )


@dataclass
class TestSwitches:
    """Settings only the tests and benchmarks read; never a production setting."""

    ENV_PREFIX = "ILLUME_"
    __test__ = False  # not a pytest test class

    screenshot_dir: Path | None = field(
        default=None,
        metadata={"help": "tests: also keep the progress page's screenshot in this folder"},
    )
