"""The simulated annotator on photos: people's rationales pass, the junk list does not."""

from __future__ import annotations

import json

import pytest

from illume_bench.critics.photo_reading import answer_modifiers, copied_description, off_picture
from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.demo_items import DEMO_ITEMS, demo_items

JUNK = [json.loads(x) for x in (DEMO_ITEMS.parent / "photo-junk.jsonl").read_text().splitlines()]
ITEMS = {it.id: it for it in demo_items()}


@pytest.mark.parametrize("row", JUNK, ids=lambda r: r["text"][:40])
def test_annotator_refuses_the_photo_junk(row):
    ok, why = SimulatedAnnotator().judge(ITEMS[row["id"]], row["text"])
    assert not ok, why


def test_annotator_passes_the_demo_references():
    """Each reference judged with its item's references: people's rationales all pass."""
    annotator = SimulatedAnnotator()
    refused = [r for it in ITEMS.values() for r in it.explanations if not annotator.judge(it, r)[0]]
    assert refused == []


def test_modifiers_of_the_answer_are_no_evidence():
    assert answer_modifiers("she's a space suit astronaut", "astronaut") == {"space", "suit"}
    assert answer_modifiers("she is an astronaut in a space suit", "astronaut") == set()
    item = ITEMS["demo-astronaut"]
    assert SimulatedAnnotator().judge(item, "she wears an orange space suit and a helmet")[0]


def test_copies_and_definitions():
    assert copied_description("it is very dark brown to nearly black, in a small cup", set())
    assert not copied_description("the small cup holds a brown drink with a light foam", set())
    assert off_picture("lake is a large body of water", "lake") == "a definition of the answer"
    assert off_picture("the lake can be seen behind the tower", "lake") is None
    assert "hedge" in off_picture("the eye is red and can be either round or square", "eye")
