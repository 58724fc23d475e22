"""Does each judge pass the references of the items it judges, and refuse what it must?

A judge that refuses a set's own references cannot measure that set. Per set, the share
of references the simulated careful annotator accepts; for easy-vqa-x also the share of
the labelled restatement baseline (`restatement_baseline`) it accepts, which should be 0:

    python bench/judge_references.py --json docs/results/judge-references.json

`--critic` names another judge (default: the annotator), e.g. `annotator-rouge`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from illume.items import load_items  # noqa: E402
from illume_bench.critics import CriticConfig, make_critic, verdict  # noqa: E402
from illume_bench.data.easyvqa_references import restatement_baseline  # noqa: E402

SETS = {
    "easy-vqa-x": "data/easy-vqa-x/items.jsonl",
    "shapes-x": "data/shapes-x/items.jsonl",
    "demo photos": "illume_bench/data/demo/items.jsonl",
}


def rate(judge, pairs) -> dict:
    n = ok = 0
    why: Counter = Counter()
    fails = []
    for item, text in pairs:
        n += 1
        good, reason = verdict(judge, item, text)
        ok += good
        if not good:
            # a score-only critic's reason is its score: count those together
            why[
                "scores below the threshold"
                if reason.startswith("scores ")
                else reason.split(":")[0]
            ] += 1
            if len(fails) < 6:
                fails.append(
                    {"question": item.question, "answer": item.answer, "text": text, "why": reason}
                )
    return {"n": n, "accepted_pct": 100 * ok / max(1, n), "refusals": dict(why), "examples": fails}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=2000, help="items per set (file order)")
    ap.add_argument("--easy-vqa-x", dest="evqa", help="another easy-vqa-x items file")
    ap.add_argument("--critic", default="annotator", help="the judge (a --critic kind)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.evqa:
        SETS["easy-vqa-x"] = args.evqa
    judge = make_critic(CriticConfig(kind=args.critic))
    out = {}
    for name, path in SETS.items():
        if not Path(path).exists():
            print(f"{name}: {path} missing (build it with `illume data ...`)")
            continue
        items = [it for it in load_items(path)[0] if it.explanations][: args.limit]
        out[name] = {"references": rate(judge, [(it, e) for it in items for e in it.explanations])}
        if name == "easy-vqa-x":
            base = [
                (it, t)
                for it in items
                for t in restatement_baseline(it.question, it.answer, it.facts)
            ]
            out[name]["restatement baseline"] = rate(judge, base)
    print("| set | texts | accepted % | refusals |")
    print("|---|---|---|---|")
    for name, parts in out.items():
        for part, r in parts.items():
            print(f"| {name}: {part} | {r['n']} | {r['accepted_pct']:.1f} | {r['refusals']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
