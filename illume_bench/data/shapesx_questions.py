"""shapes-x questions: a small grammar, its solver, and the question picker.

Questions come from a fixed grammar (CLEVR-like, one form per subtype), so
`answer` can parse any of them back and solve it from the objects alone: the
builder keeps a question only when it is well posed (every "the ..." names
exactly one object, every spatial relation is clear by `MARGIN` pixels),
and the tests re-answer every item from its recorded facts.

Kinds and subtypes:

- attribute: ``colour_of`` "what colour is the large circle?", ``shape_of``,
  ``size_of``, ``exists`` "is there a small red square?"
- count: ``count`` "how many red objects are there?"
- comparison: ``more`` "are there more circles than squares?", ``equal``
  "are there as many red objects as blue objects?", ``same`` "is the red
  circle the same size as the square?"
- spatial: ``relate`` "what colour is the circle to the left of the red
  square?", ``is_rel`` "is the triangle above the blue circle?",
  ``extreme`` "what shape is the leftmost object?"
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from illume_bench.data.shapesx_scene import COLOURS, SHAPES, SIZES, Obj

MARGIN = 10
"""Pixels two centres must differ by, along the axis, for a relation to count."""

KINDS: dict[str, tuple[str, ...]] = {
    "attribute": ("colour_of", "shape_of", "size_of", "exists"),
    "count": ("count",),
    "comparison": ("more", "equal", "same"),
    "spatial": ("relate", "is_rel", "extreme"),
}
RELATIONS = ("to the left of", "to the right of", "above", "below")
EXTREMES = {"leftmost": ("x", 1), "rightmost": ("x", -1), "topmost": ("y", 1), "lowest": ("y", -1)}
"""Extreme word -> (axis, sign): the object with the least sign * coordinate."""


@dataclass(frozen=True)
class Desc:
    """A description: the attributes it fixes (None = any)."""

    size: str | None = None
    colour: str | None = None
    shape: str | None = None

    def matches(self, o: Obj) -> bool:
        return all(
            want is None or want == have
            for want, have in ((self.size, o.size), (self.colour, o.colour), (self.shape, o.shape))
        )

    def text(self, plural: bool = False) -> str:
        noun = (self.shape or "object") + ("s" if plural else "")
        return " ".join(w for w in (self.size, self.colour, noun) if w)


@dataclass
class Solved:
    """A solved question: its answer and the objects the answer rests on."""

    kind: str
    sub: str
    answer: str
    ev: dict[str, Any] = field(default_factory=dict)


_W = r"([a-z ]+?)"
_FORMS: list[tuple[str, re.Pattern[str]]] = [
    ("colour_of", re.compile(rf"^what colou?r is the {_W}\?$")),
    ("shape_of", re.compile(rf"^what shape is the {_W}\?$")),
    ("size_of", re.compile(rf"^what size is the {_W}\?$")),
    ("exists", re.compile(rf"^is there an? {_W}\?$")),
    ("count", re.compile(rf"^how many {_W} are there\?$")),
    ("more", re.compile(rf"^are there more {_W} than {_W}\?$")),
    ("equal", re.compile(rf"^are there as many {_W} as {_W}\?$")),
    ("same", re.compile(rf"^is the {_W} the same (colou?r|shape|size) as the {_W}\?$")),
    (
        "extreme",
        re.compile(r"^what (colou?r|shape) is the (leftmost|rightmost|topmost|lowest) object\?$"),
    ),
    (
        "relate",
        re.compile(rf"^what (colou?r|shape) is the {_W} ({'|'.join(RELATIONS)}) the {_W}\?$"),
    ),
    ("is_rel", re.compile(rf"^is the {_W} ({'|'.join(RELATIONS)}) the {_W}\?$")),
]
_KIND_OF = {sub: kind for kind, subs in KINDS.items() for sub in subs}


def parse_desc(text: str) -> Desc:
    """``"large red circle"`` / ``"red objects"`` -> Desc; ValueError if not a description."""
    words = text.split()
    if not words:
        raise ValueError("empty description")
    noun = words[-1]
    noun = noun[:-1] if noun.endswith("s") and noun[:-1] in (*SHAPES, "object") else noun
    if noun not in (*SHAPES, "object"):
        raise ValueError(f"not a description: {text!r}")
    size = colour = None
    rest = words[:-1]
    if rest and rest[0] in SIZES:
        size = rest.pop(0)
    if rest and rest[0] in COLOURS:
        colour = rest.pop(0)
    if rest:
        raise ValueError(f"not a description: {text!r}")
    return Desc(size, colour, None if noun == "object" else noun)


def _the(desc: Desc, objects: list[Obj]) -> Obj | None:
    found = [o for o in objects if desc.matches(o)]
    return found[0] if len(found) == 1 else None


def _delta(a: Obj, b: Obj, rel: str) -> int:
    """How far `a` is in `rel`'s direction from `b` (positive: the relation holds)."""
    return {
        "to the left of": b.x - a.x,
        "to the right of": a.x - b.x,
        "above": b.y - a.y,
        "below": a.y - b.y,
    }[rel]


def _attr(word: str) -> str:
    return "colour" if word.startswith("colo") else word


def answer(question: str, objects: list[Obj]) -> Solved | None:
    """Solve a grammar question on `objects`; None when it is not well posed.

    Raises ValueError for a question outside the grammar.
    """
    q = question.strip().lower()
    for sub, form in _FORMS:
        m = form.match(q)
        if m is None:
            continue
        try:
            solved = _solve(sub, m.groups(), objects)
        except ValueError:
            continue  # e.g. "is the ... the same colour as ..." read as is_rel
        if solved is not None:
            solved.kind, solved.sub = _KIND_OF[sub], sub
        return solved
    raise ValueError(f"question outside the shapes-x grammar: {question!r}")


def _solve(sub: str, g: tuple[str, ...], objs: list[Obj]) -> Solved | None:
    yes_no = {True: "yes", False: "no"}
    if sub in ("colour_of", "shape_of", "size_of"):
        t = _the(parse_desc(g[0]), objs)
        attr = sub.split("_")[0]
        return None if t is None else Solved("", sub, getattr(t, attr), {"target": t, "attr": attr})
    if sub == "exists":
        d = parse_desc(g[0])
        found = [o for o in objs if d.matches(o)]
        return Solved("", sub, yes_no[bool(found)], {"desc": d, "members": found})
    if sub == "count":
        d = parse_desc(g[0])
        found = [o for o in objs if d.matches(o)]
        return Solved("", sub, str(len(found)), {"desc": d, "members": found})
    if sub in ("more", "equal"):
        da, db = parse_desc(g[0]), parse_desc(g[1])
        a = [o for o in objs if da.matches(o)]
        b = [o for o in objs if db.matches(o)]
        if set(a) & set(b):
            return None
        holds = len(a) > len(b) if sub == "more" else len(a) == len(b)
        return Solved("", sub, yes_no[holds], {"desc_a": da, "desc_b": db, "a": a, "b": b})
    if sub == "same":
        a, b = _the(parse_desc(g[0]), objs), _the(parse_desc(g[2]), objs)
        if a is None or b is None or a == b:
            return None
        attr = _attr(g[1])
        holds = getattr(a, attr) == getattr(b, attr)
        return Solved("", sub, yes_no[holds], {"a": a, "b": b, "attr": attr})
    if sub == "extreme":
        axis, sign = EXTREMES[g[1]]
        order = sorted(objs, key=lambda o: sign * getattr(o, axis))
        if len(order) < 2 or abs(getattr(order[0], axis) - getattr(order[1], axis)) < MARGIN:
            return None
        attr = _attr(g[0])
        ev = {"target": order[0], "runner_up": order[1], "extreme": g[1], "attr": attr}
        return Solved("", sub, getattr(order[0], attr), ev)
    if sub == "relate":
        attr, desc, rel, anchor = _attr(g[0]), parse_desc(g[1]), g[2], _the(parse_desc(g[3]), objs)
        if anchor is None:
            return None
        cands = [o for o in objs if o != anchor and desc.matches(o)]
        held = [o for o in cands if _delta(o, anchor, rel) >= MARGIN]
        unclear = [o for o in cands if abs(_delta(o, anchor, rel)) < MARGIN]
        if len(held) != 1 or unclear:
            return None
        t = held[0]
        ev = {"target": t, "anchor": anchor, "rel": rel, "attr": attr, "desc": desc}
        return Solved("", sub, getattr(t, attr), ev)
    # is_rel
    a, rel, b = _the(parse_desc(g[0]), objs), g[1], _the(parse_desc(g[2]), objs)
    if a is None or b is None or a == b or abs(_delta(a, b, rel)) < MARGIN:
        return None
    return Solved("", sub, yes_no[_delta(a, b, rel) > 0], {"a": a, "b": b, "rel": rel})


# --------------------------------------------------------------------------
# Picking questions for a scene


def _names(o: Obj, objs: list[Obj], leave_out: str | None = None) -> list[Desc]:
    """The shortest descriptions that name `o` alone, without the `leave_out` attribute."""
    found: list[tuple[int, Desc]] = []
    for size, colour, shape in product((None, o.size), (None, o.colour), (None, o.shape)):
        d = Desc(size, colour, shape)
        if (leave_out and getattr(d, leave_out) is not None) or _the(d, objs) != o:
            continue
        found.append((sum(v is not None for v in (size, colour, shape)), d))
    least = min((n for n, _ in found), default=0)
    return [d for n, d in found if n == least and n > 0]


def _groups(objs: list[Obj]) -> list[tuple[Desc, Desc]]:
    """Pairs of disjoint groups to count against each other (two colours, shapes or sizes)."""
    colours = (
        sorted({o.colour for o in objs})
        + [c for c in COLOURS if c not in {o.colour for o in objs}][:1]
    )
    shapes = list(SHAPES)
    pairs = [(Desc(colour=a), Desc(colour=b)) for a in colours for b in colours if a != b]
    pairs += [(Desc(shape=a), Desc(shape=b)) for a in shapes for b in shapes if a != b]
    pairs += [(Desc(size="large"), Desc(size="small")), (Desc(size="small"), Desc(size="large"))]
    return pairs


def candidate_questions(objs: list[Obj], rng: random.Random) -> dict[str, list[str]]:
    """Every question of every subtype this picker would ask about `objs` (unsolved)."""
    out: dict[str, list[str]] = {sub: [] for subs in KINDS.values() for sub in subs}
    for o in objs:
        for sub, attr in (("colour_of", "colour"), ("shape_of", "shape"), ("size_of", "size")):
            for d in _names(o, objs, attr):
                out[sub].append(f"what {attr} is the {d.text()}?")
    for size, colour, shape in product((None, *SIZES), COLOURS, SHAPES):
        d = Desc(size, colour, shape)
        art = "an" if d.text()[0] in "aeiou" else "a"
        out["exists"].append(f"is there {art} {d.text()}?")
    for d in (
        {Desc(colour=c) for c in COLOURS}
        | {Desc(shape=s) for s in SHAPES}
        | {Desc(size=z, shape=s) for z in SIZES for s in SHAPES}
        | {Desc(colour=o.colour, shape=o.shape) for o in objs}
    ):
        out["count"].append(f"how many {d.text(True)} are there?")
    for da, db in _groups(objs):
        out["more"].append(f"are there more {da.text(True)} than {db.text(True)}?")
        out["equal"].append(f"are there as many {da.text(True)} as {db.text(True)}?")
    named = {o: _names(o, objs) for o in objs}
    for a, b in product(objs, objs):
        if a == b or not named[a] or not named[b]:
            continue
        na, nb = rng.choice(named[a]).text(), rng.choice(named[b]).text()
        for attr in ("colour", "shape", "size"):
            out["same"].append(f"is the {na} the same {attr} as the {nb}?")
        for rel in RELATIONS:
            out["is_rel"].append(f"is the {na} {rel} the {nb}?")
            for attr in ("colour", "shape"):
                for d in (Desc(shape=a.shape), Desc(colour=a.colour), Desc(size=a.size), Desc()):
                    if getattr(d, attr) is None:
                        out["relate"].append(f"what {attr} is the {d.text()} {rel} the {nb}?")
    for word in EXTREMES:
        for attr in ("colour", "shape"):
            out["extreme"].append(f"what {attr} is the {word} object?")
    return out


def pick_questions(objs: list[Obj], rng: random.Random) -> list[tuple[str, Solved]]:
    """One well-posed question per kind (where the scene allows one).

    The subtype is drawn uniformly among those with a well-posed question,
    then the answer uniformly among that subtype's answers (so yes/no and
    colours are balanced, as CLEVR balances its answers), then the question;
    count questions are drawn alike, since most colours and shapes a count
    could ask about are absent.
    """
    cands = candidate_questions(objs, rng)
    picked: list[tuple[str, Solved]] = []
    for kind, subs in KINDS.items():
        by_sub: dict[str, dict[str, list[tuple[str, Solved]]]] = {}
        for sub in subs:
            for text in sorted(set(cands[sub])):
                solved = answer(text, objs)
                if solved is not None:
                    by_sub.setdefault(sub, {}).setdefault(solved.answer, []).append((text, solved))
        if not by_sub:
            continue
        by_answer = by_sub[rng.choice(sorted(by_sub))]
        if kind == "count":  # every count question alike: answer-first would make 0 common
            pool = [qa for _, qas in sorted(by_answer.items()) for qa in qas]
        else:
            pool = by_answer[rng.choice(sorted(by_answer))]
        picked.append(rng.choice(pool))
    return picked
