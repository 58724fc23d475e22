"""easy-vqa-x's reference explanations: CLEVR-X style templates filled with an image's facts.

Several wordings per question type, each consistent with the answer (a "no"
to "is there a red shape?" gets "the shape is blue, not red"). For "what
shape" the references explain from the image, by the shape's properties
(three corners and straight sides; round with no corners; four corners and
right angles), and for "what colour" they name the coloured shape: "the
shape is a triangle" and "the shape is blue" only restate the answer. Those
restatements are kept apart (`restatement_baseline`), as a labelled baseline.
"""

from __future__ import annotations

import random

from illume_bench.data.easyvqa_questions import answer_consistent, parse_question

# {c}/{s}: the image's colour and shape; {x}: the absent value the question names.
_COLOUR_Q = [
    "the {s} is {c}",
    "the image shows a {c} {s}",
    "there is a {c} {s} in the image",
    "the shape in the image is a {c} {s}",
    "the only shape is a {c} {s}",
    "the {s} in the image is colored {c}",
]
_COLOUR_OF_NAMED = [
    "the whole {s} is filled with solid {c}",
    "the inside of the {s} is {c}",
    "the {s} is painted a solid {c}",
    "the {s} is filled in {c} on a white background",
    "the {s} and its filling are {c}",
]
""""what colour is the triangle?": the shape is in the question, so the evidence is its fill."""

_PROPERTIES = {
    "triangle": [
        "the {c} shape has three corners and three straight sides",
        "it has three straight sides and three corners",
        "its three sides meet in three pointed corners",
        "the shape in the image has exactly three corners",
        "the {c} shape has three straight edges",
    ],
    "circle": [
        "the {c} shape is round with no corners",
        "it is round and has no corners or straight sides",
        "the {c} shape has a curved edge and no corners",
        "the shape in the image is round all around",
        "the {c} shape has no corners at all",
    ],
    "rectangle": [
        "the {c} shape has four corners that are right angles",
        "it has four straight sides and four right angles",
        "the {c} shape has four straight sides with square corners",
        "the shape has four corners and parallel sides",
        "the {c} shape has four right angles",
    ],
}
"""What shows which shape it is: its properties, never its name."""

_RESTATEMENTS = {
    "colour": ["the shape is {c}", "the color of the shape is {c}", "it is {c}"],
    "shape": [
        "the shape is a {s}",
        "the {c} shape is a {s}",
        "the only shape is a {c} {s}",
        "the {s} is {c}",
    ],
}
"""The answer restated (with or without another attribute): the baseline a careful
annotator refuses, kept only to measure that."""

_PRESENT = [
    "there is a {c} {s} in the image",
    "the image contains a {c} {s}",
    "the shape in the image is a {c} {s}",
    "the image shows a {c} {s}",
    "the only shape is a {c} {s}",
    "a {c} {s} is in the image",
]
_ABSENT_COLOUR = [
    "the only shape is a {c} {s}",
    "the shape is {c}, not {x}",
    "the {s} is {c}, not {x}",
    "there is no {x} shape, only a {c} {s}",
    "the image shows a {c} {s}, not a {x} one",
    "the only shape is a {c} {s}, not {x}",
    "the shape in the image is a {c} {s}",
]
_ABSENT_SHAPE = [
    "the only shape is a {c} {s}",
    "the shape is a {s}, not a {x}",
    "there is no {x}, only a {c} {s}",
    "the image shows a {c} {s}, not a {x}",
    "the {c} shape is a {s}, not a {x}",
    "the shape in the image is a {c} {s}",
    "the only shape is a {c} {s}, no {x}",
]


def reference_templates(question: str, answer: str, facts: dict[str, str]) -> list[str]:
    """All template wordings that fit this item, filled in (before sampling)."""
    if "colour" not in facts or "shape" not in facts:
        raise ValueError(f"facts need a colour and a shape, got {facts!r}")
    if not answer_consistent(question, answer, facts):
        raise ValueError(f"answer {answer!r} to {question!r} contradicts the facts {facts!r}")
    pq = parse_question(question)
    c, s = facts["colour"], facts["shape"]
    if pq.kind == "colour":
        pool = _COLOUR_OF_NAMED if pq.shape else _COLOUR_Q
    elif pq.kind == "shape":
        pool = _PROPERTIES[s]
    else:
        present = (c if pq.target == "colour" else s) == pq.value
        absent = _ABSENT_COLOUR if pq.target == "colour" else _ABSENT_SHAPE
        pool = _PRESENT if present else absent
    return [t.format(c=c, s=s, x=pq.value or "") for t in pool]


def restatement_baseline(question: str, answer: str, facts: dict[str, str]) -> list[str]:
    """The restatements of a "what shape"/"what colour" answer (none for yes/no questions):
    not references, a labelled baseline the annotator must refuse."""
    kind = parse_question(question).kind
    if kind not in _RESTATEMENTS or not answer_consistent(question, answer, facts):
        return []
    return [t.format(c=facts["colour"], s=facts["shape"]) for t in _RESTATEMENTS[kind]]


def reference_explanations(
    question: str,
    answer: str,
    facts: dict[str, str],
    rng: random.Random | int | None = None,
    n: int = 4,
) -> list[str]:
    """`n` (at least 3) reference explanations for one item, in different wordings.

    Lowercase, without a final period, each consistent with the answer (a "no"
    to "is there a red shape?" gets "the shape is blue, not red", never "there
    is a red ..."). At most one wording in a pool leaves out the colour or the
    shape, so most references name both. Raises ValueError when the answer
    contradicts the facts. `rng` (a Random or a seed) picks the wordings.
    """
    if n < 3:
        raise ValueError("at least 3 references per item")
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    pool = reference_templates(question, answer, facts)
    return rng.sample(pool, min(n, len(pool)))
