"""The engine's own settings from the environment (the model's are `ModelChoice`'s fields).

Each field is a variable (`illume.envconfig`): ILLUME_CACHE, ILLUME_IMAGE_HOSTS,
ILLUME_IMAGE_ROOTS, ILLUME_TUNE_JOB. They are read where they are used, each time, so a
process that changes its environment (a test, a launcher) is obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class EngineSettings:
    """Where the engine keeps its cache, which images it may read, which job tunes."""

    ENV_PREFIX = "ILLUME_"

    cache: Path | None = field(
        default=None,
        metadata={"help": "converted weights and compiled ops (unset: ~/.cache/illume)"},
    )
    image_hosts: str = field(
        default="",
        metadata={
            "help": "who image URLs may reach: `public` (any public address), host names "
            "(`*.example.org`), addresses or networks (`10.0.0.0/8`), comma-separated; unset: "
            "public only (`public,127.0.0.1` adds an image server on this machine)"
        },
    )
    image_roots: str = field(
        default="",
        metadata={
            "help": "more folders task images may be read from, separated like PATH; absolute "
            "paths anywhere else are refused"
        },
    )
    tune_job: str = field(
        default="training.train",
        metadata={"help": "the tuning job's module (another: a wrapper of it, e.g. in tests)"},
    )
