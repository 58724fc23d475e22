"""Where the top candidate's ROUGE-L falls short of full-gt's: the order shown, or what the
model writes? Reads a stored `bench/rounds_that_learn.py` report, needs no model:

    python bench/rouge_top.py docs/results/rounds-that-learn/easy-vqa-x-d.json \
        --items data/easy-vqa-x/items.jsonl

Per arm, the mean coco ROUGE-L (x100) over the held-out items of the first shown
candidate, the consensus candidate, the best accepted one and the best shown one
(`illume_bench.rouge_choices`), each with a 95% bootstrap interval over items and as a
% of full-gt's first shown; the first shown candidates' ROUGE-L where the annotator
accepted them and where they name a wrong fact; the mean words of an accepted
candidate; then the held-out references scored against each other.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from illume.critique import RougeCritic  # noqa: E402
from illume.items import load_items  # noqa: E402
from illume_bench.rouge_choices import CHOICES, arm_choices, reference_rewording  # noqa: E402

SPLITS = ("first_accepted", "first_wrong_fact")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("reports", nargs="+", help="report JSONs of bench/rounds_that_learn.py")
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument(
        "--full-gt-from",
        help="for reports run with --no-full-gt: the report whose full-gt arm (same items and "
        "seeds) gives the % of full-gt",
    )
    args = ap.parse_args()
    items = {it.id: it for it in load_items(args.items)[0]}
    rouge, out = RougeCritic(), {}
    gt_first = None
    if args.full_gt_from:
        gt_rows = json.loads(Path(args.full_gt_from).read_text())["heldout_items"]["full-gt"]
        gt_first = arm_choices(items, gt_rows, rouge)["first"]
    for path in args.reports:
        report = json.loads(Path(path).read_text())
        heldout = report["heldout_items"]
        arms = {arm: arm_choices(items, rows, rouge) for arm, rows in heldout.items()}
        ids = [str(r["id"]) for r in heldout["r0"]]
        arms["references"] = reference_rewording([items[i] for i in ids], rouge)
        out[path] = arms
        _print(path, arms, gt_first)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _print(path: str, arms: dict, gt_first: float | None) -> None:
    """The table; % of full-gt from the report's own arm, else from --full-gt-from."""
    gt = arms.get("full-gt", {}).get("first") or gt_first
    print(f"\n{path}\n")
    head = " | ".join(CHOICES) + " | first, accepted | first, wrong fact | words per accepted"
    print(f"| arm | {head} |")
    print("|---|" + "---|" * (len(CHOICES) + 3))
    for arm, f in arms.items():
        if arm == "references":
            continue
        cells = [
            f"{100 * f[k]:.1f} [{100 * f['ci'][k][0]:.1f}, {100 * f['ci'][k][1]:.1f}]"
            + (f" ({100 * f[k] / gt:.0f}%)" if gt else "")
            for k in CHOICES
        ]
        cells += [f"{100 * f[k]:.1f} (n={f[f'n_{k}']})" for k in SPLITS]
        print(f"| {arm} | {' | '.join(cells)} | {f['accepted_words']:.1f} |")
    ref = arms["references"]
    share = f" ({100 * ref['rouge'] / gt:.0f}% of full-gt)" if gt else ""
    print(
        f"references against the item's other references: {100 * ref['rouge']:.1f}{share}, "
        f"{ref['words']:.1f} words, n={ref['n']}"
    )


if __name__ == "__main__":
    sys.exit(main())
