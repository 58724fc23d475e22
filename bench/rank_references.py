"""How many reference wordings `illume.rank.reject` lets through, per set.

A reference is a correct rationale by construction; the rank filter runs before any
critic or person sees a candidate, so every reference it drops is a correct candidate
nobody would ever be shown. Prints, per set, the share that passes and why the rest
fail, under the current rules and under those of an earlier commit (BEFORE_REV):

    python bench/rank_references.py --json docs/results/rank-references.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import subprocess  # noqa: E402
import types  # noqa: E402

from illume import rank  # noqa: E402
from illume.items import load_items  # noqa: E402

BEFORE_REV = "77af5e4"
"""The commit whose rules are the "before" column (three content words, bigram repeats)."""


def rules_at(rev: str) -> types.ModuleType:
    """illume/rank.py as it was at `rev`, loaded as a module of its own."""
    src = subprocess.run(
        ["git", "show", f"{rev}:illume/rank.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"rank_{rev}")
    exec(compile(src, f"rank@{rev}", "exec"), module.__dict__)  # noqa: S102 (our own file)
    return module


SETS = {
    "easy-vqa-x": "data/easy-vqa-x/items.jsonl",
    "shapes-x": "data/shapes-x/items.jsonl",
    "demo photos": "illume_bench/data/demo/items.jsonl",
}


def measure(path: str, limit: int, rules: types.ModuleType) -> dict:
    items, _ = load_items(path)
    items = [it for it in items if it.explanations][:limit]
    reasons: Counter = Counter()
    n = passed = 0
    failed_examples = []
    for it in items:
        for ref in it.explanations:
            n += 1
            why = rules.reject(it, ref)
            if why is None:
                passed += 1
            else:
                reasons[why] += 1
                if len(failed_examples) < 8:
                    failed_examples.append(
                        {"question": it.question, "answer": it.answer, "reference": ref, "why": why}
                    )
    return {
        "items": len(items),
        "references": n,
        "pass_pct": 100 * passed / max(1, n),
        "reasons": dict(reasons),
        "failed_examples": failed_examples,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=2000, help="items per set (file order)")
    ap.add_argument("--easy-vqa-x", dest="evqa", help="another easy-vqa-x items file")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.evqa:
        SETS["easy-vqa-x"] = args.evqa
    out = {}
    for name, path in SETS.items():
        if not Path(path).exists():
            print(f"{name}: {path} missing (build it with `illume data ...`)")
            continue
        out[name] = {
            f"before ({BEFORE_REV})": measure(path, args.limit, rules_at(BEFORE_REV)),
            "after": measure(path, args.limit, rank),
        }
    print("| set | references | pass before % | pass after % | reasons after |")
    print("|---|---|---|---|---|")
    for name, m in out.items():
        b, a = m[f"before ({BEFORE_REV})"], m["after"]
        print(
            f"| {name} | {a['references']} | {b['pass_pct']:.1f} | {a['pass_pct']:.1f} | "
            f"{a['reasons']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
