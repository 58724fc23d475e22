"""shapes-x reference rationales: several sentence plans per question subtype.

Each plan cites a different piece of evidence for the answer (the object's
own attribute, where it is, its neighbour, the other objects, a count, a
visible property such as "three corners"), and words it through `Say`'s
synonyms, so an item's references differ in content and in wording, as
several annotators' would. A plan returns None where its evidence does not
exist in the scene (no other object of the same colour, say). Every
statement is true of the scene; colours and shapes that are absent are only
ever named right after a negation ("there are no red circles"), which keeps
`illume_bench.fact_errors.wrong_facts` at zero on every reference (tested).

The plan registry and the plans about one object or one group (attributes,
existence, counting) are in shapesx_plans.py; this module adds the plans that
set objects against one another (comparison, same, spatial relations,
extremes) and picks an item's references among them all.
"""

from __future__ import annotations

import random

from illume_bench.data.shapesx_phrases import OPPOSITE, Say, property_of
from illume_bench.data.shapesx_plans import PLANS, _group, _group_attr, _value, _without, plan
from illume_bench.data.shapesx_questions import Desc, Solved
from illume_bench.data.shapesx_scene import Obj

# ------------------------------------------------------------------ comparison


def _n_group(s: Say, n: int, d: Desc) -> str:
    return f"no {_group(d)}" if n == 0 else f"{s.num(n)} {_group(d, n != 1)}"


@plan("more", "equal")
def _cmp_counts(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, da, db = q.ev["a"], q.ev["b"], q.ev["desc_a"], q.ev["desc_b"]
    return (
        s.lead()
        + f"there {'is' if len(a) == 1 else 'are'} {_n_group(s, len(a), da)}"
        + f" and {_n_group(s, len(b), db)}"
    )


@plan("more", "equal")
def _cmp_listing(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    a, b, da, db = q.ev["a"], q.ev["b"], q.ev["desc_a"], q.ev["desc_b"]
    if not a and not b:
        return None
    if not a or not b:
        full, fd, empty = (a, da, db) if a else (b, db, da)
        return f"the {_group(fd)} are {s.listing(full)}, and there are no {_group(empty)}"
    return f"{s.listing(a)} on one side and {s.listing(b)} on the other"


@plan("more", "equal")
def _cmp_difference(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, da, db = q.ev["a"], q.ev["b"], q.ev["desc_a"], q.ev["desc_b"]
    if len(a) == len(b) == 0:
        return s.pick("there are none of either", "both counts are zero")
    if len(a) == len(b):
        return s.pick(
            f"both groups have {s.num(len(a))}", f"the counts are equal, {s.num(len(a))} each"
        )
    more, fewer = (da, db) if len(a) > len(b) else (db, da)
    diff = abs(len(a) - len(b))
    if not (a and b):  # an empty group is named only after a negation (it may be absent)
        return f"the {_group(more)} win, since there are no {_group(fewer)}"
    return s.pick(
        f"the {_group(more)} outnumber the {_group(fewer)} by {s.num(diff)}",
        f"there {'is' if diff == 1 else 'are'} {s.num(diff)} more "
        f"{_group(more, diff != 1)} than {_group(fewer)}",
    )


@plan("more", "equal")
def _cmp_share(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, da, db = q.ev["a"], q.ev["b"], q.ev["desc_a"], q.ev["desc_b"]

    def part(group: list[Obj], d: Desc) -> str:
        if not group:
            return f"none are {_group_attr(d, 2)}"
        return (
            f"{s.num(len(group))} {'is' if len(group) == 1 else 'are'} {_group_attr(d, len(group))}"
        )

    return f"of the {s.num(len(objs))} {s.noun(True)}, {part(a, da)} and {part(b, db)}"


@plan("same")
def _same_values(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, attr = q.ev["a"], q.ev["b"], q.ev["attr"]
    va, vb = _value(attr, a, s), _value(attr, b, s)
    joint = s.pick("and", "while") if va != vb else "and"
    return (
        f"the {s.np(a, _without(attr), det='')} is {va} {joint} "
        f"the {s.np(b, _without(attr), det='')} is {vb}"
    )


@plan("same")
def _same_both(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, attr = q.ev["a"], q.ev["b"], q.ev["attr"]
    if getattr(a, attr) == getattr(b, attr):
        v = a.shape + "s" if attr == "shape" else _value(attr, a, s)
        return s.pick(f"they are both {v}", f"both of them are {v}")
    return s.pick(
        f"one is {_value(attr, a, s)} and the other is {_value(attr, b, s)}",
        f"their {attr}s differ: {_value(attr, a, s)} and {_value(attr, b, s)}",
    )


@plan("same")
def _same_places(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b = q.ev["a"], q.ev["b"]
    return f"there is {s.np(a, det='a')} {s.where(a)} and {s.np(b, det='a')} {s.where(b)}"


@plan("same")
def _same_detail(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, attr = q.ev["a"], q.ev["b"], q.ev["attr"]
    if attr == "shape":
        pa, pb = property_of(a.shape, s.rng), property_of(b.shape, s.rng)
        return f"the {a.colour} one: {pa}; the {b.colour} one: {pb}"
    if attr == "size":
        if a.size == b.size:
            return f"{s.np(a, 'colour shape')} is about as big as {s.np(b, 'colour shape')}"
        word = "bigger" if a.size == "large" else "smaller"
        return f"{s.np(a, 'colour shape')} is {word} than {s.np(b, 'colour shape')}"
    if a.colour == b.colour:
        return (
            f"{s.np(a, 'size shape')} and {s.np(b, 'size shape')} are painted the same {a.colour}"
        )
    return f"{s.np(a, 'size shape')} is painted {a.colour}, {s.np(b, 'size shape')} {b.colour}"


# --------------------------------------------------------------------- spatial


@plan("relate")
def _rel_direct(s: Say, q: Solved, objs: list[Obj]) -> str:
    t, anchor, rel = q.ev["target"], q.ev["anchor"], q.ev["rel"]
    return s.lead() + f"{s.np(t)} is {s.rel(rel)} {s.np(anchor)}"


@plan("relate")
def _rel_side(s: Say, q: Solved, objs: list[Obj]) -> str:
    t, anchor, rel = q.ev["target"], q.ev["anchor"], q.ev["rel"]
    return s.pick(
        f"{s.np(anchor)} has {s.np(t, det='a')} {s.side(rel)}",
        f"look at {s.np(anchor, 'colour shape')}: {s.side(rel)} is {s.np(t, det='a')}",
    )


@plan("relate", "is_rel")
def _rel_places(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b = (q.ev["target"], q.ev["anchor"]) if "target" in q.ev else (q.ev["a"], q.ev["b"])
    return s.pick(
        f"{s.np(b)} is {s.where(b)} and {s.np(a, 'colour shape')} is {s.where(a)}",
        f"{s.np(a, 'colour shape')} sits {s.where(a)}, {s.np(b, 'colour shape')} {s.where(b)}",
    )


@plan("relate")
def _rel_only(s: Say, q: Solved, objs: list[Obj]) -> str:
    t, anchor, rel, attr = q.ev["target"], q.ev["anchor"], q.ev["rel"], q.ev["attr"]
    what = _group(q.ev["desc"], False) if q.ev["desc"] != Desc() else s.noun()
    return f"the only {what} {s.rel(rel)} {s.np(anchor, 'colour shape')} is {_value(attr, t, s)}"


@plan("is_rel")
def _is_rel_actual(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, rel = q.ev["a"], q.ev["b"], q.ev["rel"]
    actual = rel if q.answer == "yes" else OPPOSITE[rel]
    return s.lead() + f"{s.np(a)} is {s.rel(actual)} {s.np(b)}"


@plan("is_rel")
def _is_rel_inverse(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, rel = q.ev["a"], q.ev["b"], q.ev["rel"]
    actual = rel if q.answer == "yes" else OPPOSITE[rel]
    return f"{s.np(b, 'colour shape')} is {s.rel(OPPOSITE[actual])} {s.np(a, 'size shape')}"


@plan("is_rel")
def _is_rel_edge(s: Say, q: Solved, objs: list[Obj]) -> str:
    a, b, rel = q.ev["a"], q.ev["b"], q.ev["rel"]
    actual = rel if q.answer == "yes" else OPPOSITE[rel]
    edge = {
        "to the left of": "left",
        "to the right of": "right",
        "above": "top",
        "below": "bottom",
    }[actual]
    return f"{s.np(a, 'colour shape')} is closer to the {edge} edge than {s.np(b, 'colour shape')}"


_EXTREME = {
    "leftmost": (
        "furthest to the left",
        "the leftmost one",
        "closest to the left edge",
        "to the right of",
    ),
    "rightmost": (
        "furthest to the right",
        "the rightmost one",
        "closest to the right edge",
        "to the left of",
    ),
    "topmost": ("the highest up", "the topmost one", "closest to the top", "below"),
    "lowest": ("the lowest one", "furthest down", "closest to the bottom", "above"),
}


@plan("extreme")
def _ext_direct(s: Say, q: Solved, objs: list[Obj]) -> str:
    t = q.ev["target"]
    return s.lead() + f"{s.np(t)} is {s.pick(*_EXTREME[q.ev['extreme']][:3])}"


@plan("extreme")
def _ext_runner_up(s: Say, q: Solved, objs: list[Obj]) -> str:
    t, r = q.ev["target"], q.ev["runner_up"]
    other_side = _EXTREME[q.ev["extreme"]][3]
    return s.pick(
        f"even {s.np(r)}, the next one, is {s.rel(other_side)} {s.np(t, 'colour shape')}",
        f"{s.np(r, 'colour shape')} comes second and is still {s.rel(other_side)} it",
    )


@plan("extreme")
def _ext_where(s: Say, q: Solved, objs: list[Obj]) -> str:
    t = q.ev["target"]
    return f"{s.where(t)} there is {s.np(t, det='a')}, and no other {s.noun()} is further out"


@plan("extreme")
def _ext_others(s: Say, q: Solved, objs: list[Obj]) -> str:
    t = q.ev["target"]
    other_side = _EXTREME[q.ev["extreme"]][3]
    return f"every other {s.noun()} is {s.rel(other_side)} {s.np(t, 'colour shape')}"


# ----------------------------------------------------------------------- entry


def reference_explanations(q: Solved, objs: list[Obj], rng: random.Random, k: int = 4) -> list[str]:
    """Up to `k` (at least 3) references for a solved question, each from a different plan."""
    plans = list(PLANS[q.sub])
    rng.shuffle(plans)
    out: list[str] = []
    for fn in plans:
        text = fn(Say(rng), q, objs)
        if text and text not in out:
            out.append(" ".join(text.split()))
        if len(out) == k:
            break
    if len(out) < 3:
        raise ValueError(f"only {len(out)} references for {q.sub}: {out}")
    return out
