"""The tuning job as a child process: its files, how it is launched, what it hands back.

A round runs DeepSpeed in a child process (`python -m training.train`, by
module name: the engine does not import the trainer), so a crash there
cannot hurt the caller. Its command line is generated from three
dataclasses (`TuneJob`, `TuneConfig`, `ModelChoice`), the same ones the
child parses. On success the child writes the published version's path to
the `--result` JSON file, which the parent reads: no guessing from folders.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from illume.configargs import add_arguments, from_args, to_argv
from illume.models import ModelChoice
from illume.tune import TuneConfig

log = logging.getLogger(__name__)

JOB_MODULE = "training.train"
"""The tuning job's module; $ILLUME_TUNE_JOB names another (e.g. a wrapper of it)."""


@dataclass
class TuneJob:
    """What one tuning round reads and where it publishes."""

    items: str = field(metadata={"help": "items JSONL (id, image, question, answer, split)"})
    rationales: str = field(
        metadata={"help": 'JSONL of {"id", "text"}: every fitting rationale so far (X^E)'}
    )
    versions: str = field(metadata={"help": "versions folder (v0001, v0002, ...)"})
    pairs: str | None = field(
        default=None,
        metadata={
            "help": 'JSONL of {"id", "chosen", "rejected"}: (fitting, rejected) rationale pairs '
            "of the same item, for --objective dpo or sft+dpo (illume.pairs)"
        },
    )
    base: str | None = field(
        default=None, metadata={"help": "version to start from (default: the zero-shot model)"}
    )
    result: str | None = field(
        default=None,
        metadata={"help": 'write {"version": path, ...} here as JSON once the version is out'},
    )
    ds_config: str | None = field(
        default=None, metadata={"help": "DeepSpeed JSON (default: training/ds_config*.json)"}
    )
    metrics_extra: str = field(
        default="{}", metadata={"help": "JSON object merged into the version's metrics.json"}
    )


@dataclass
class Launch:
    """How many ranks run the job, and under which launcher."""

    nproc: int = field(default=1, metadata={"help": "ranks (CPU processes or GPUs)"})
    launcher: str = field(
        default="torchrun",
        metadata={"help": "launcher when nproc > 1", "choices": ("torchrun", "deepspeed")},
    )

    def prefix(self) -> list[str]:
        """The command that runs a module under this launch (`<prefix> -m module ...`)."""
        if self.launcher == "deepspeed":
            return ["deepspeed", "--num_gpus", str(self.nproc)]
        if self.nproc > 1:
            return ["torchrun", "--nproc_per_node", str(self.nproc)]
        return [sys.executable]


def parse_tune_args(argv: list[str]) -> tuple[TuneConfig, Launch]:
    """Settings from `illume tune`-style flags (any TuneConfig field, --nproc, --launcher),
    as a caller such as the backend holds them (ILLUME_TUNE_ARGS); ValueError if bad."""
    parser = argparse.ArgumentParser(prog="tune arguments", add_help=False, exit_on_error=False)
    add_arguments(parser, TuneConfig)
    add_arguments(parser, Launch)
    try:
        args = parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as e:
        raise ValueError(f"bad tuning arguments {argv!r}: {e}") from None
    return from_args(TuneConfig, args), from_args(Launch, args)


def job_command(
    job: TuneJob, config: TuneConfig, model: ModelChoice, launch: Launch | None = None
) -> list[str]:
    """The child's full command line, generated from the dataclasses it parses back."""
    launch = launch or Launch()
    return [
        *launch.prefix(),
        "-m",
        os.environ.get("ILLUME_TUNE_JOB") or JOB_MODULE,
        *to_argv(job),
        *to_argv(config),
        *model.to_args(),
    ]


def write_result(path: str | Path, version: Path, metrics: dict) -> None:
    """The child's answer: the published version (written last, atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": str(version), "metrics": metrics}, indent=2))
    tmp.replace(path)


def read_result(path: str | Path) -> Path:
    """The version the child published; RuntimeError when it published none."""
    path = Path(path)
    if not path.exists():
        raise RuntimeError(f"the tuning job finished without publishing a version ({path})")
    return Path(json.loads(path.read_text())["version"])


def child_env() -> dict[str, str]:
    """The environment with this code's root first on PYTHONPATH, so that the child's
    `training.train` is the one next to the running `illume` (a checkout or site-packages)."""
    root = str(Path(__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, rest]) if rest else root}


def run_job(
    job: TuneJob,
    config: TuneConfig,
    model: ModelChoice,
    launch: Launch | None = None,
    output: IO | None = None,
) -> Path:
    """Run one tuning round as a child process and return the version it published.

    Raises subprocess.CalledProcessError when the job fails (nothing is then
    published) and RuntimeError when it exits 0 without a result.
    """
    with tempfile.TemporaryDirectory(prefix="illume-tune-") as tmp:
        result = Path(job.result) if job.result else Path(tmp) / "result.json"
        result.unlink(missing_ok=True)
        cmd = job_command(replace(job, result=str(result)), config, model, launch)
        log.info("tuning: %s", shlex.join(cmd))
        stderr = subprocess.STDOUT if output else None
        subprocess.run(cmd, check=True, stdout=output, stderr=stderr, env=child_env())
        return read_result(result)
