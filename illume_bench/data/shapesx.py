"""shapes-x: a CLEVR-X-like benchmark built offline (PIL + numpy, seeded).

Each scene holds 3-6 shapes (circle, square, triangle; 6 colours; large or
small) at random, non-overlapping places (shapesx_scene.py). Per scene one
question of each kind is asked where the scene allows one: attribute,
counting, comparison and spatial (shapesx_questions.py, a grammar with its
own solver), each with 3-4 reference rationales from different sentence
plans citing different evidence (shapesx_references.py). Every object is
recorded in the item's ``facts``.

`build_shapes_x` writes ``items.jsonl`` and ``images/{split}/{scene}.png``
into a folder, the layout of easy-vqa-x; `illume data shapes-x --out DIR`
runs it. Scenes, questions and wordings depend only on the seed and the
scene's index, so a build with fewer scenes is a subset of a larger one.
"""

from __future__ import annotations

import argparse
import random
import shutil
import uuid
from pathlib import Path

from illume.items import Item, write_jsonl
from illume_bench.data.shapesx_questions import pick_questions
from illume_bench.data.shapesx_references import reference_explanations
from illume_bench.data.shapesx_scene import make_scene, render, scene_facts

DEFAULT_SCENES = 2000
SPLIT_SHARES = (("train", 0.7), ("val", 0.1), ("test", 0.2))
"""Share of the scenes per split; split by scene, so no image is in two splits."""


def scene_split(index: int, seed: int) -> str:
    """The split of scene `index`: a seeded draw, independent of the number of scenes."""
    u = random.Random(f"shapes-x-split-{seed}:{index}").random()
    total = 0.0
    for split, share in SPLIT_SHARES:
        total += share
        if u < total:
            return split
    return SPLIT_SHARES[-1][0]


def scene_items(index: int, seed: int, split: str, image: str) -> tuple[object, list[Item]]:
    """Scene `index` and its items (one question per kind the scene allows)."""
    scene = make_scene(random.Random(f"shapes-x-scene-{seed}:{index}"))
    objs = list(scene.objects)
    facts = scene_facts(scene)
    items = []
    for solved_q, (text, solved) in enumerate(
        pick_questions(objs, random.Random(f"shapes-x-questions-{seed}:{index}"))
    ):
        item_id = f"shapesx-{index:05d}-{solved_q}"
        refs = reference_explanations(
            solved, objs, random.Random(f"shapes-x-refs-{seed}:{item_id}")
        )
        items.append(
            Item(
                id=item_id,
                image=image,
                question=text,
                answer=solved.answer,
                explanations=refs,
                split=split,
                facts=dict(facts),
            )
        )
    return scene, items


def build_shapes_x(
    out_dir: str | Path, scenes: int = DEFAULT_SCENES, seed: int = 0
) -> dict[str, int]:
    """Write shapes-x to `out_dir`; return the number of items per split.

    Writes ``items.jsonl`` (atomically) and ``images/{split}/{index}.png``;
    item ``image`` fields are relative to `out_dir`. Re-running replaces the
    items file and the images folder (built beside it, then swapped in).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".images.tmp-{uuid.uuid4().hex[:8]}"
    counts = {split: 0 for split, _ in SPLIT_SHARES}
    rows = []
    try:
        for index in range(scenes):
            split = scene_split(index, seed)
            image = f"images/{split}/{index:05d}.png"
            scene, items = scene_items(index, seed, split, image)
            dest = staging / image.split("/", 1)[1]
            dest.parent.mkdir(parents=True, exist_ok=True)
            render(scene, dest)
            counts[split] += len(items)
            rows.extend(item.to_dict() for item in items)
        staging.mkdir(parents=True, exist_ok=True)
        images = out_dir / "images"
        if images.exists():
            old = out_dir / f".images.old-{uuid.uuid4().hex[:8]}"
            images.rename(old)
            shutil.rmtree(old)
        staging.rename(images)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    write_jsonl(out_dir / "items.jsonl", rows)
    return counts


def cli_data(args: argparse.Namespace) -> int:
    """`illume data shapes-x --out DIR [--scenes N] [--seed S]`."""
    scenes = args.scenes if getattr(args, "scenes", None) else DEFAULT_SCENES
    counts = build_shapes_x(args.out, scenes=scenes, seed=args.seed)
    print(f"shapes-x ({scenes} scenes) -> {args.out}/items.jsonl: {counts}")
    return 0
