"""Whether the simulated annotator can judge photos: people pass, junk does not.

Before its verdicts on photos mean anything, the judge must tick what people
wrote and refuse what a careful person would not tick. This judges:

- every demo reference against all of its item's references (its own
  included: it must pass) and with its own left out (the others only: what a
  second person's rationale meets);
- the hand-written junk list `illume_bench/data/demo/photo-junk.jsonl`
  (restatements with modifiers, copies of the image context, sentences about
  something else), which it must refuse.

Reads files only. Prints the rates and each verdict that goes the wrong way:

    PYTHONPATH=. python bench/annotator_photo_check.py \
        --json docs/results/critics/annotator-photo-check.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.demo_items import DEMO_ITEMS, demo_items

JUNK = DEMO_ITEMS.parent / "photo-junk.jsonl"


def check() -> dict:
    annotator = SimulatedAnnotator()
    items = {it.id: it for it in demo_items()}
    own, held_out, wrong = [], [], []
    for item in items.values():
        refs = list(item.explanations or [])
        for i, ref in enumerate(refs):
            ok, why = annotator.judge(item, ref)
            own.append(ok)
            if not ok:
                wrong.append({"id": item.id, "text": ref, "set": "own", "why": why})
            others = item.__class__(**{**item.__dict__, "explanations": refs[:i] + refs[i + 1 :]})
            ok, why = annotator.judge(others, ref)
            held_out.append({"id": item.id, "text": ref, "fits": ok, "why": why})
    junk = []
    for line in JUNK.read_text().splitlines():
        row = json.loads(line)
        ok, why = annotator.judge(items[row["id"]], row["text"])
        junk.append({**row, "refused": not ok, "why": why})
    return {
        "references": len(own),
        "references_pass_own": sum(own),
        "references_pass_held_out": sum(r["fits"] for r in held_out),
        "junk": len(junk),
        "junk_refused": sum(r["refused"] for r in junk),
        "wrong_on_own": wrong,
        "held_out": held_out,
        "junk_rows": junk,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    out = check()
    n = out["references"]
    print(f"references passing with all references: {out['references_pass_own']}/{n}")
    print(f"references passing with their own left out: {out['references_pass_held_out']}/{n}")
    print(f"junk refused: {out['junk_refused']}/{out['junk']}")
    for r in out["wrong_on_own"]:
        print(f"  REFUSED REFERENCE {r['id']}: {r['text']!r} ({r['why']})")
    for r in out["junk_rows"]:
        if not r["refused"]:
            print(f"  TICKED JUNK {r['id']}: {r['text']!r} ({r['why']})")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
