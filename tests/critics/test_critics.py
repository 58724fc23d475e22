"""Each automatic critic on tiny inputs, and the --critic selection."""

import pytest

from illume.critics import FactsCritic, SimulatedAnnotator, make_critic
from illume.critique import Critic, CriticConfig, RougeCritic
from illume.items import Item

TRIANGLE = Item(
    "t",
    "x.png",
    "what shape is in the image?",
    "triangle",
    ["the shape is a red triangle", "the image shows a red triangle"],
    facts={"colour": "red", "shape": "triangle"},
)
COLOUR = Item(
    "c",
    "x.png",
    "what colour is the shape?",
    "red",
    ["the image shows a red circle"],
    facts={"colour": "red", "shape": "circle"},
)
SCENE = Item(
    "s",
    "x.png",
    "how many circles are there?",
    "2",
    ["there are two circles, a red one and a blue one"],
    facts={
        "colours": "red,blue",
        "shapes": "circle,rectangle",
        "object_1": "large red circle at x=10 y=10",
        "object_2": "small blue circle at x=50 y=50",
        "object_3": "small blue rectangle at x=90 y=20",
    },
)
PHOTO = Item(
    "p",
    "cat.jpg",
    "what animal is this?",
    "cat",
    ["it has whiskers, pointed ears and striped fur"],
)


def test_make_critic_builds_each_kind_behind_the_interface():
    cfg = CriticConfig()
    assert isinstance(make_critic(cfg), RougeCritic)
    assert isinstance(make_critic(cfg, "facts"), FactsCritic)
    assert isinstance(make_critic(cfg, "annotator"), SimulatedAnnotator)
    for kind in ("rouge", "facts", "annotator"):
        assert isinstance(make_critic(cfg, kind), Critic)
    with pytest.raises(ValueError):
        make_critic(cfg, "oracle")


def test_facts_critic_rejects_a_high_rouge_candidate_naming_a_wrong_fact():
    wrong, right = "the shape is a red circle", "the shape is a red triangle"
    rouge = RougeCritic().score(TRIANGLE, [wrong, right])
    facts = FactsCritic().score(TRIANGLE, [wrong, right])
    assert RougeCritic().fitting(rouge[0])  # ROUGE-L passes the one-word error ...
    assert facts[0] == 0.0 and not FactsCritic().fitting(facts[0])  # ... facts does not
    assert facts[1] == rouge[1] and FactsCritic().fitting(facts[1])
    # without facts it is plain ROUGE-L
    assert FactsCritic().score(PHOTO, ["it has whiskers"]) == RougeCritic().score(
        PHOTO, ["it has whiskers"]
    )


@pytest.mark.parametrize(
    ("item", "text", "fits", "why"),
    [
        (TRIANGLE, "the red triangle has three corners", True, "triangle"),
        # it cannot read "three corners": only colour and shape words are facts to it
        (TRIANGLE, "the shape has three corners and is red", False, "no fact"),
        (TRIANGLE, "the shape is a triangle", False, "restates"),
        (TRIANGLE, "it is a triangle", False, "restates"),
        (TRIANGLE, "the red shape is a circle", False, "wrong fact"),
        (TRIANGLE, "there is no circle, it has pointy corners", False, "no fact"),
        (COLOUR, "the circle is red", True, "red"),
        (COLOUR, "the shape is red", False, "restates"),
        (COLOUR, "the image shows a circle", False, "no fact"),  # true, but not why it is red
        (COLOUR, "the blue circle", False, "wrong fact"),
        (SCENE, "one red circle and one blue circle", True, "blue, circle, red"),
        (SCENE, "a red rectangle and a blue circle", False, "wrong fact"),  # no red rectangle
        (SCENE, "there are 2 circles", False, "restates"),
        (PHOTO, "it has whiskers and a tail", True, "whisker"),
        (PHOTO, "it is a cat", False, "restates"),
        (PHOTO, "it is a digital cat", False, "no fact"),
        (PHOTO, "ok", False, "too short"),
    ],
)
def test_simulated_annotator(item, text, fits, why):
    annotator = SimulatedAnnotator()
    ok, reason = annotator.judge(item, text)
    assert ok is fits and why in reason
    [score] = annotator.score(item, [text])
    assert annotator.fitting(score) is fits


def test_annotator_without_facts_or_references_accepts_nothing():
    bare = Item("b", "x.png", "what is it?", "a dog", [])
    assert SimulatedAnnotator().score(bare, ["it has floppy ears and a wagging tail"]) == [0.0]


def test_critique_file_uses_the_configured_kind(tmp_path):
    from illume.critique import critique_file
    from illume.items import write_jsonl

    items = tmp_path / "items.jsonl"
    write_jsonl(items, [TRIANGLE.to_dict()])
    cands = tmp_path / "cands.jsonl"
    texts = ["the shape is a red circle", "the shape is a red triangle"]
    write_jsonl(cands, [{"id": "t", "candidates": [{"text": t} for t in texts]}])
    out = tmp_path / "out.jsonl"
    assert critique_file(cands, items, out, make_critic(CriticConfig(kind="rouge")))["fitting"] == 2
    assert critique_file(cands, items, out, make_critic(CriticConfig(kind="facts")))["fitting"] == 1
    assert (
        critique_file(cands, items, out, make_critic(CriticConfig(kind="annotator")))["fitting"]
        == 1
    )
