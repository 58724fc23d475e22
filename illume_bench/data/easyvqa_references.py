"""easy-vqa-x's reference explanations: CLEVR-X style templates filled with an image's facts.

Several wordings per question type, each consistent with the answer (a "no"
to "is there a red shape?" gets "the shape is blue, not red").
"""

from __future__ import annotations

import random

from illume_bench.data.easyvqa_questions import answer_consistent, parse_question

# {c}/{s}: the image's colour and shape; {x}: the absent value the question names.
_COLOUR_Q = [
    "the shape is {c}",
    "the {s} is {c}",
    "the image shows a {c} {s}",
    "there is a {c} {s} in the image",
    "the shape in the image is a {c} {s}",
    "the only shape is a {c} {s}",
    "the {s} in the image is colored {c}",
]
_SHAPE_Q = [
    "the shape is a {s}",
    "the {c} shape is a {s}",
    "the image shows a {c} {s}",
    "there is a {c} {s} in the image",
    "the shape in the image is a {c} {s}",
    "the only shape is a {c} {s}",
    "the {c} shape in the image is a {s}",
]
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
        pool = _COLOUR_Q
    elif pq.kind == "shape":
        pool = _SHAPE_Q
    else:
        present = (c if pq.target == "colour" else s) == pq.value
        absent = _ABSENT_COLOUR if pq.target == "colour" else _ABSENT_SHAPE
        pool = _PRESENT if present else absent
    return [t.format(c=c, s=s, x=pq.value or "") for t in pool]


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
