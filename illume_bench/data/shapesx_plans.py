"""shapes-x sentence plans: the registry, the shared wording helpers, and the plans of
the questions about one object or one group (attributes, existence, counting).

A plan (`Plan`) turns a solved question and the scene's objects into one
reference sentence, or None where its evidence does not exist in the scene;
`@plan(...)` files it under the question subtypes it can explain. The plans
setting objects against one another, and the entry that picks among all of
them, are in shapesx_references.py, which imports this module first: each
subtype's plans stay in one fixed order, which the seeded shuffle relies on.
"""

from __future__ import annotations

from collections.abc import Callable

from illume_bench.data.shapesx_phrases import Say, article, join, nearest, property_of, relation
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
