"""The simulated annotator's fitting rate on a loop round's candidates, before vs now.

"before" is the verdict recorded in the round's critiqued file (the
annotator that judged the round); "now" re-judges the same candidates with
`illume_bench.critics.SimulatedAnnotator` as it is. It also judges every
reference rationale of the items file (written as several people would; a
careful annotator should tick nearly all). Both verdicts are compared with the
ROUGE-L critic (coco ROUGE-L >= 0.7 against the item's references) by
`illume_bench.critics.agreement`. No sampling: it only reads files.

    PYTHONPATH=. python bench/annotator_strictness.py --items runs/items.jsonl \
        --critiqued runs/r00/critiqued.jsonl --json docs/results/critics/annotator-shapes-x-r00.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from illume.critique import RougeCritic
from illume.items import Item
from illume_bench.critics.agreement import agreement
from illume_bench.critics.simulated_annotator import SimulatedAnnotator


def measure(items_path: Path, critiqued_path: Path) -> dict:
    items = {}
    for line in items_path.read_text().splitlines():
        if line.strip():
            item = Item.from_dict(json.loads(line))
            items[item.id] = item
    annotator, rouge = SimulatedAnnotator(), RougeCritic()
    before: list[bool] = []
    now: list[bool] = []
    by_rouge: list[bool] = []
    items_before: set[str] = set()
    items_now: set[str] = set()
    reasons: Counter[str] = Counter()
    for line in critiqued_path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        item = items[rec["id"]]
        texts = [c["text"] for c in rec["candidates"]]
        for cand, score in zip(rec["candidates"], rouge.score(item, texts), strict=True):
            fits, why = annotator.judge(item, cand["text"])
            before.append(bool(cand["fitting"]))
            now.append(fits)
            by_rouge.append(rouge.fitting(score))
            reasons[why.split(":")[0] if not fits else "fitting"] += 1
            if cand["fitting"]:
                items_before.add(item.id)
            if fits:
                items_now.add(item.id)
    n_items = len({json.loads(x)["id"] for x in critiqued_path.read_text().splitlines() if x})
    refs = [annotator.judge(item, r)[0] for item in items.values() for r in item.explanations]
    return {
        "references": len(refs),
        "references_fitting_pct": round(100 * sum(refs) / len(refs), 1) if refs else None,
        "candidates": len(now),
        "items": n_items,
        "fitting_before": sum(before),
        "fitting_now": sum(now),
        "items_with_fitting_before_pct": round(100 * len(items_before) / n_items, 1),
        "items_with_fitting_now_pct": round(100 * len(items_now) / n_items, 1),
        "rouge_fitting": sum(by_rouge),
        "rouge_vs_annotator_before": agreement(by_rouge, before),
        "rouge_vs_annotator_now": agreement(by_rouge, now),
        "reasons_now": dict(reasons.most_common()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=Path, required=True)
    ap.add_argument("--critiqued", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--note", default="", help="what was measured (run, round, machine load)")
    args = ap.parse_args()
    out = {"source": args.critiqued.name, "note": args.note, **measure(args.items, args.critiqued)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
