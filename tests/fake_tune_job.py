"""A stand-in for `python -m training.train` that publishes nothing real.

It parses its command line with the real job's parser, writes what it got
to $FAKE_TUNE_ECHO (JSON), and answers like the job: the version named by
$FAKE_TUNE_VERSION goes to --result (none when unset: a job that exits 0
without publishing). With --progress it writes two step records there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

from illume.configargs import from_args
from illume.tune import TuneConfig
from illume.tunejob import TuneJob, write_result
from illume.tuneprogress import ProgressWriter
from training.train import parse_args


def main() -> int:
    args = parse_args(sys.argv[1:])
    job, config = from_args(TuneJob, args), from_args(TuneConfig, args)
    echo = os.environ.get("FAKE_TUNE_ECHO")
    if echo:
        with open(echo, "w") as f:
            json.dump({"job": dataclasses.asdict(job), "config": dataclasses.asdict(config)}, f)
    if job.progress:
        write = ProgressWriter(job.progress)
        for step, loss in ((1, 2.5), (2, 2.0)):
            write({"event": "step", "epoch": 1, "epochs": 1, "step": step, "loss": loss})
        write.close()
    version = os.environ.get("FAKE_TUNE_VERSION")
    if version and job.result:
        write_result(job.result, version, {"fake": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
