"""easy-vqa's questions: what each one asks, and whether an answer fits an image's facts.

Its own module because both the benchmark build (easyvqa.py) and the reference
templates (easyvqa_references.py) read questions, and neither should import
the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COLOURS = ("red", "green", "blue", "black", "gray", "teal", "brown", "yellow")
SHAPES = ("circle", "rectangle", "triangle")

_COLOUR_RE = re.compile(r"\b(" + "|".join(COLOURS) + r")\b")
_SHAPE_RE = re.compile(r"\b(" + "|".join(SHAPES) + r")\b")
_NEGATION_RE = re.compile(r"\b(not|no)\b")


# --------------------------------------------------------------------------
# Questions


@dataclass(frozen=True)
class ParsedQuestion:
    """What a question asks and what it mentions.

    kind: ``"colour"`` (what colour is ...), ``"shape"`` (what shape / what is
    the X shape) or ``"yesno"``. For yes/no questions, ``target`` is the
    attribute asked about (``"colour"`` or ``"shape"``), ``value`` its value,
    and ``negated`` whether the question asks for its absence ("is there not a
    ...", "does the image not contain ...", "is no ... present").
    ``colour`` / ``shape`` are the values the question mentions, if any.
    """

    kind: str
    colour: str | None = None
    shape: str | None = None
    target: str | None = None
    value: str | None = None
    negated: bool = False


def parse_question(question: str) -> ParsedQuestion:
    """Classify an easy-vqa question; raise ValueError for an unknown form."""
    q = question.strip().lower()
    colours = _COLOUR_RE.findall(q)
    shapes = _SHAPE_RE.findall(q)
    if len(colours) > 1 or len(shapes) > 1:
        raise ValueError(f"question mentions several colours or shapes: {question!r}")
    colour = colours[0] if colours else None
    shape = shapes[0] if shapes else None
    if q.startswith("what"):
        if "color" in q or "colour" in q:
            if colour:
                raise ValueError(f"colour question that names a colour: {question!r}")
            return ParsedQuestion("colour", shape=shape)
        if "shape" in q:
            if shape:
                raise ValueError(f"shape question that names a shape: {question!r}")
            return ParsedQuestion("shape", colour=colour)
        raise ValueError(f"unknown 'what' question: {question!r}")
    if q.startswith(("is ", "does ")):
        if (colour is None) == (shape is None):
            raise ValueError(f"yes/no question must name one colour or one shape: {question!r}")
        negated = bool(_NEGATION_RE.search(q))
        if colour:
            return ParsedQuestion(
                "yesno", colour=colour, target="colour", value=colour, negated=negated
            )
        return ParsedQuestion("yesno", shape=shape, target="shape", value=shape, negated=negated)
    raise ValueError(f"unknown question form: {question!r}")


def yes_no(answer: str) -> bool:
    a = answer.strip().lower()
    if a not in ("yes", "no"):
        raise ValueError(f"yes/no question with answer {answer!r}")
    return a == "yes"


def answer_consistent(question: str, answer: str, facts: dict[str, str]) -> bool:
    """Whether `answer` is the right answer to `question` for an image with `facts`."""
    try:
        pq = parse_question(question)
    except ValueError:
        return False
    a = answer.strip().lower()
    colour, shape = facts.get("colour"), facts.get("shape")
    if pq.kind == "colour":
        return a == colour and pq.shape in (None, shape)
    if pq.kind == "shape":
        return a == shape and pq.colour in (None, colour)
    if a not in ("yes", "no"):
        return False
    present = (colour if pq.target == "colour" else shape) == pq.value
    return (a == "yes") == (present != pq.negated)
