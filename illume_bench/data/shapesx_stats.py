"""Statistics of a shapes-x build, for its data card (docs/guide/data/shapes-x.md).

    python -m illume_bench.data.shapesx_stats data/shapes-x/items.jsonl \
        --json docs/results/data/shapes-x/stats.json

A reference's *wording* is the reference with every colour, shape, size,
number and place word replaced by a slot: two references with the same
wording differ only in the facts they fill in, so the number of distinct
wordings shows how far the set is from one template with slots.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from illume.items import Item, load_items
from illume_bench.data.shapesx_phrases import NUMBERS
from illume_bench.data.shapesx_questions import answer
from illume_bench.data.shapesx_scene import COLOURS, SHAPES, objects_from_facts

_SLOTS = {
    **{c: "<colour>" for c in COLOURS},
    **{s: "<shape>" for s in SHAPES},
    **{s + "s": "<shapes>" for s in SHAPES},
    **{w: "<size>" for w in ("large", "big", "bigger", "small", "little", "tiny")},
    **{w: "<n>" for w in NUMBERS[1:]},
}
_NUM = re.compile(r"^\d+$")


def wording(text: str) -> str:
    """The reference with its fact words replaced by slots."""
    return " ".join(
        "<n>" if _NUM.match(w) else _SLOTS.get(w, w)
        for w in text.lower().replace(",", " ,").split()
    )


def stats(items: list[Item]) -> dict[str, Any]:
    """Counts per split, question kinds, answers, references and wordings."""
    splits: dict[str, dict[str, int]] = {}
    kinds: Counter[str] = Counter()
    subs: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    objects: Counter[int] = Counter()
    refs: list[str] = []
    per_item: Counter[int] = Counter()
    images: dict[str, set[str]] = {}
    for it in items:
        images.setdefault(it.split, set()).add(it.image)
        splits.setdefault(it.split, {"items": 0})["items"] += 1
        objs = objects_from_facts(it.facts)
        solved = answer(it.question, objs)
        if solved is None:
            raise ValueError(f"item {it.id}: question not well posed: {it.question!r}")
        kinds[solved.kind] += 1
        subs[solved.sub] += 1
        answers[it.answer] += 1
        per_item[len(it.explanations)] += 1
        refs.extend(it.explanations)
    for split, imgs in images.items():
        splits[split]["images"] = len(imgs)
    for it in {i.image: i for i in items}.values():
        objects[int(it.facts["objects"])] += 1
    n = len(items)
    return {
        "items": n,
        "splits": splits,
        "kinds": {k: round(v / n, 4) for k, v in kinds.most_common()},
        "subtypes": {k: round(v / n, 4) for k, v in subs.most_common()},
        "answers": dict(answers.most_common()),
        "objects_per_scene": dict(sorted(objects.items())),
        "references_per_item": dict(sorted(per_item.items())),
        "references": len(refs),
        "distinct_references": len(set(refs)),
        "distinct_wordings": len({wording(r) for r in refs}),
        "mean_reference_words": round(sum(len(r.split()) for r in refs) / max(len(refs), 1), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("items")
    p.add_argument("--json", help="write the statistics here")
    args = p.parse_args(argv)
    items, errors = load_items(args.items)
    if errors:
        raise SystemExit(f"{len(errors)} bad items, first: {errors[0]}")
    result = stats(items)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
