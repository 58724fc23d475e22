"""shapes-x: determinism, splits, facts, answers, references and images."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from illume.items import load_items
from illume_bench.data.shapesx import build_shapes_x
from illume_bench.data.shapesx_questions import KINDS, answer
from illume_bench.data.shapesx_scene import COLOUR_RGB, Obj, objects_from_facts
from illume_bench.fact_errors import wrong_facts

SCENES = 24


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("sx")
    counts = build_shapes_x(out, scenes=SCENES, seed=0)
    items, errors = load_items(out / "items.jsonl")
    assert errors == []
    return out, counts, items


def _digest(folder) -> str:
    h = hashlib.sha256((folder / "items.jsonl").read_bytes())
    for png in sorted((folder / "images").rglob("*.png")):
        h.update(png.name.encode() + png.read_bytes())
    return h.hexdigest()


def test_build_is_deterministic_and_smaller_builds_are_subsets(built, tmp_path):
    out, _, items = built
    build_shapes_x(tmp_path / "again", scenes=SCENES, seed=0)
    assert _digest(tmp_path / "again") == _digest(out)
    build_shapes_x(tmp_path / "small", scenes=SCENES // 2, seed=0)
    small, _ = load_items(tmp_path / "small" / "items.jsonl")
    full = {(i.id, i.question, tuple(i.explanations)) for i in items}
    assert {(i.id, i.question, tuple(i.explanations)) for i in small} <= full
    build_shapes_x(tmp_path / "other", scenes=SCENES, seed=1)
    other, _ = load_items(tmp_path / "other" / "items.jsonl")
    assert [i.question for i in other] != [i.question for i in items]


def test_splits_are_by_scene(built):
    _, counts, items = built
    assert sum(counts.values()) == len(items)
    assert set(counts) == {"train", "val", "test"} and counts["train"] > 0
    split_of: dict[str, set[str]] = {}
    for it in items:
        split_of.setdefault(it.image, set()).add(it.split)
        assert f"images/{it.split}/" in it.image
    assert all(len(s) == 1 for s in split_of.values())


def test_every_object_is_recorded_and_matches_the_pixels(built):
    _, _, items = built
    for it in {i.image: i for i in items}.values():
        objs = objects_from_facts(it.facts)
        assert len(objs) == int(it.facts["objects"]) >= 3
        assert set(it.facts["colours"].split(", ")) == {o.colour for o in objs}
        assert set(it.facts["shapes"].split(", ")) == {o.shape for o in objs}
        with Image.open(it.image) as im:
            assert im.format == "PNG"
            rgb = np.asarray(im.convert("RGB"))
        for o in objs:  # the object's colour is painted at its centre
            centre = rgb[o.y + (o.half // 3 if o.shape == "triangle" else 0), o.x]
            assert tuple(centre) == COLOUR_RGB[o.colour], (it.image, o)


def test_answers_follow_from_the_facts(built):
    _, _, items = built
    kinds = Counter()
    for it in items:
        solved = answer(it.question, objects_from_facts(it.facts))
        assert solved is not None and solved.answer == it.answer, (it.question, it.facts)
        kinds[solved.kind] += 1
    assert set(kinds) == set(KINDS)


def test_references_are_distinct_and_name_no_wrong_fact(built):
    _, _, items = built
    for it in items:
        refs = it.explanations
        assert len(refs) >= 3 and len(set(refs)) == len(refs)
        for ref in refs:
            assert wrong_facts(ref, it.facts) == [], (ref, it.facts)


def test_references_cite_different_evidence(built):
    """Not one template with slots: an item's references differ in content words."""
    _, _, items = built
    for it in items:
        words = [set(r.split()) for r in it.explanations]
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                overlap = len(words[i] & words[j]) / len(words[i] | words[j])
                assert overlap < 0.9, it.explanations


# ------------------------------------------------------ the solver, by hand

SCENE = [
    Obj("large", "red", "circle", 20, 20),
    Obj("small", "red", "square", 100, 20),
    Obj("large", "blue", "square", 60, 100),
    Obj("small", "green", "triangle", 110, 110),
]


@pytest.mark.parametrize(
    "question, expected",
    [
        ("what colour is the large square?", "blue"),
        ("what shape is the green object?", "triangle"),
        ("what size is the red square?", "small"),
        ("is there a small red square?", "yes"),
        ("is there a blue circle?", "no"),
        ("how many red objects are there?", "2"),
        ("how many squares are there?", "2"),
        ("how many yellow objects are there?", "0"),
        ("are there more squares than circles?", "yes"),
        ("are there as many red objects as blue objects?", "no"),
        ("is the red circle the same size as the blue square?", "yes"),
        ("is the triangle the same colour as the small square?", "no"),
        ("what shape is the object to the left of the blue square?", "circle"),
        ("what colour is the triangle to the right of the large square?", "green"),
        ("is the triangle below the red square?", "yes"),
        ("is the circle to the right of the blue square?", "no"),
        ("what shape is the leftmost object?", "circle"),
        ("what colour is the lowest object?", "green"),
    ],
)
def test_solver_on_a_hand_made_scene(question, expected):
    solved = answer(question, SCENE)
    assert solved is not None and solved.answer == expected


@pytest.mark.parametrize(
    "question",
    [
        "what colour is the square?",  # two squares: not well posed
        "what colour is the square to the right of the circle?",  # both squares are
        "what colour is the object below the circle?",  # three objects are
    ],
)
def test_solver_refuses_ambiguous_questions(question):
    assert answer(question, SCENE) is None


def test_wrong_pairing_is_a_fact_error():
    facts = {"object_1": "large red circle at x=1 y=1", "object_2": "small blue square at x=9 y=9"}
    assert wrong_facts("a red square", facts) == ["red square"]
    assert wrong_facts("a red circle and a blue square", facts) == []
    assert wrong_facts("there is no red square", facts) == []
    assert wrong_facts("a green circle", facts) == ["green"]
    assert wrong_facts("it is blue", {"colours": "red, blue"}) == []
    assert wrong_facts("a triangle", {"shapes": "circle, square"}) == ["triangle"]


def test_item_file_is_plain_json(built):
    out, _, _ = built
    first = json.loads((out / "items.jsonl").read_text().splitlines()[0])
    assert set(first) == {"id", "image", "question", "answer", "explanations", "split", "facts"}
    assert not first["image"].startswith("/")


def test_cli_builds_a_small_set(tmp_path, capsys):
    from illume.cli import main

    assert main(["data", "shapes-x", "--out", str(tmp_path), "--scenes", "3"]) == 0
    assert "shapes-x (3 scenes)" in capsys.readouterr().out
    items, errors = load_items(tmp_path / "items.jsonl")
    assert errors == [] and len({i.image for i in items}) >= 3 and len(items) >= 9
