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
"""

from __future__ import annotations

import random
from collections.abc import Callable

from illume_bench.data.shapesx_phrases import (
    OPPOSITE,
    Say,
    article,
    join,
    nearest,
    property_of,
    relation,
)
from illume_bench.data.shapesx_questions import Desc, Solved
from illume_bench.data.shapesx_scene import Obj

Plan = Callable[[Say, Solved, list[Obj]], "str | None"]
PLANS: dict[str, list[Plan]] = {}


def plan(*subs: str) -> Callable[[Plan], Plan]:
    def register(fn: Plan) -> Plan:
        for sub in subs:
            PLANS.setdefault(sub, []).append(fn)
        return fn

    return register


def _without(attr: str) -> str:
    return " ".join(p for p in ("size", "colour", "shape") if p != attr)


def _value(attr: str, o: Obj, s: Say) -> str:
    if attr == "shape":
        return "a " + s.shape(o.shape)
    return s.size(o.size) if attr == "size" else o.colour


def _group(d: Desc, plural: bool = True) -> str:
    """A group's name as a person says it: "red shapes", "small triangles"."""
    return d.text(plural).replace("object", "shape")


def _group_attr(d: Desc, n: int) -> str:
    """What members of a group are: "red", "circles", "large"."""
    if d.shape:
        return _group(d, True) if n != 1 else article("a", _group(d, False))
    return " ".join(w for w in (d.size, d.colour) if w)


# ------------------------------------------------------------------ attributes


@plan("colour_of", "shape_of", "size_of")
def _direct(s: Say, q: Solved, objs: list[Obj]) -> str:
    t, attr = q.ev["target"], q.ev["attr"]
    value = _value(attr, t, s)
    return s.lead() + s.pick(
        f"the {s.np(t, _without(attr), det='')} is {value}",
        f"the {s.np(t, _without(attr), det='')} in the image is {value}",
    )


@plan("colour_of", "shape_of", "size_of")
def _where(s: Say, q: Solved, objs: list[Obj]) -> str:
    t = q.ev["target"]
    return s.pick(
        f"{s.where(t)} there is {s.np(t, det='a')}",
        f"there's {s.np(t, det='a')} {s.where(t)}",
        f"the {s.np(t, det='')} sits {s.where(t)}",
    )


@plan("colour_of", "shape_of", "size_of")
def _neighbour(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    t = q.ev["target"]
    n = nearest(t, objs)
    if n is None:
        return None
    return s.pick(
        f"the {s.np(t, det='')} is right next to {s.np(n, det='a')}",
        f"next to {s.np(n, det='the')} is {s.np(t, det='a')}",
        f"{s.np(t, det='a')} is {s.rel(relation(t, n))} {s.np(n, det='the')}",
    )


@plan("colour_of", "shape_of", "size_of")
def _contrast(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    t, attr = q.ev["target"], q.ev["attr"]
    others = [o for o in objs if getattr(o, attr) != getattr(t, attr)]
    if not others:
        return None
    o = s.rng.choice(others)
    value, other_value = _value(attr, t, s), _value(attr, o, s)
    return s.pick(
        f"unlike {s.np(o, _without(attr), det='the')}, which is {other_value}, "
        f"the {s.np(t, _without(attr), det='')} is {value}",
        f"{s.np(o, _without(attr), det='the')} is {other_value} but the "
        f"{s.np(t, _without(attr), det='')} is {value}",
    )


@plan("colour_of", "size_of")
def _same_as(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    t, attr = q.ev["target"], q.ev["attr"]
    twins = [o for o in objs if o != t and getattr(o, attr) == getattr(t, attr)]
    if not twins:
        return None
    o = s.rng.choice(twins)
    if attr == "size":
        return f"it is about as {s.size(t.size)} as {s.np(o, det='the')}"
    return f"the {s.np(t, 'size shape', det='')} is the same {t.colour} as {s.np(o, det='the')}"


@plan("shape_of")
def _property(s: Say, q: Solved, objs: list[Obj]) -> str:
    t = q.ev["target"]
    return s.pick(
        f"{property_of(t.shape, s.rng)}, so it is a {t.shape}",
        f"the {t.colour} one: {property_of(t.shape, s.rng)}",
        f"{property_of(t.shape, s.rng)}",
    )


@plan("size_of")
def _bigger(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    t = q.ev["target"]
    others = [o for o in objs if o.size != t.size]
    if not others:
        return None
    o = s.rng.choice(others)
    more = s.pick("bigger", "larger") if t.size == "large" else s.pick("smaller", "tinier")
    return (
        f"the {s.np(t, 'colour shape', det='')} is {more} than {s.np(o, 'colour shape', det='the')}"
    )


@plan("exists")
def _exists_where(s: Say, q: Solved, objs: list[Obj]) -> str:
    d, found = q.ev["desc"], q.ev["members"]
    if found:
        m = found[0]
        return s.pick(
            f"there is {s.np(m, det='a')} {s.where(m)}", f"{s.where(m)} is {s.np(m, det='a')}"
        )
    return s.pick(f"there is no {d.text()} in the picture", f"i see no {_group(d)}")


@plan("exists")
def _exists_neighbour(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    d, found = q.ev["desc"], q.ev["members"]
    if found:
        m = found[0]
        n = nearest(m, objs)
        return (
            None
            if n is None
            else f"{s.np(m, det='a')} is {s.rel(relation(m, n))} {s.np(n, det='the')}"
        )
    close = max(
        objs, key=lambda o: sum(getattr(d, a) == getattr(o, a) for a in ("size", "colour", "shape"))
    )
    return s.pick(
        f"the closest match is {s.np(close, det='a')}",
        f"the nearest thing to it is {s.np(close, det='a')}, which is not the same",
    )


@plan("exists", "count")
def _all_listed(s: Say, q: Solved, objs: list[Obj]) -> str:
    return s.pick(
        f"the picture shows {s.listing(objs)}",
        f"the {s.noun(True)} are {s.listing(objs)}",
        f"there are {s.num(len(objs))} {s.noun(True)}: {s.listing(objs)}",
    )


@plan("exists")
def _exists_attr(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    d, found = q.ev["desc"], q.ev["members"]
    if found:
        m = found[0]
        return f"one of the {s.num(len(objs))} {s.noun(True)} is {s.np(m, det='a')}"
    same_shape = [o for o in objs if o.shape == d.shape]
    if same_shape:
        colours = " and ".join(sorted({o.colour for o in same_shape}))
        return f"the {s.shape(d.shape, True)} are {colours}"
    return s.pick(f"there are no {d.shape}s at all", f"there isn't a single {d.shape}")


# -------------------------------------------------------------------- counting


@plan("count")
def _count_enumerate(s: Say, q: Solved, objs: list[Obj]) -> str:
    d, found = q.ev["desc"], q.ev["members"]
    if not found:
        return s.pick(f"there are no {_group(d)}", f"there aren't any {_group(d)}")
    return s.lead() + f"there is {s.listing(found)}"  # "there is a red circle and a ..."


@plan("count")
def _count_places(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    d, found = q.ev["desc"], q.ev["members"]
    if not found:
        return None
    if len(found) == 1:
        return f"just one, {s.where(found[0])}"
    places = [s.where(found[0])] + [s.where(o) for o in found[1:]]
    return f"{s.num(len(found))} {_group(d)}: one {places[0]}, " + join(
        [s.pick("another", "one more") + " " + p for p in places[1:]]
    )


@plan("count")
def _count_rest(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    d, found = q.ev["desc"], q.ev["members"]
    rest = [o for o in objs if o not in found]
    if not rest:
        return f"every {s.noun()} in the picture is {_group_attr(d, 1)}"
    if not found:
        return f"the {s.noun(True)} are {s.listing(rest, 'colour shape')}, so no {_group(d)}"
    return s.pick(
        f"apart from them the {s.noun(True)} are {s.listing(rest, 'colour shape')}",
        f"the other {s.num(len(rest))} are {s.listing(rest, 'colour shape')}",
    )


@plan("count")
def _count_total(s: Say, q: Solved, objs: list[Obj]) -> str | None:
    d, found = q.ev["desc"], q.ev["members"]
    if not found:
        return f"there are {s.num(len(objs))} {s.noun(True)} and no {_group(d)}"
    verb = "is" if len(found) == 1 else "are"
    what = _group_attr(d, len(found))
    return f"of the {s.num(len(objs))} {s.noun(True)}, {s.num(len(found))} {verb} {what}"


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
