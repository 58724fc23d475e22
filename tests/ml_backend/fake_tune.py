"""A stand-in for `illume tune` with the same command line and publishing contract.

Used by the backend tests so a round takes a second with the tiny model:
it loads the base version, then publishes the next version atomically with
illume.versions.publish. If the file named by $FAKE_TUNE_CONTROL says "fail",
it exits 3 without publishing (a crashed round).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from illume.items import read_jsonl
from illume.models import load_model
from illume.versions import publish


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["tune"])
    ap.add_argument("--items", required=True)
    ap.add_argument("--feedback", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--base")
    args, _ = ap.parse_known_args()
    control = os.environ.get("FAKE_TUNE_CONTROL")
    if control and Path(control).exists() and Path(control).read_text().strip() == "fail":
        print("fake tune: failing on purpose", file=sys.stderr)
        return 3
    feedback = list(read_jsonl(args.feedback))
    items = list(read_jsonl(args.items))
    model = load_model(version=args.base)
    path = publish(model, args.versions, {"feedback": len(feedback), "items": len(items)}, feedback)
    print(f"published {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
