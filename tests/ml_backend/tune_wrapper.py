"""A wrapper around the tuning job (`python -m training.train`) that tests can steer.

The backend under test runs it through $ILLUME_TUNE_JOB. The file named by
$TUNE_WRAPPER_CONTROL says what to do:

- "fail": exit 3 without publishing (a crashed round);
- "hold": write "<control>.held" and wait while the control still says "hold",
  then run the real job (a test kills the backend while the tuning child runs);
- "hold-publish": run the real job, but inside `publish`, after the weights are
  written to the temporary folder and before it is renamed into place, write
  "<control>.held" and wait likewise (a kill there leaves a half-written folder);
- "fsize:N": run the real job, with RLIMIT_FSIZE at N bytes from the start of
  `publish` (writes past it fail with EFBIG, "File too large"): the disk-full test
  where no small file system can be mounted. Only from there: a limit on the whole
  job would also cut the compiler runs that fill the shared torch extensions cache;
- anything else, or no file: run the real job with the same arguments.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def mode(control: Path | None) -> str:
    return control.read_text().strip() if control and control.exists() else ""


def hold(control: Path, while_mode: str) -> None:
    """Tell the test where we are, then wait until it changes the control file."""
    control.with_name(control.name + ".held").write_text(str(os.getpid()))
    while mode(control) == while_mode:
        time.sleep(0.1)


def hold_inside_publish(control: Path) -> None:
    """Wrap illume.versions.publish so it stops between the weights and the rename."""
    import illume.versions as versions

    real_publish = versions.publish

    class Pausing:
        def __init__(self, model):
            self.model = model

        def save_version(self, folder):
            self.model.save_version(folder)
            hold(control, "hold-publish")

    def publish(model, root, metrics, manifest):
        return real_publish(Pausing(model), root, metrics, manifest)

    versions.publish = publish


def limit_inside_publish(limit: int) -> None:
    """Wrap illume.versions.publish so its writes past `limit` bytes fail with EFBIG."""
    import resource
    import signal

    import illume.versions as versions

    real_publish = versions.publish

    def publish(model, root, metrics, manifest):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        return real_publish(model, root, metrics, manifest)

    versions.publish = publish


def main() -> int:
    raw = os.environ.get("TUNE_WRAPPER_CONTROL")
    control = Path(raw) if raw else None
    what = mode(control)
    if what == "fail":
        print("tune wrapper: failing on purpose", file=sys.stderr)
        return 3
    if what == "hold":
        hold(control, "hold")
    elif what == "hold-publish":
        hold_inside_publish(control)
    elif what.startswith("fsize:"):
        limit_inside_publish(int(what.split(":", 1)[1]))
    from training.train import main as train_main

    return train_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
