"""A wrapper around `illume tune` that can be told to fail, for the failed-round test.

If the file named by $TUNE_WRAPPER_CONTROL says "fail", it exits 3 without
publishing (a crashed round); otherwise it runs the real `illume tune` with
the same arguments (or, with "fake" in that file, publishes the base model
again as the next version in a second: the quick path for debugging).
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
    if mode == "fake":
        return publish_base(sys.argv[1:])
    from illume.cli import main as illume_main

    return illume_main(sys.argv[1:])


def publish_base(argv: list[str]) -> int:
    import argparse

    from illume.items import read_jsonl
    from illume.models import load_model
    from illume.versions import publish

    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["tune"])
    ap.add_argument("--items", required=True)
    ap.add_argument("--feedback", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--base")
    args, _ = ap.parse_known_args(argv)
    feedback = list(read_jsonl(args.feedback))
    path = publish(
        load_model(version=args.base), args.versions, {"feedback": len(feedback)}, feedback
    )
    print(f"published {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
