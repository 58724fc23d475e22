"""Each automatic critic on tiny inputs, and the --critic selection."""

import pytest

from illume.critique import Critic, RougeCritic
from illume.items import Item
from illume_bench.critics import CriticConfig, make_critic, verdict
from illume_bench.critics.annotator_rouge import AnnotatorRougeCritic
from illume_bench.critics.fact_critic import FactsCritic
from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.shapesx import scene_items
from illume_bench.data.shapesx_phrases import OPPOSITE
from illume_bench.data.shapesx_questions import answer
from illume_bench.data.shapesx_scene import Obj, Scene, objects_from_facts, scene_facts

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
NO_GREEN = Item(
    "g",
    "x.png",
    "is there a green shape?",
    "no",
    [],
    facts={"colour": "blue", "shape": "rectangle"},
)
NOT_CIRCLE = Item(
    "n",
    "x.png",
    "does the image not contain a circle?",
    "yes",
    [],
    facts={"colour": "blue", "shape": "rectangle"},
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
    assert isinstance(make_critic(cfg, "annotator-rouge"), AnnotatorRougeCritic)
    for kind in ("rouge", "facts", "annotator", "annotator-rouge"):
        assert isinstance(make_critic(cfg, kind), Critic)
    with pytest.raises(ValueError):
        make_critic(cfg, "oracle")


def test_every_kind_gives_a_verdict_with_a_reason():
    """The benchmarks record a verdict and a reason per candidate, whatever the critic."""
    ref = PHOTO.explanations[0]
    for kind in ("rouge", "facts", "annotator", "annotator-rouge"):
        critic = make_critic(CriticConfig(), kind)
        ok, why = verdict(critic, PHOTO, ref)
        assert ok and why, kind
    ok, why = verdict(make_critic(CriticConfig(), "rouge"), PHOTO, "it is a cat")
    assert not ok and why.startswith("scores 0.")


def test_annotator_rouge_wants_the_annotators_tick_and_the_references_wording():
    """The two halves refuse different texts; the critic refuses both kinds."""
    critic = AnnotatorRougeCritic()
    item = Item(
        "s",
        "x.png",
        "what shape is in the image?",
        "triangle",
        ["it has three corners and three straight sides"],
        facts={"colour": "red", "shape": "triangle"},
    )
    assert critic.judge(item, "it has three corners and three straight sides")[0]
    ok, why = critic.judge(item, "the shape is a triangle")  # a restatement
    assert not ok and "restates" in why
    ok, why = critic.judge(item, "it has three corners")  # evidence, not the references' words
    assert not ok and why.startswith("fits, but ROUGE-L")
    ok, why = critic.judge(item, "it has four corners and four straight sides")
    assert RougeCritic().fitting(
        RougeCritic().score(item, ["it has four corners and four straight sides"])[0]
    )
    assert not ok and "wrong fact" in why  # ROUGE-L alone would tick it


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
        (TRIANGLE, "the red triangle has three corners", True, "three corners"),
        # "what shape?": the shape's properties explain, its name plus an attribute does not
        (TRIANGLE, "the shape has three corners and is red", True, "three corners"),
        (TRIANGLE, "it has three straight sides and three corners", True, "three sides"),
        (TRIANGLE, "there is no circle, it has pointy corners", True, "pointy"),
        (TRIANGLE, "the shape is a triangle", False, "restates"),
        (TRIANGLE, "it is a triangle", False, "restates"),
        (TRIANGLE, "the triangle is red", False, "no property"),
        (TRIANGLE, "the red shape is a triangle with a white background", False, "no property"),
        (TRIANGLE, "the red shape is a circle", False, "wrong fact"),
        (TRIANGLE, "it has four corners", False, "wrong fact: four corners"),
        (TRIANGLE, "the shape is round", False, "wrong fact: round"),
        (COLOUR, "the shape is filled with blue", False, "wrong fact"),
        (COLOUR, "the circle is red", True, "red"),
        (COLOUR, "the shape is red", False, "restates"),
        (COLOUR, "the image shows a circle", False, "no fact"),  # true, but not why it is red
        (COLOUR, "the blue circle", False, "wrong fact"),
        # the background's colour is not the shape's
        (COLOUR, "it has a red background", False, "no fact"),
        (COLOUR, "a red circle on a red background", True, "red"),
        # a yes/no question about a colour wants the colour, one about a shape the shape
        (NO_GREEN, "the shape is a rectangle", False, "no fact"),
        (NO_GREEN, "the shape is blue", True, "blue"),
        (NO_GREEN, "it has a blue background", False, "no fact"),
        (NO_GREEN, "it has a blue border", False, "no fact"),  # nor a border's
        (NO_GREEN, "a blue rectangle with a blue outline", True, "blue"),
        (NOT_CIRCLE, "the shape is blue", False, "no fact"),
        (NOT_CIRCLE, "it is a blue rectangle", True, "rectangle"),
        (NOT_CIRCLE, "it has four corners", True, "four corners"),
        # naming and denying the same thing is wrong whatever the picture (in a one-shape
        # picture denying its colour or shape is a wrong fact before that)
        (NOT_CIRCLE, "the rectangle is blue, not a rectangle", False, "wrong fact: no rect"),
        (SCENE, "one red circle, one blue circle, not a red circle", False, "contradicts"),
        (PHOTO, "it has whiskers, pointed ears and black fur, not black", False, "contradicts"),
        # one colour said twice as if it were two is a jumble, not evidence
        (NO_GREEN, "it has only blue and blue", False, "colour twice: blue and blue"),
        (NO_GREEN, "it is a blue-blue rectangle", False, "colour twice: blue blue"),
        (NO_GREEN, "it is a blue and white rectangle", True, "blue"),
        (SCENE, "one red circle and one blue circle", True, "blue, circle, red"),
        (SCENE, "a red rectangle and a blue circle", False, "wrong fact"),  # no red rectangle
        (SCENE, "there are 2 circles", False, "restates"),
        (SCENE, "there are 2 circles in total", False, "restates"),  # "total" frames the count
        (SCENE, "the number of circles is exactly 2", False, "restates"),
        (PHOTO, "it has whiskers and striped fur", True, "fur, striped, whisker"),
        (PHOTO, "it has whiskers and a tail", False, "too little"),
        (PHOTO, "it is a cat", False, "restates"),
        (PHOTO, "it is a digital cat", False, "no fact"),
        (PHOTO, "x animals are, what's a nose) how", False, "not a sentence"),
        (PHOTO, "whiskers, whiskers and whiskers and whiskers", False, "repeated"),
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
    from illume.items import write_jsonl
    from illume_bench.critics.files import critique_file

    items = tmp_path / "items.jsonl"
    write_jsonl(items, [TRIANGLE.to_dict()])
    cands = tmp_path / "cands.jsonl"
    texts = ["the shape is a red circle", "the shape is a red triangle"]
    write_jsonl(cands, [{"id": "t", "candidates": [{"text": t} for t in texts]}])
    out = tmp_path / "out.jsonl"
    assert critique_file(cands, items, out, make_critic(CriticConfig(kind="rouge")))["fitting"] == 2
    assert critique_file(cands, items, out, make_critic(CriticConfig(kind="facts")))["fitting"] == 1
    # the annotator: "a red triangle" names the answer plus a colour, not why it is one
    assert (
        critique_file(cands, items, out, make_critic(CriticConfig(kind="annotator")))["fitting"]
        == 0
    )


# ------------------------------------------------ shapes-x: facts about the objects asked

TRI_SCENE = Scene(
    (
        Obj("small", "yellow", "circle", 30, 20),
        Obj("large", "yellow", "triangle", 90, 90),
        Obj("large", "blue", "square", 30, 100),
    )
)


def _scene_item(question: str, scene: Scene = TRI_SCENE) -> Item:
    solved = answer(question, list(scene.objects))
    assert solved is not None
    return Item("sx", "x.png", question, solved.answer, ["ref"], facts=scene_facts(scene))


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("the triangle is composed of three straight lines", False),  # true of it, not why
        ("the small yellow object is higher up than the triangle", True),
        ("the large blue square is in the bottom left", False),  # an unrelated object
        ("a triangle has three sides, so the circle is small", False),  # a definition
        ("the small yellow circle sits lower down than the triangle", False),  # false relation
    ],
)
def test_annotator_wants_the_relation_between_the_objects_asked(text, fits):
    item = _scene_item("is the small yellow object below the triangle?")
    assert item.answer == "no"
    ok, why = SimulatedAnnotator().judge(item, text)
    assert ok is fits, why


def _first(sub: str) -> tuple[Item, object, list[Obj]]:
    """The first seeded shapes-x item whose question has subtype `sub`."""
    for index in range(200):
        _, items = scene_items(index, 7, "train", "x.png")
        for item in items:
            objs = objects_from_facts(item.facts)
            solved = answer(item.question, objs)
            if solved.sub == sub:
                return item, solved, objs
    raise AssertionError(f"no {sub} item in 200 scenes")


def _np(o: Obj) -> str:
    return f"{o.size} {o.colour} {o.shape}"


def _bystander(objs: list[Obj], *asked: Obj) -> Obj:
    return next(o for o in objs if o not in asked)


def _texts(sub: str, s, objs: list[Obj]) -> tuple[str, str]:
    """(a rationale naming the decisive fact, one that names only other true things)."""
    ev = s.ev
    if sub == "colour_of":
        t = ev["target"]
        other = _bystander(objs, t)
        return f"looking closely, the {_np(t)} is painted", f"looking closely, the {_np(other)}"
    if sub == "count":
        n, d = len(ev["members"]), ev["desc"]
        return (
            f"counting carefully gives {n} {d.text(True)}",
            f"counting carefully gives {n + 1} {d.text(True)}",  # a wrong count
        )
    if sub == "more":
        da, db, a, b = ev["desc_a"], ev["desc_b"], ev["a"], ev["b"]
        return (
            f"counting carefully gives {len(a)} {da.text(True)}, and {len(b)} {db.text(True)}",
            f"counting carefully, {da.shape or 'each shape'} has a colour",
        )
    if sub == "same":
        a, b = ev["a"], ev["b"]
        other = _bystander(objs, a, b) if len(objs) > 2 else a
        return (
            f"in the picture there is a {_np(a)} and a {_np(b)}",
            f"in the picture the {other.shape} is composed of straight lines",
        )
    a, b, rel = ev["a"], ev["b"], ev["rel"]
    actual = rel if s.answer == "yes" else OPPOSITE[rel]
    return (
        f"in the picture the {_np(a)} is {actual} the {_np(b)}",
        f"in the picture the {_np(b)} is composed of straight lines",
    )


@pytest.mark.parametrize("sub", ["colour_of", "count", "more", "same", "is_rel"])
def test_annotator_per_question_kind_on_real_shapes_x_items(sub):
    item, solved, objs = _first(sub)
    good, bad = _texts(sub, solved, objs)
    annotator = SimulatedAnnotator()
    ok, why = annotator.judge(item, good)
    assert ok, (item.question, item.answer, good, why)
    ok, why = annotator.judge(item, bad)
    assert not ok, (item.question, item.answer, bad, why)


def test_annotator_ticks_nearly_all_shapes_x_references():
    """The references are written as careful people would: the annotator must accept them."""
    annotator = SimulatedAnnotator()
    verdicts = [
        annotator.judge(item, ref)[0]
        for index in range(40)
        for item in scene_items(index, 3, "train", "x.png")[1]
        for ref in item.explanations
    ]
    assert len(verdicts) > 300
    assert sum(verdicts) / len(verdicts) >= 0.9


def test_the_annotator_accepts_every_easy_vqa_x_reference_and_no_restatement():
    """easy-vqa-x's references explain ("what shape": properties; "what colour": the coloured
    shape or its fill); the restatement baseline is refused, every wording of it."""
    from illume_bench.data.easyvqa_references import reference_templates, restatement_baseline

    annotator, both = SimulatedAnnotator(), AnnotatorRougeCritic()
    questions = [
        ("what shape is in the image?", None),
        ("what is the {c} shape?", None),
        ("what color is the shape?", "c"),
        ("what color is the {s}?", "c"),
        ("is there a {s} in the image?", "yes"),
        ("does the image not contain a {c} shape?", "no"),
    ]
    for shape in ("circle", "rectangle", "triangle"):
        for colour in ("red", "blue", "green"):
            facts = {"colour": colour, "shape": shape}
            for q, a in questions:
                answer = {None: shape, "c": colour}.get(a, a)
                it = Item("e", "x.png", q.format(c=colour, s=shape), answer, facts=facts)
                for ref in reference_templates(it.question, it.answer, facts):
                    assert annotator.judge(it, ref)[0], (it.question, ref)
                for text in restatement_baseline(it.question, it.answer, facts):
                    assert not annotator.judge(it, text)[0], (it.question, text)
                # with the item's references in hand, annotator-rouge passes them too
                refs = reference_templates(it.question, it.answer, facts)
                with_refs = Item("e", "x.png", it.question, it.answer, refs, facts=facts)
                for ref in refs:
                    assert both.judge(with_refs, ref)[0], (it.question, ref)
                for text in restatement_baseline(it.question, it.answer, facts):
                    assert not both.judge(with_refs, text)[0], (it.question, text)
