"""shapes-x wording: how a person might name objects, places, sizes and numbers.

The reference rationales (shapesx_references.py) are built from these
pieces, each drawn from several synonyms, so that two references rarely
share their wording even when they cite the same fact.
"""

from __future__ import annotations

import random

from illume_bench.data.shapesx_scene import CANVAS, Obj

NUMBERS = ("no", "one", "two", "three", "four", "five", "six")

_SIZE = {
    "large": ("large", "big", "large", "big"),
    "small": ("small", "little", "tiny", "small"),
}
_SHAPE = {
    "circle": ("circle", "circle", "disc", "round shape"),
    "square": ("square", "square", "square block"),
    "triangle": ("triangle", "triangle", "triangle"),
}
_NOUN = ("shape", "object", "thing", "figure", "shape", "piece")
_PROPERTY = {
    "circle": ("it is round", "it is round with no corners", "its outline is a curve"),
    "square": ("it has four equal sides", "it has four corners", "its four sides are equal"),
    "triangle": ("it has three corners", "it has three sides", "it comes to a point at the top"),
}
_WHERE = {
    ("top", "left"): ("in the top left corner", "at the upper left", "up in the top left"),
    ("top", "centre"): ("at the top", "near the top", "up at the top", "at the top middle"),
    ("top", "right"): ("in the top right corner", "at the upper right", "up in the top right"),
    ("middle", "left"): ("on the left", "on the left side", "over on the left"),
    ("middle", "centre"): ("in the middle", "near the centre", "in the centre of the picture"),
    ("middle", "right"): ("on the right", "on the right side", "over on the right"),
    ("bottom", "left"): (
        "in the bottom left corner",
        "at the lower left",
        "down in the bottom left",
    ),
    ("bottom", "centre"): ("at the bottom", "near the bottom", "down at the bottom"),
    ("bottom", "right"): (
        "in the bottom right corner",
        "at the lower right",
        "down in the bottom right",
    ),
}
_REL = {
    "to the left of": ("to the left of", "left of", "on the left of", "further left than"),
    "to the right of": ("to the right of", "right of", "on the right of", "further right than"),
    "above": ("above", "higher up than", "over", "higher than"),
    "below": ("below", "under", "lower down than", "beneath"),
}
_SIDE = {
    "to the left of": ("to its left", "on its left", "left of it"),
    "to the right of": ("to its right", "on its right", "right of it"),
    "above": ("above it", "over it", "higher up"),
    "below": ("below it", "under it", "lower down"),
}
OPPOSITE = {
    "to the left of": "to the right of",
    "to the right of": "to the left of",
    "above": "below",
    "below": "above",
}
LEAD_INS = ("", "", "", "", "you can see that ", "in the picture ", "looking at it, ", "clearly ")


def region(o: Obj) -> tuple[str, str]:
    """(row, column) of an object's centre, by thirds of the canvas."""
    third = CANVAS / 3
    row = "top" if o.y < third else "bottom" if o.y >= 2 * third else "middle"
    col = "left" if o.x < third else "right" if o.x >= 2 * third else "centre"
    return row, col


def relation(a: Obj, b: Obj) -> str:
    """The clearer of `a`'s horizontal and vertical relation to `b`."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= abs(dy):
        return "to the left of" if dx < 0 else "to the right of"
    return "above" if dy < 0 else "below"


def nearest(o: Obj, objs: list[Obj]) -> Obj | None:
    others = [p for p in objs if p != o]
    return min(others, key=lambda p: (p.x - o.x) ** 2 + (p.y - o.y) ** 2, default=None)


class Say:
    """Phrase maker for one reference: every choice comes from its seeded rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def size(self, size: str) -> str:
        return self.rng.choice(_SIZE[size])

    def shape(self, shape: str, plural: bool = False) -> str:
        if plural:
            return shape + "s"
        return self.rng.choice(_SHAPE[shape])

    def noun(self, plural: bool = False) -> str:
        n = self.rng.choice(_NOUN)
        return n + "s" if plural else n

    def np(self, o: Obj, parts: str = "size colour shape", det: str = "the") -> str:
        """A noun phrase for `o` naming the attributes in `parts` ("size colour shape")."""
        words = []
        if "size" in parts:
            words.append(self.size(o.size))
        if "colour" in parts:
            words.append(o.colour)
        words.append(self.shape(o.shape) if "shape" in parts else self.noun())
        return article(det, " ".join(words))

    def where(self, o: Obj) -> str:
        return self.rng.choice(_WHERE[region(o)])

    def rel(self, rel: str) -> str:
        return self.rng.choice(_REL[rel])

    def side(self, rel: str) -> str:
        return self.rng.choice(_SIDE[rel])

    def num(self, n: int) -> str:
        if n == 0:
            return "no"
        return str(n) if self.rng.random() < 0.25 or n >= len(NUMBERS) else NUMBERS[n]

    def listing(self, objs: list[Obj], parts: str = "size colour shape") -> str:
        """ "a big red circle, a small blue square and a gray triangle"."""
        return join([self.np(o, parts, det="a") for o in objs])

    def lead(self) -> str:
        return self.rng.choice(LEAD_INS)


def article(det: str, phrase: str) -> str:
    if det == "a":
        return ("an " if phrase[0] in "aeiou" else "a ") + phrase
    return f"{det} {phrase}" if det else phrase


def join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def property_of(shape: str, rng: random.Random) -> str:
    """A visible property that identifies a shape ("it has three corners")."""
    return rng.choice(_PROPERTY[shape])
