"""The tuning job as a child process: its files, how it is launched, what it hands back.

A round runs DeepSpeed in a child process (`python -m training.train`, by
module name: the engine does not import the trainer), so a crash there
cannot hurt the caller. Its command line is generated from three
dataclasses (`TuneJob`, `TuneConfig`, `ModelChoice`), the same ones the
child parses. On success the child writes the published version's path to
the `--result` JSON file, which the parent reads: no guessing from folders.
While it runs, its rank 0 appends progress records to the `--progress` JSONL
file (illume.tuneprogress), which the parent tails for its `on_progress`.
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
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from illume.configargs import add_arguments, from_args, to_argv
from illume.envconfig import from_env
from illume.models import ModelChoice
from illume.settings import EngineSettings
from illume.tune import TuneConfig
from illume.tuneprogress import ProgressCallback, ProgressTail, describe

log = logging.getLogger(__name__)


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
    progress: str | None = field(
        default=None,
        metadata={"help": "append progress records (JSONL: epoch, step, loss, ...) here"},
    )
    ds_config: str | None = field(
        default=None, metadata={"help": "DeepSpeed JSON (default: training/ds_config*.json)"}
    )
    metrics_extra: str = field(
        default="{}", metadata={"help": "JSON object merged into the version's metrics.json"}
    )


LOCAL_HOSTS = ("localhost", "127.0.0.1")


@dataclass
class Launch:
    """How many ranks run the job, on which hosts, under which launcher."""

    nproc: int = field(default=1, metadata={"help": "ranks per node (CPU processes or GPUs)"})
    launcher: str = field(
        default="torchrun",
        metadata={"help": "launcher when nproc > 1", "choices": ("torchrun", "deepspeed")},
    )
    hostfile: str | None = field(
        default=None,
        metadata={
            "help": "DeepSpeed hostfile ('HOST slots=N' lines; needs --launcher deepspeed): "
            "the job runs on those hosts, reached by ssh/pdsh unless all are local"
        },
    )
    num_nodes: int = field(
        default=0, metadata={"help": "use the first N hosts of the hostfile (0: all of them)"}
    )
    master_addr: str | None = field(
        default=None,
        metadata={
            "help": "address of rank 0's host that every rank can reach "
            "(default: 127.0.0.1 for local hosts)"
        },
    )
    master_port: int | None = field(
        default=None, metadata={"help": "rank 0's rendezvous port (default: the launcher's)"}
    )

    def __post_init__(self) -> None:
        if self.hostfile and self.launcher != "deepspeed":
            raise ValueError("--hostfile needs --launcher deepspeed (torchrun runs one node)")

    def prefix(self, module: str) -> list[str]:
        """The command that runs `module` under this launch (its flags follow)."""
        if self.launcher == "deepspeed":
            return [*self._deepspeed(), "--module", module]
        if self.nproc > 1:
            rendezvous = [f"--master_addr={self.master_addr}"] if self.master_addr else []
            if self.master_port:
                rendezvous.append(f"--master_port={self.master_port}")
            run = [sys.executable, "-m", "torch.distributed.run"]
            return [*run, "--nproc_per_node", str(self.nproc), *rendezvous, "-m", module]
        return [sys.executable, "-m", module]

    def _deepspeed(self) -> list[str]:
        """DeepSpeed's runner, by module so the caller's interpreter runs it (no PATH lookup).

        With a hostfile of local hosts only, the runner's ssh check is skipped and rank 0
        listens on 127.0.0.1: DeepSpeed would otherwise ssh to the first host to check it
        and to ask its address, and on one node both are pointless.
        """
        cmd = [sys.executable, "-m", "deepspeed.launcher.runner"]
        if self.nproc > 1 or not self.hostfile:  # a hostfile's slots decide otherwise
            cmd += ["--num_gpus", str(self.nproc)]
        master_addr = self.master_addr
        if self.hostfile:
            cmd += ["--hostfile", self.hostfile]
            if self.num_nodes > 0:
                cmd += ["--num_nodes", str(self.num_nodes)]
            if all(host in LOCAL_HOSTS for host in hostfile_hosts(self.hostfile)):
                cmd.append("--no_ssh_check")
                master_addr = master_addr or "127.0.0.1"
        if master_addr:
            cmd.append(f"--master_addr={master_addr}")
        if self.master_port:
            cmd.append(f"--master_port={self.master_port}")
        return cmd


def hostfile_hosts(path: str | Path) -> list[str]:
    """The host names of a DeepSpeed hostfile (comments and blank lines skipped)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ValueError(f"hostfile {path}: {e}") from None
    return [line.split()[0] for line in lines if line.split() and not line.startswith("#")]


def parse_tune_args(argv: list[str]) -> tuple[TuneConfig, Launch]:
    """Settings from `illume tune`-style flags (any TuneConfig or Launch field),
    as a caller such as the backend holds them (ILLUME_TUNE_ARGS); ValueError if bad."""
    parser = argparse.ArgumentParser(prog="tune arguments", add_help=False, exit_on_error=False)
    add_arguments(parser, TuneConfig)
    add_arguments(parser, Launch)
    try:
        args = parser.parse_args(argv)
        return from_args(TuneConfig, args), from_args(Launch, args)
    except (argparse.ArgumentError, SystemExit, ValueError) as e:
        raise ValueError(f"bad tuning arguments {argv!r}: {e}") from None


def job_command(
    job: TuneJob, config: TuneConfig, model: ModelChoice, launch: Launch | None = None
) -> list[str]:
    """The child's full command line, generated from the dataclasses it parses back."""
    launch = launch or Launch()
    return [
        *launch.prefix(from_env(EngineSettings).tune_job),
        *to_argv(job),
        *to_argv(config),
        *model.to_args(),
    ]


class NothingChanged(RuntimeError):
    """The round ran, but its dev selection kept the starting weights: no version is
    published and the one serving stays. `metrics` holds the figures (dev_start,
    dev_scores, changed_nothing: the sentence to show)."""

    def __init__(self, metrics: dict):
        super().__init__(metrics.get("changed_nothing", "this round changed nothing"))
        self.metrics = metrics


def write_result(path: str | Path, version: Path | None, metrics: dict) -> None:
    """The child's answer: the published version, or None when the round changed nothing
    (written last, atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    body = {"version": str(version) if version else None, "metrics": metrics}
    tmp.write_text(json.dumps(body, indent=2))
    tmp.replace(path)


def read_result(path: str | Path) -> Path:
    """The version the child published; NothingChanged when the dev selection kept the
    starting weights, RuntimeError when it published none for any other reason."""
    path = Path(path)
    if not path.exists():
        raise RuntimeError(f"the tuning job finished without publishing a version ({path})")
    body = json.loads(path.read_text())
    if body.get("version") is None:
        raise NothingChanged(body.get("metrics", {}))
    return Path(body["version"])


def child_env() -> dict[str, str]:
    """The environment with this code's root first on PYTHONPATH, so that the child's
    `training.train` is the one next to the running `illume` (a checkout or site-packages)."""
    root = str(Path(__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, rest]) if rest else root}


POLL_S = 0.5
"""How often the parent reads the progress file while the job runs."""

STOP_S = 10.0
"""How long a job told to stop may take before it is killed."""


def run_job(
    job: TuneJob,
    config: TuneConfig,
    model: ModelChoice,
    launch: Launch | None = None,
    output: IO | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Run one tuning round as a child process and return the version it published.

    `on_progress` gets each progress record (illume.tuneprogress) in this thread while
    the child runs. Raises subprocess.CalledProcessError when the job fails (nothing is
    then published) and RuntimeError when it exits 0 without a result.
    """
    with tempfile.TemporaryDirectory(prefix="illume-tune-") as tmp:
        result = Path(job.result) if job.result else Path(tmp) / "result.json"
        progress = Path(job.progress) if job.progress else Path(tmp) / "progress.jsonl"
        result.unlink(missing_ok=True)
        progress.unlink(missing_ok=True)
        job = replace(job, result=str(result), progress=str(progress))
        cmd = job_command(job, config, model, launch)
        log.info("tuning: %s", shlex.join(cmd))
        stderr = subprocess.STDOUT if output else None
        tail = ProgressTail(progress)
        with subprocess.Popen(cmd, stdout=output, stderr=stderr, env=child_env()) as proc:
            try:
                while proc.poll() is None:
                    _report(tail, on_progress)
                    time.sleep(POLL_S)
            except BaseException:  # the caller gave up (e.g. Ctrl-C): no orphaned job
                _stop(proc)
                raise
        _report(tail, on_progress)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd)
        return read_result(result)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM first: torchrun and DeepSpeed's launcher pass it on to their ranks."""
    proc.terminate()
    try:
        proc.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()


def _report(tail: ProgressTail, on_progress: ProgressCallback | None) -> None:
    for record in tail.read():  # the child logs each step itself: here only for debugging
        log.debug("tuning: %s", describe(record))
        if on_progress is None:
            continue
        try:
            on_progress(record)
        except Exception:  # a broken display must not sink the round
            log.exception("tuning: the progress callback failed")
