"""How a person's own rationale scores: each reference judged against the item's others.

A critic's "fitting" bar means something only next to what people reach. Here
every handwritten reference of an item plays the candidate, and the item's
remaining references are the references (leave one out). Reported per set
and critic: the share of items where some person's rationale fits, the mean
of each item's best score, and the mean over all references.

    PYTHONPATH=. python bench/human_ceiling.py                      # demo photos
    PYTHONPATH=. python bench/human_ceiling.py --items data/easy-vqa-x/items.jsonl \
        --split val --limit 200 --json docs/results/bench/human-ceiling-easy-vqa-x.json

Reads files only (no model; the semantic critic loads all-MiniLM-L6-v2).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from statistics import mean

from illume.items import Item, load_items
from illume_bench.critics import CriticConfig, make_critic
from illume_bench.data.demo_items import DEMO_ITEMS

CRITICS = ("rouge", "semantic", "annotator")


def leave_one_out(item: Item) -> list[tuple[Item, str]]:
    """(the item with one reference left out, that reference) for each reference."""
    refs = list(item.explanations or [])
    if len(refs) < 2:
        return []
    return [(replace(item, explanations=refs[:i] + refs[i + 1 :]), r) for i, r in enumerate(refs)]


def ceiling(items: list[Item], kind: str) -> dict:
    """One critic's verdicts on every held-out reference, summed up per item."""
    critic = make_critic(CriticConfig(kind=kind))
    best, every, per_item = [], [], []
    for item in items:
        scores = [critic.score(rest, [held])[0] for rest, held in leave_one_out(item)]
        if not scores:
            continue
        best.append(max(scores))
        every += scores
        per_item.append({"id": item.id, "best": round(max(scores), 3)})
    fits = sum(critic.fitting(s) for s in best)
    return {
        "critic": kind,
        "threshold": critic.threshold,
        "items": len(best),
        "items_fit_pct": round(100 * fits / max(1, len(best)), 1),
        "mean_best": round(mean(best), 3) if best else None,
        "references_fit_pct": round(100 * sum(map(critic.fitting, every)) / max(1, len(every)), 1),
        "mean_reference": round(mean(every), 3) if every else None,
        "per_item": per_item,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", help="an items file (default: the bundled demo items)")
    ap.add_argument("--split", help="only this split of --items")
    ap.add_argument("--limit", type=int, default=0, help="first N items (0: all)")
    ap.add_argument("--critics", default=",".join(CRITICS))
    ap.add_argument("--json", default="docs/results/bench/human-ceiling-demo.json")
    args = ap.parse_args(argv)
    items, errors = load_items(args.items or DEMO_ITEMS, split=args.split)
    if errors:
        raise SystemExit(f"bad items: {errors[:3]}")
    items = items[: args.limit] if args.limit else items
    rows = [ceiling(items, kind) for kind in args.critics.split(",")]
    print("| critic | fitting at | items with a fitting person's rationale | mean best |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['critic']} | {r['threshold']} | {r['items_fit_pct']}% of {r['items']} "
            f"| {r['mean_best']} |"
        )
    out = {"items": args.items or "bundled demo items", "split": args.split, "critics": rows}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
