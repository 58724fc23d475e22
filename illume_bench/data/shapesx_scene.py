"""shapes-x scenes: several coloured shapes on a canvas, their facts and pixels.

A scene is a handful of objects, each with a size, a colour, a shape and a
centre. It is drawn with PIL (no assets, no network) and recorded in an
item's ``facts`` as plain strings (``object_1``: "large red circle at x=30
y=88", plus the sets of colours and shapes), so `illume_bench.fact_errors` can check a
rationale's colour and shape words against every object, and the questions
can be re-answered from the facts alone (`objects_from_facts`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (214, 48, 49),
    "green": (46, 160, 67),
    "blue": (52, 101, 214),
    "yellow": (236, 196, 36),
    "gray": (128, 128, 128),
    "brown": (133, 84, 44),
}
"""The colours (all in `illume_bench.fact_errors`' vocabulary) and how they are painted."""

COLOURS = tuple(COLOUR_RGB)
SHAPES = ("circle", "square", "triangle")
SIZES: dict[str, int] = {"large": 15, "small": 8}
"""Size name -> half the side of the shape's bounding box, in pixels."""

CANVAS = 128
"""Width and height of every image, in pixels."""

MIN_GAP = 4
"""Least free space between two objects' bounding boxes, in pixels."""


@dataclass(frozen=True)
class Obj:
    """One object: its attributes and the centre of its bounding box (pixels, y down)."""

    size: str
    colour: str
    shape: str
    x: int
    y: int

    @property
    def half(self) -> int:
        return SIZES[self.size]

    def fact(self) -> str:
        """The object as its ``object_N`` fact reads."""
        return f"{self.size} {self.colour} {self.shape} at x={self.x} y={self.y}"


@dataclass(frozen=True)
class Scene:
    """The objects of one image, in drawing order."""

    objects: tuple[Obj, ...]
    background: tuple[int, int, int] = (236, 236, 232)


_FACT_RE = re.compile(r"^(large|small) (\w+) (circle|square|triangle) at x=(\d+) y=(\d+)$")


def scene_facts(scene: Scene) -> dict[str, str]:
    """An item's ``facts`` for a scene: every object, and the colours and shapes present.

    ``colours``/``shapes`` are comma-separated sets (what `illume_bench.fact_errors`
    checks a named colour or shape against); ``object_N`` give each object,
    which also lets `illume_bench.fact_errors` catch a wrong pairing ("red square" when
    the red object is a circle).
    """
    facts = {
        "objects": str(len(scene.objects)),
        "colours": ", ".join(sorted({o.colour for o in scene.objects})),
        "shapes": ", ".join(sorted({o.shape for o in scene.objects})),
    }
    for n, o in enumerate(scene.objects, 1):
        facts[f"object_{n}"] = o.fact()
    return facts


def objects_from_facts(facts: dict[str, str]) -> list[Obj]:
    """The objects recorded in `facts` (``object_1``, ``object_2``, ... in order)."""
    out = []
    n = 1
    while f"object_{n}" in facts:
        m = _FACT_RE.match(facts[f"object_{n}"])
        if m is None:
            raise ValueError(f"unreadable object fact: {facts[f'object_{n}']!r}")
        size, colour, shape, x, y = m.groups()
        out.append(Obj(size, colour, shape, int(x), int(y)))
        n += 1
    return out


def _fits(candidate: Obj, placed: list[Obj]) -> bool:
    for o in placed:
        reach = candidate.half + o.half + MIN_GAP
        if abs(candidate.x - o.x) < reach and abs(candidate.y - o.y) < reach:
            return False
    return True


def make_scene(rng: random.Random, min_objects: int = 3, max_objects: int = 6) -> Scene:
    """A random scene: `min_objects`..`max_objects` objects that do not overlap.

    No two objects share size, colour and shape, so every object can be named
    without pointing at it. Colours are drawn from a per-scene palette of 2-4
    colours, so counting and comparing colours is rarely trivial.
    """
    n = rng.randint(min_objects, max_objects)
    palette = rng.sample(COLOURS, rng.randint(2, 4))
    placed: list[Obj] = []
    kinds: set[tuple[str, str, str]] = set()
    tries = 0
    while len(placed) < n and tries < 500:
        tries += 1
        size = rng.choice(tuple(SIZES))
        kind = (size, rng.choice(palette), rng.choice(SHAPES))
        if kind in kinds:
            continue
        half = SIZES[size]
        x = rng.randint(half + 2, CANVAS - half - 3)
        y = rng.randint(half + 2, CANVAS - half - 3)
        obj = Obj(size, kind[1], kind[2], x, y)
        if _fits(obj, placed):
            placed.append(obj)
            kinds.add(kind)
    shade = rng.randint(-10, 10)
    return Scene(tuple(placed), (232 + shade, 232 + shade, 228 + shade))


def render(scene: Scene, path: str | Path | None = None):
    """Draw a scene (a soft shadow under each shape, a darker outline); save it as PNG."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (CANVAS, CANVAS), scene.background)
    draw = ImageDraw.Draw(im)
    shadow = tuple(max(c - 28, 0) for c in scene.background)
    for o in scene.objects:
        for dx, colour, outline in ((2, shadow, None), (0, COLOUR_RGB[o.colour], True)):
            box = _polygon(o, dx)
            edge = tuple(max(c - 60, 0) for c in colour) if outline else None
            if o.shape == "circle":
                draw.ellipse(box, fill=colour, outline=edge)
            else:
                draw.polygon(box, fill=colour, outline=edge)
    if path is not None:
        im.save(path, format="PNG", optimize=True)
    return im


def _polygon(o: Obj, offset: int) -> list[tuple[int, int]] | tuple[int, int, int, int]:
    h, x, y = o.half, o.x + offset, o.y + offset
    if o.shape == "circle":
        return (x - h, y - h, x + h, y + h)
    if o.shape == "square":
        return [(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)]
    return [(x, y - h), (x + h, y + h), (x - h, y + h)]
