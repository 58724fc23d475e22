"""easy-vqa importer and the embedded benchmark "easy-vqa-x".

easy-vqa (the `easy-vqa` package, MIT) holds 64x64 images with one coloured
shape each and templated questions about it, but no explanations. Every
question reveals something about its image (its colour, its shape, or that a
colour or shape is absent), so each image's *facts* (``colour`` and ``shape``)
can be derived exactly from its questions; for the ~11% of images whose
questions leave a gap, it is read off the pixels (checked against the question
facts of every other image). From the facts and the question type, CLEVR-X
style templates (easyvqa_references.py) give several reference explanations
per item.

`build_easy_vqa_x` writes the benchmark: ``items.jsonl`` (one `Item` per
question, with explanations and facts) and the images it uses under
``images/{split}/{image_id}.png``.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from illume.items import Item, write_jsonl
from illume_bench.data.easyvqa_questions import (
    COLOURS,
    SHAPES,
    answer_consistent,
    parse_question,
    yes_no,
)
from illume_bench.data.easyvqa_references import reference_explanations

log = logging.getLogger(__name__)

VAL_FRACTION = 0.1


def _as_triples(questions: Any) -> list[tuple[str, str, int]]:
    """Accept [text, answer, image_id] triples or easy_vqa's (texts, answers, ids)."""
    qs = list(questions)
    if (
        len(qs) == 3
        and all(isinstance(col, (list, tuple)) for col in qs)
        and len(qs[0]) == len(qs[1]) == len(qs[2])
        and all(isinstance(t, str) for t in qs[0])
        and all(isinstance(i, int) and not isinstance(i, bool) for i in qs[2])
    ):
        return [(t, a, int(i)) for t, a, i in zip(qs[0], qs[1], qs[2], strict=True)]
    return [(str(t), str(a), int(i)) for t, a, i in qs]


# --------------------------------------------------------------------------
# Facts

from illume_bench.data.easyvqa_pixels import SHAPE_RGB, pixel_facts  # noqa: E402, F401


def derive_image_facts(
    questions: Any,
    image_paths: dict[int, str] | None = None,
    check_pixels: bool = False,
) -> tuple[dict[int, dict[str, str]], dict[int, str]]:
    """Facts per image id, and the reason for each image whose facts are unclear.

    From the questions: positive evidence (an answer naming a colour or shape,
    a mention presupposed by a "what" question, a yes/no answer saying a value
    is present) fixes a value; negative evidence (a value said to be absent)
    excludes it, and a value is fixed when all others are excluded. About 11%
    of easy-vqa's images have too few questions for that; given
    `image_paths`, such a gap is filled from the pixels (`pixel_facts`), which
    must not contradict the questions. With `check_pixels`, every image's
    question facts are also checked against its pixels. An image is reported
    (and left out) when evidence conflicts or a value stays open; finally every
    question is checked against the facts.
    """
    triples = _as_triples(questions)
    pos: dict[int, dict[str, set[str]]] = {}
    neg: dict[int, dict[str, set[str]]] = {}
    problems: dict[int, str] = {}
    by_image: dict[int, list[tuple[str, str]]] = {}
    for text, answer, image_id in triples:
        by_image.setdefault(image_id, []).append((text, answer))
        p = pos.setdefault(image_id, {"colour": set(), "shape": set()})
        n = neg.setdefault(image_id, {"colour": set(), "shape": set()})
        try:
            pq = parse_question(text)
            a = answer.strip().lower()
            if pq.kind == "colour":
                if a not in COLOURS:
                    raise ValueError(f"colour question {text!r} answered {answer!r}")
                p["colour"].add(a)
                if pq.shape:
                    p["shape"].add(pq.shape)
            elif pq.kind == "shape":
                if a not in SHAPES:
                    raise ValueError(f"shape question {text!r} answered {answer!r}")
                p["shape"].add(a)
                if pq.colour:
                    p["colour"].add(pq.colour)
            else:
                present = yes_no(a) != pq.negated
                assert pq.target is not None and pq.value is not None
                (p if present else n)[pq.target].add(pq.value)
        except ValueError as e:
            problems.setdefault(image_id, str(e))

    facts: dict[int, dict[str, str]] = {}
    for image_id in sorted(by_image):
        if image_id in problems:
            continue
        f: dict[str, str] = {}
        open_attrs: dict[str, list[str]] = {}
        for attr, universe in (("colour", COLOURS), ("shape", SHAPES)):
            yes, no = pos[image_id][attr], neg[image_id][attr]
            if len(yes) > 1:
                problems[image_id] = f"conflicting {attr}s: {sorted(yes)}"
                break
            if yes & no:
                problems[image_id] = f"{attr} {sorted(yes)[0]!r} said present and absent"
                break
            left = sorted(yes) if yes else [v for v in universe if v not in no]
            if len(left) == 1:
                f[attr] = left[0]
            else:
                open_attrs[attr] = left
        if image_id in problems:
            continue
        path = (image_paths or {}).get(image_id)
        if path is not None and (open_attrs or check_pixels):
            seen = pixel_facts(path)
            for attr, value in f.items():
                if check_pixels and seen.get(attr, value) != value:
                    problems[image_id] = f"questions say {attr} {value}, pixels {seen[attr]}"
            for attr, left in open_attrs.items():
                if seen.get(attr) in left:
                    f[attr] = seen[attr]
        if image_id in problems:
            continue
        missing = [a for a in ("colour", "shape") if a not in f]
        if missing:
            attr = missing[0]
            left = open_attrs.get(attr, [])
            problems[image_id] = f"{attr} undetermined (possible: {', '.join(left) or 'none'})"
            continue
        bad = [t for t, a in by_image[image_id] if not answer_consistent(t, a, f)]
        if bad:
            problems[image_id] = f"question(s) contradict the derived facts: {bad[:3]}"
            continue
        facts[image_id] = f
    return facts, problems


def image_facts(
    questions: Any, image_paths: dict[int, str] | None = None
) -> dict[int, dict[str, str]]:
    """``{image_id: {"colour": ..., "shape": ...}}`` derived from the questions.

    `questions` is a list of ``[text, answer, image_id]`` triples, or the
    ``(texts, answers, image_ids)`` tuple easy_vqa's getters return. With
    `image_paths` (``{image_id: path}``, as easy_vqa's getters return), gaps
    the questions leave are read off the pixels. Images whose facts cannot be
    determined are logged and left out (see `derive_image_facts`).
    """
    facts, problems = derive_image_facts(questions, image_paths)
    for image_id, why in sorted(problems.items()):
        log.warning("easy-vqa image %s skipped: %s", image_id, why)
    return facts


# --------------------------------------------------------------------------
# The benchmark


def _split_val_images(train_image_ids: Sequence[int], seed: int) -> set[int]:
    """A seeded ~10% of the easy-vqa train images, held out as validation."""
    ids = sorted(train_image_ids)
    random.Random(f"easy-vqa-x-val-{seed}").shuffle(ids)
    return set(ids[: round(VAL_FRACTION * len(ids))])


def _item_rng(seed: int, item_id: str) -> random.Random:
    """The wording rng of one item: independent of which other items are kept."""
    return random.Random(f"easy-vqa-x-{seed}:{item_id}")


def _subsample(rows: list[dict[str, Any]], limit: int | None, key: str) -> list[dict[str, Any]]:
    """The first `limit` rows of a seeded permutation (so smaller limits give subsets)."""
    if limit is None or limit >= len(rows):
        return rows
    order = sorted(rows, key=lambda r: r["id"])
    random.Random(key).shuffle(order)
    keep = {r["id"] for r in order[: max(limit, 0)]}
    return [r for r in rows if r["id"] in keep]


def build_easy_vqa_x(
    out_dir: str | Path,
    seed: int = 0,
    max_train: int | None = None,
    max_val: int | None = None,
    max_test: int | None = None,
    with_explanations: bool = True,
) -> dict[str, int]:
    """Write easy-vqa-x to `out_dir`; return the number of items per split.

    Writes ``items.jsonl`` (atomically) and ``images/{split}/{image_id}.png``
    for the images the items use; item ``image`` fields are relative to
    `out_dir`. Splits: val is a seeded ~10% of the easy-vqa train *images*, so
    no image is in two splits; test is easy-vqa's test set. ``max_*`` keep a
    seeded subset of that split's items (a smaller limit gives a subset of a
    larger one). Re-running replaces the items file and the images folder.
    """
    import easy_vqa

    out_dir = Path(out_dir)
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in ("train", "val", "test")}
    sources: dict[str, dict[int, str]] = {}
    for src, get_q, get_paths in (
        ("train", easy_vqa.get_train_questions, easy_vqa.get_train_image_paths),
        ("test", easy_vqa.get_test_questions, easy_vqa.get_test_image_paths),
    ):
        triples = _as_triples(get_q())
        paths = get_paths()
        sources[src] = paths
        facts, problems = derive_image_facts(triples, paths)
        for image_id, why in sorted(problems.items()):
            log.warning("easy-vqa %s image %s skipped: %s", src, image_id, why)
        val_ids = _split_val_images(list(paths), seed) if src == "train" else set()
        for qn, (text, answer, image_id) in enumerate(triples):
            if image_id not in facts or image_id not in paths:
                continue
            split = "val" if image_id in val_ids else src
            item = Item(
                id=f"easyvqa-{src}-{qn:05d}",
                image=f"images/{split}/{image_id}.png",
                question=text.strip(),
                answer=answer.strip(),
                split=split,
                facts=dict(facts[image_id]),
            )
            row = item.to_dict()
            row["_src"] = (src, image_id)
            rows[split].append(row)

    limits = {"train": max_train, "val": max_val, "test": max_test}
    for split in rows:
        rows[split] = _subsample(rows[split], limits[split], f"easy-vqa-x-{split}-{seed}")
        if with_explanations:
            for row in rows[split]:
                row["explanations"] = reference_explanations(
                    row["question"], row["answer"], row["facts"], _item_rng(seed, row["id"])
                )

    # Images: build a fresh folder next to the old one, then swap it in.
    out_dir.mkdir(parents=True, exist_ok=True)
    images = out_dir / "images"
    staging = out_dir / f".images.tmp-{uuid.uuid4().hex[:8]}"
    try:
        copied: set[str] = set()
        for split_rows in rows.values():
            for row in split_rows:
                src, image_id = row.pop("_src")
                if row["image"] in copied:
                    continue
                dest = staging / row["image"].split("/", 1)[1]
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sources[src][image_id], dest)
                copied.add(row["image"])
        staging.mkdir(parents=True, exist_ok=True)
        old = out_dir / f".images.old-{uuid.uuid4().hex[:8]}"
        if images.exists():
            os.replace(images, old)
        os.replace(staging, images)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

    write_jsonl(out_dir / "items.jsonl", (r for s in ("train", "val", "test") for r in rows[s]))
    return {split: len(split_rows) for split, split_rows in rows.items()}
