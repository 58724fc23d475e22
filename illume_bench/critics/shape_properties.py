"""What a person cites as evidence that a shape is a circle, a rectangle or a triangle.

"The shape is a triangle" only repeats the answer to "what shape is it?"; "it has three
corners and straight sides" says why. The simulated annotator asks the latter for the
single-shape images of easy-vqa-x: a property of the true shape counts as evidence, one
that only another shape has is a wrong fact ("it has four corners" for a triangle).
"""

from __future__ import annotations

import re

_NUM = {"three": 3, "3": 3, "four": 4, "4": 4}
_COUNTED = re.compile(
    r"\b(three|3|four|4)\s+(?:straight\s+|equal\s+|pointed\s+|sharp\s+|right\s+)?"
    r"(sides?|corners?|edges?|points?|angles?|vertices|lines)\b"
)
_NONE = re.compile(r"\b(?:no|without|zero)\s+(?:corners?|edges?|angles?|sides?|points?|vertices)\b")
_ROUND = re.compile(r"\b(?:round|rounded|curved?|curving|oval|smooth\s+edge)\b")
_RIGHT = re.compile(r"\b(?:right\s+angles?|square\s+corners|parallel\s+sides)\b")
_POINTED = re.compile(r"\b(?:pointed|pointy|points?\s+up|a\s+point\s+at\s+the\s+top)\b")

SHAPES = ("circle", "rectangle", "triangle")


def properties(text: str) -> dict[str, set[str]]:
    """Shape -> the properties of it that `text` names (a property may fit one shape only)."""
    t = text.lower()
    out: dict[str, set[str]] = {s: set() for s in SHAPES}
    for num, what in _COUNTED.findall(t):
        out["triangle" if _NUM[num] == 3 else "rectangle"].add(f"{num} {what}")
    if _NONE.search(t) or _ROUND.search(t):
        out["circle"].add((_NONE.search(t) or _ROUND.search(t)).group(0))
    if _RIGHT.search(t):
        out["rectangle"].add(_RIGHT.search(t).group(0))
    if _POINTED.search(t):
        out["triangle"].add(_POINTED.search(t).group(0))
    return {s: v for s, v in out.items() if v}


def judge_shape(text: str, shape: str) -> tuple[bool, str]:
    """(evidence, why) for "what shape is it? `shape`": a property of `shape`, none of
    another's."""
    named = properties(text)
    wrong = sorted(p for s, props in named.items() if s != shape for p in props)
    if wrong:
        return False, "names a wrong fact: " + ", ".join(wrong)
    if shape not in named:
        return False, "names no property of the shape, only its name or other attributes"
    return True, "names " + ", ".join(sorted(named[shape]))
