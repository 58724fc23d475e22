"""A wrapper around the tuning job (`python -m training.train`) that can be told to fail.

The backend under test runs it through $ILLUME_TUNE_JOB. If the file named by
$TUNE_WRAPPER_CONTROL says "fail", it exits 3 without publishing (a crashed
round); otherwise it runs the real job with the same arguments.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> int:
    control = os.environ.get("TUNE_WRAPPER_CONTROL")
    mode = Path(control).read_text().strip() if control and Path(control).exists() else ""
    if mode == "fail":
        print("tune wrapper: failing on purpose", file=sys.stderr)
        return 3
    from training.train import main as train_main

    return train_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
