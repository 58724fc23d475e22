"""Importer for VQA-X annotations (the JSON files e-ViL and NLX-GPT distribute).

``vqaX_train.json`` / ``vqaX_val.json`` / ``vqaX_test.json`` map a question
id to a record::

    {"question": "What is the man doing?",
     "answers": [{"answer": "surfing", "answer_confidence": "yes", "answer_id": 1}, ...],
     "image_id": 123, "image_name": "COCO_val2014_000000000123.jpg",
     "explanation": ["he is standing on a surfboard in the ocean", ...]}

The answer is a ``multiple_choice_answer`` (or ``answer``) field when the
record has one, else the most frequent of ``answers[*].answer`` (a tie goes to
the answer seen first). Images are COCO files: ``image_root/image_name``, or
``image_root/train2014|val2014/image_name`` (the folder named by the file
name's prefix). The images need not exist at import time.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from illume.items import Item, write_jsonl

log = logging.getLogger(__name__)

_COCO_FOLDER = re.compile(r"^COCO_([a-z]+\d{4})_")


def _answer(rec: dict[str, Any]) -> str | None:
    for key in ("multiple_choice_answer", "answer"):
        value = rec.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    answers = rec.get("answers")
    if not isinstance(answers, list):
        return None
    texts: list[str] = []
    for a in answers:
        text = a.get("answer") if isinstance(a, dict) else a
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
    if not texts:
        return None
    counts = Counter(texts)
    best = max(counts.values())
    return next(t for t in texts if counts[t] == best)  # ties: the first seen


def _explanations(rec: dict[str, Any]) -> list[str]:
    raw = rec.get("explanation", rec.get("explanations"))
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [e.strip() for e in raw if isinstance(e, str) and e.strip()]


def coco_image_path(image_root: str | Path, image_name: str) -> Path:
    """Where a COCO image lies under `image_root`.

    ``image_root/image_name`` when that file exists, or when `image_root` is
    itself the ``train2014``/``val2014`` folder; else
    ``image_root/<train2014|val2014>/image_name`` (named by the file's
    ``COCO_<folder>_`` prefix) when that file or folder exists. With neither
    on disk, the direct path.
    """
    root = Path(image_root)
    direct = root / image_name
    m = _COCO_FOLDER.match(image_name)
    if direct.exists() or m is None or root.name == m.group(1):
        return direct
    nested = root / m.group(1) / image_name
    if nested.exists() or nested.parent.is_dir():
        return nested
    return direct


def import_vqax(
    json_path: str | Path,
    image_root: str | Path,
    split: str,
    out_path: str | Path | None = None,
    warnings: list[str] | None = None,
) -> list[Item]:
    """Read a VQA-X annotation file into items (with their explanations).

    Item ids are ``vqax-{split}-{question_id}``. A record without a question,
    an answer or an image name is skipped with a warning: logged, and appended
    to `warnings` when a list is given. With `out_path`, the items are also
    written there as JSONL (atomically), their image paths relative to the
    file's folder when both are on the same drive.
    """
    warns: list[str] = [] if warnings is None else warnings
    with open(json_path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        records = list(data.items())
    elif isinstance(data, list):
        records = [
            (str(r.get("question_id", n)) if isinstance(r, dict) else str(n), r)
            for n, r in enumerate(data)
        ]
    else:
        raise ValueError(f"{json_path}: expected a JSON object keyed by question id")

    items: list[Item] = []
    for qid, rec in records:
        if not isinstance(rec, dict):
            _warn(warns, f"{json_path}: record {qid}: not a JSON object, skipped")
            continue
        question = rec.get("question")
        answer = _answer(rec)
        image_name = rec.get("image_name")
        missing = [
            name
            for name, value in (
                ("question", question),
                ("answer", answer),
                ("image_name", image_name),
            )
            if not (isinstance(value, str) and value.strip())
        ]
        if missing:
            _warn(warns, f"{json_path}: record {qid}: missing {', '.join(missing)}, skipped")
            continue
        assert isinstance(question, str) and isinstance(answer, str)
        assert isinstance(image_name, str)
        items.append(
            Item(
                id=f"vqax-{split}-{qid}",
                image=str(coco_image_path(image_root, image_name.strip())),
                question=question.strip(),
                answer=answer,
                explanations=_explanations(rec),
                split=split,
            )
        )
    if warns:
        log.info("VQA-X %s: %d items, %d record(s) skipped", split, len(items), len(warns))

    if out_path is not None:
        out_dir = Path(out_path).resolve().parent
        rows = []
        for item in items:
            row = item.to_dict()
            try:
                row["image"] = os.path.relpath(Path(item.image).resolve(), out_dir)
            except ValueError:  # another drive (Windows)
                row["image"] = str(Path(item.image).resolve())
            rows.append(row)
        write_jsonl(out_path, rows)
    return items


def _warn(warns: list[str], message: str) -> None:
    log.warning(message)
    warns.append(message)
