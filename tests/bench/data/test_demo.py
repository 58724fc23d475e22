"""The shipped demo set: every item loads, every photo opens, ids are unique."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import illume_bench
from illume.items import SPLITS, load_items

DEMO = Path(illume_bench.__file__).resolve().parent / "data" / "demo"
ITEMS = DEMO / "items.jsonl"


@pytest.fixture(scope="module")
def loaded():
    return load_items(ITEMS)


def test_all_items_parse(loaded):
    items, errors = loaded
    assert errors == []
    assert len(items) >= 12


def test_ids_unique(loaded):
    items, _ = loaded
    ids = [it.id for it in items]
    assert len(ids) == len(set(ids))


def test_fields(loaded):
    items, _ = loaded
    for it in items:
        assert it.split in SPLITS, it.id
        assert it.question.strip() and it.answer.strip(), it.id
        assert it.answer == it.answer.lower() and len(it.answer.split()) <= 3, it.id
        assert 2 <= len(it.explanations) <= 3, it.id
        assert all(e.strip() for e in it.explanations), it.id


def test_images_exist_and_open(loaded):
    items, _ = loaded
    for it in items:
        path = Path(it.image)
        assert path.is_file(), f"{it.id}: missing {path}"
        assert path.resolve().is_relative_to(DEMO.resolve()), it.id
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            im.load()
            assert max(im.size) <= 512, it.id


def test_images_small():
    total = sum(p.stat().st_size for p in (DEMO / "images").iterdir() if p.is_file())
    assert total < 1.5 * 1024 * 1024
