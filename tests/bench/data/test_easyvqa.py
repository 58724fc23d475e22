"""easy-vqa facts, reference explanations and the easy-vqa-x build."""

from __future__ import annotations

import json
import random
import re

import easy_vqa
import pytest

from illume.items import load_items
from illume_bench.data.easyvqa import (
    _split_val_images,
    build_easy_vqa_x,
    derive_image_facts,
    image_facts,
    pixel_facts,
)
from illume_bench.data.easyvqa_questions import COLOURS, SHAPES, answer_consistent, parse_question
from illume_bench.data.easyvqa_references import (
    reference_explanations,
    reference_templates,
    restatement_baseline,
)


@pytest.fixture(scope="module")
def train():
    questions = easy_vqa.get_train_questions()
    paths = easy_vqa.get_train_image_paths()
    facts, problems = derive_image_facts(questions, paths)
    return questions, paths, facts, problems


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("evx")
    counts = build_easy_vqa_x(out, seed=0, max_train=60, max_val=20, max_test=20)
    return out, counts


# --------------------------------------------------------------------- facts


def test_parse_question_forms():
    p = parse_question("what color is the rectangle?")
    assert (p.kind, p.shape) == ("colour", "rectangle")
    p = parse_question("what is the blue shape?")
    assert (p.kind, p.colour) == ("shape", "blue")
    p = parse_question("does the image not contain a gray shape?")
    assert (p.kind, p.target, p.value, p.negated) == ("yesno", "colour", "gray", True)
    p = parse_question("is no triangle present?")
    assert (p.target, p.value, p.negated) == ("shape", "triangle", True)
    p = parse_question("is there a circle in the image?")
    assert (p.target, p.value, p.negated) == ("shape", "circle", False)
    with pytest.raises(ValueError):
        parse_question("how many shapes are there?")


def test_every_train_image_has_facts(train):
    questions, paths, facts, problems = train
    assert problems == {}
    assert sorted(facts) == sorted(paths) and len(facts) == 4000
    for f in facts.values():
        assert f["colour"] in COLOURS and f["shape"] in SHAPES
    # every question agrees with its image's facts
    for text, answer, image_id in zip(*questions, strict=True):
        assert answer_consistent(text, answer, facts[image_id]), (text, answer, image_id)


def test_question_only_facts_are_a_subset(train):
    questions, _, facts, _ = train
    q_facts, q_problems = derive_image_facts(questions)
    assert len(q_facts) > 3500  # ~11% of images have too few questions on their own
    assert all(facts[i] == f for i, f in q_facts.items())
    assert all("undetermined" in why for why in q_problems.values())


def test_spot_check_against_questions(train):
    _, _, facts, _ = train
    # read off the package's images and questions by hand
    assert facts[0] == {"colour": "blue", "shape": "rectangle"}
    assert facts[1] == {"colour": "blue", "shape": "triangle"}
    assert facts[2] == {"colour": "red", "shape": "triangle"}
    assert facts[3] == {"colour": "brown", "shape": "rectangle"}
    assert facts[4] == {"colour": "red", "shape": "circle"}
    assert facts[5] == {"colour": "yellow", "shape": "triangle"}


def test_pixels_agree_with_questions_on_test_split():
    questions = easy_vqa.get_test_questions()
    paths = easy_vqa.get_test_image_paths()
    facts, problems = derive_image_facts(questions, paths, check_pixels=True)
    assert problems == {} and len(facts) == 1000
    q_facts, _ = derive_image_facts(questions)
    for i in list(q_facts)[:200]:
        assert pixel_facts(paths[i]) == q_facts[i]


def test_image_facts_reports_unclear_images(caplog):
    triples = [
        ["what color is the shape?", "red", 1],
        ["what shape is present?", "circle", 1],
        ["is there a blue shape?", "no", 2],  # colour and shape stay open
        ["what color is the shape?", "red", 3],
        ["is there not a red shape?", "no", 3],
        ["is there a circle?", "yes", 3],
        ["what color is the shape?", "red", 4],  # contradiction
        ["is a red shape present?", "no", 4],
        ["is there a triangle?", "yes", 4],
        ["is there not a green shape?", "no", 5],  # colour by a negated "no"
        ["does the image not contain a circle?", "yes", 5],  # shape by elimination
        ["is no rectangle present?", "yes", 5],
    ]
    with caplog.at_level("WARNING"):
        facts = image_facts(triples)
    assert facts == {
        1: {"colour": "red", "shape": "circle"},
        3: {"colour": "red", "shape": "circle"},
        5: {"colour": "green", "shape": "triangle"},
    }
    assert "image 2 skipped" in caplog.text and "image 4 skipped" in caplog.text
    # the (texts, answers, ids) columns easy_vqa returns work the same
    assert image_facts(tuple(map(list, zip(*triples, strict=True)))) == facts


# ---------------------------------------------------------------- references

_NEG = re.compile(r"\b(not|no)\s+(a\s+)?$")


def _named(text: str, words: tuple[str, ...]) -> set[str]:
    """The words of `words` a text names, leaving out negated ones ("not red", "no circle")."""
    found = set()
    for m in re.finditer(r"\b(" + "|".join(words) + r")\b", text):
        if not _NEG.search(text[: m.start()]):
            found.add(m.group(1))
    return found


QUESTIONS = [
    "what color is the shape?",
    "what is the color of the {s}?",
    "what is the {c} shape?",
    "what shape does the image contain?",
    "is there a {c} shape?",
    "is there a {x} shape in the image?",
    "does the image contain a {s}?",
    "is a {y} present?",
    "is there not a {c} shape?",
    "does the image not contain a {x} shape?",
    "is no {s} present?",
    "is there not a {y} in the image?",
]


@pytest.mark.parametrize("template", QUESTIONS)
def test_references_name_the_facts_and_fit_the_answer(template):
    rng = random.Random(7)
    for colour in COLOURS:
        for shape in SHAPES:
            facts = {"colour": colour, "shape": shape}
            x = rng.choice([c for c in COLOURS if c != colour])
            y = rng.choice([s for s in SHAPES if s != shape])
            question = template.format(c=colour, s=shape, x=x, y=y)
            answers = (colour, shape, "yes", "no")
            answer = next(a for a in answers if answer_consistent(question, a, facts))
            refs = reference_explanations(question, answer, facts, rng)
            assert len(refs) >= 3 and len(set(refs)) == len(refs)
            both = 0
            for ref in refs:
                assert ref == ref.lower() and not ref.endswith(".")
                assert 4 <= len(ref.split()) <= 10, ref
                named_c, named_s = _named(ref, COLOURS), _named(ref, SHAPES)
                assert named_c <= {colour} and named_s <= {shape}, (question, answer, ref)
                both += named_c == {colour} and named_s == {shape}
            if parse_question(question).kind == "shape":  # its properties, never its name
                assert not any(_named(ref, SHAPES) for ref in refs), refs
            else:
                assert both >= len(refs) - 1, refs
            # a "no" to a positive question (or "yes" to a negated one) says what is absent
            pq = parse_question(question)
            if pq.kind == "yesno" and pq.value not in facts.values():
                assert any(pq.value in r for r in refs)


def test_references_examples():
    facts = {"colour": "blue", "shape": "rectangle"}
    pool = reference_templates("what color is the shape?", "blue", facts)
    assert {"the rectangle is blue", "the image shows a blue rectangle"} <= set(pool)
    assert "the shape is blue" not in pool  # a restatement: the labelled baseline only
    assert "the shape is blue" in restatement_baseline("what color is the shape?", "blue", facts)
    pool = reference_templates("what shape is in the image?", "rectangle", facts)
    assert "it has four straight sides and four right angles" in pool
    assert "the blue shape is a rectangle" not in pool
    pool = reference_templates("is there a red shape?", "no", facts)
    assert {"the only shape is a blue rectangle", "the shape is blue, not red"} <= set(pool)


def test_references_reject_a_wrong_answer():
    facts = {"colour": "blue", "shape": "rectangle"}
    with pytest.raises(ValueError):
        reference_explanations("is there a red shape?", "yes", facts, 0)
    with pytest.raises(ValueError):
        reference_explanations("what shape is present?", "circle", facts, 0)


def test_references_deterministic():
    facts = {"colour": "teal", "shape": "circle"}
    q = "does the image not contain a circle?"
    a = reference_explanations(q, "no", facts, random.Random(3))
    assert a == reference_explanations(q, "no", facts, random.Random(3))
    assert a == reference_explanations(q, "no", facts, 3)
    seen = {tuple(reference_explanations(q, "no", facts, s)) for s in range(10)}
    assert len(seen) > 1


# --------------------------------------------------------------------- build


def test_val_split_is_seeded_and_by_image():
    ids = list(range(4000))
    val = _split_val_images(ids, 0)
    assert len(val) == 400 and val == _split_val_images(list(reversed(ids)), 0)
    assert val != _split_val_images(ids, 1)


def test_build_small(built):
    out, counts = built
    assert counts == {"train": 60, "val": 20, "test": 20}
    items, errors = load_items(out / "items.jsonl")
    assert errors == [] and len(items) == 100
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    for row, item in zip(rows, items, strict=True):
        assert row["image"] == f"images/{row['split']}/{row['image'].rsplit('/', 1)[1]}"
        assert (out / row["image"]).is_file()
        assert len(item.explanations) >= 3 and set(item.facts) == {"colour", "shape"}
        assert answer_consistent(item.question, item.answer, item.facts)
    # no easy-vqa image in two splits: val and train both come from easy-vqa train
    train_imgs = {r["image"].rsplit("/", 1)[1] for r in rows if r["split"] == "train"}
    val_imgs = {r["image"].rsplit("/", 1)[1] for r in rows if r["split"] == "val"}
    assert not train_imgs & val_imgs
    assert all(r["id"].startswith("easyvqa-train-") for r in rows if r["split"] != "test")
    assert all(r["id"].startswith("easyvqa-test-") for r in rows if r["split"] == "test")
    on_disk = {p.relative_to(out).as_posix() for p in (out / "images").rglob("*.png")}
    assert on_disk == {r["image"] for r in rows}


def test_build_deterministic_subsets_and_idempotent(built, tmp_path):
    out, _ = built
    big = (out / "items.jsonl").read_text()
    # a smaller limit gives a subset, with the same wordings
    counts = build_easy_vqa_x(tmp_path, seed=0, max_train=25, max_val=5, max_test=0)
    assert counts == {"train": 25, "val": 5, "test": 0}
    small = (tmp_path / "items.jsonl").read_text().splitlines()
    assert set(small) <= set(big.splitlines())
    # re-running over it overwrites cleanly (no stale images) and reproduces the bigger build
    build_easy_vqa_x(tmp_path, seed=0, max_train=60, max_val=20, max_test=20)
    assert (tmp_path / "items.jsonl").read_text() == big
    images = sorted(p.relative_to(tmp_path) for p in (tmp_path / "images").rglob("*.png"))
    assert images == sorted(p.relative_to(out) for p in (out / "images").rglob("*.png"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".images")]
