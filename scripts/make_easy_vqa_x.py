"""Build the embedded benchmark easy-vqa-x from the `easy-vqa` package.

    python scripts/make_easy_vqa_x.py --out data/easy-vqa-x --seed 0

Writes OUT/items.jsonl and OUT/images/{split}/{image_id}.png; see
docs/data/easy-vqa-x.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from illume.data.easyvqa import build_easy_vqa_x  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/easy-vqa-x", help="output folder")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the val split, subsets and wordings"
    )
    parser.add_argument("--max-train", type=int, default=None, help="keep at most N train items")
    parser.add_argument("--max-val", type=int, default=None, help="keep at most N val items")
    parser.add_argument("--max-test", type=int, default=None, help="keep at most N test items")
    parser.add_argument(
        "--no-explanations", action="store_true", help="items only (plain easy-vqa import)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    counts = build_easy_vqa_x(
        args.out,
        seed=args.seed,
        max_train=args.max_train,
        max_val=args.max_val,
        max_test=args.max_test,
        with_explanations=not args.no_explanations,
    )
    for split, n in counts.items():
        print(f"{split}\t{n}")
    print(f"total\t{sum(counts.values())}\t-> {Path(args.out) / 'items.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
