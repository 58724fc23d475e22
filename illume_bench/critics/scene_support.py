"""What supports a shapes-x answer: facts about the objects the question asks about.

The question is solved again from the item's facts (the data module's own
grammar and solver), which gives the objects it refers to and what decides
the answer. A clause of the rationale (`scene_reading`) supports it when:

- attribute ("what colour is the circle?"): a claim about the target names
  the asked value ("the big circle is blue"), or, for a shape, a property
  of it ("it has three corners"); "is there a ...?": an object matching the
  description (yes), or the description negated or a near match that differs
  (no);
- counting: the right count beside the counted attribute ("2 red shapes"),
  "no red shapes" for zero, or every counted object named one by one;
- comparison: both groups' counts, or a comparison word ("outnumber",
  "fewer", "as many") that holds between the two groups named in order;
  "same colour as": the asked value of both objects, or "both" with it;
- spatial: a direction that holds between the two objects named in order
  ("the square is higher than the triangle"); for "what colour is the circle
  left of ..." and "the leftmost object", a claim about the target with the
  answer and a direction.

A direction, count or comparison that is false between the referred
objects is a wrong fact (`wrong_relation`).
"""

from __future__ import annotations

from illume_bench.critics.scene_reading import Claim, Clause, read
from illume_bench.data.shapesx_phrases import region
from illume_bench.data.shapesx_questions import Desc, Solved, _delta, answer
from illume_bench.data.shapesx_scene import Obj, objects_from_facts

REL_OF = {"left": "to the left of", "right": "to the right of", "up": "above", "down": "below"}
"""Direction word -> the grammar's relation."""


def solve(question: str, facts: dict[str, str]) -> tuple[Solved, list[Obj]] | None:
    """The solved question and the scene's objects; None outside shapes-x's grammar."""
    try:
        objs = objects_from_facts(facts)
        solved = answer(question, objs) if objs else None
    except ValueError:
        return None
    return (solved, objs) if solved is not None else None


def _refers(claim: Claim, o: Obj, objs: list[Obj], target: Obj | None) -> bool:
    if claim.negated:
        return False
    if claim.pronoun:
        return o == target
    return o in claim.matches(objs)


def _names(clause: Clause, o: Obj, attr: str, objs: list[Obj], target: Obj | None) -> bool:
    """Whether a claim of the clause refers to `o` and names its `attr` value."""
    for c in clause.claims:
        identifies = c.pronoun or set(c.attrs) - {attr}  # "a square" alone could be any square
        if c.attrs.get(attr) == getattr(o, attr) and identifies and _refers(c, o, objs, target):
            return True
    if attr == "shape" and clause.property_shape() == o.shape:
        return any(_refers(c, o, objs, target) for c in clause.claims)
    return False


def _count_of(clause: Clause, d: Desc) -> int | None:
    """The count the clause gives for description `d`'s group, if it gives one."""
    want = {a: v for a in ("size", "colour", "shape") if (v := getattr(d, a))}
    if any(c.negated and c.attrs == want for c in clause.claims):
        return 0
    if len(clause.numbers) == 1 and all(
        clause.values().get(a) == {v} for a, v in want.items()
    ):  # "2 red shapes", "two are red"
        return clause.numbers[0]
    return None


def _ordered(clause: Clause, a: Obj, b: Obj, objs: list[Obj], target: Obj) -> tuple | None:
    """(first, second) when the clause refers to a and b, in the order it names them."""
    hits = []
    for c in clause.claims:
        for o in (a, b):
            if _refers(c, o, objs, target) and len(c.matches(objs)) <= 2 and o not in hits:
                hits.append(o)
                break
    return tuple(hits) if len(hits) == 2 else None


def _holds(first: Obj, second: Obj, direction: str) -> bool:
    return _delta(first, second, REL_OF[direction]) > 0


def supporting(text: str, solved: Solved, objs: list[Obj]) -> tuple[set[str], list[str]]:
    """(support found, wrong relations and counts named) for one rationale."""
    ev, sub = solved.ev, solved.sub
    support: set[str] = set()
    wrong: list[str] = []
    clauses = read(text)
    if sub in ("colour_of", "shape_of", "size_of", "relate", "extreme"):
        t, attr = ev["target"], ev["attr"]
        for cl in clauses:
            spatial = sub in ("relate", "extreme")
            if _names(cl, t, attr, objs, t) and (
                not spatial or cl.directions or _anchor_named(cl, ev, objs)
            ):
                support.add(f"{attr} of the {t.shape}")
    elif sub == "exists":
        for cl in clauses:
            support |= _exists(cl, ev, solved.answer, objs)
    elif sub == "count":
        n, said = len(ev["members"]), _group_count(clauses, ev["desc"], ev["members"], objs)
        if said is not None:
            (support.add if said == n else wrong.append)(f"count {said}")
        elif (
            n
            and any(n in cl.numbers and not cl.claims for cl in clauses)
            and any(cl.directions or cl.middle for cl in clauses)
        ):  # "just one, over on the right"
            support.add(f"count {n} and where")
    elif sub in ("more", "equal"):
        support |= _compare(clauses, ev, objs, wrong)
    elif sub == "same":
        support |= _same(clauses, ev, objs)
    elif sub == "is_rel":
        support |= _is_rel(clauses, ev, objs, wrong)
    return support, wrong


def _covers(c: Claim, d: Desc) -> bool:
    return all(c.attrs.get(a) == v for a in ("size", "colour", "shape") if (v := getattr(d, a)))


def _singular(clauses: list[Clause]) -> list[Claim]:
    """The claims that name one object each ("a red circle"), in order."""
    return [c for cl in clauses for c in cl.claims if not (c.negated or c.pronoun or c.plural)]


def _group_count(clauses: list[Clause], d: Desc, members: list[Obj], objs: list[Obj]) -> int | None:
    """The size the text gives group `d`: a count beside it, or by naming objects.

    Naming each member (one claim per member, each fitting only members)
    counts it; so does listing every other object (one claim each, fitting
    only non-members): the group is what is left.
    """
    for cl in clauses:
        n = _count_of(cl, d)
        if n is not None:
            return n
    rest = [o for o in objs if o not in members]
    inside = outside = 0
    for c in _singular(clauses):
        found = c.matches(objs)
        if found and all(o in members for o in found) and _covers(c, d):
            inside += 1
        elif found and all(o in rest for o in found):
            outside += 1
    if members and inside >= len(members):
        return len(members)
    if rest and outside >= len(rest):
        return len(members)
    return None


def _compare(clauses: list[Clause], ev: dict, objs: list[Obj], wrong: list[str]) -> set[str]:
    """Both groups' sizes, or a comparison word between the groups named in order."""
    da, db, a, b = ev["desc_a"], ev["desc_b"], ev["a"], ev["b"]
    na, nb = _group_count(clauses, da, a, objs), _group_count(clauses, db, b, objs)
    if na is not None and nb is not None:
        if (na, nb) == (len(a), len(b)):
            return {"counts of both groups"}
        wrong.append(f"counts {na} and {nb}")
        return set()
    said = [w for cl in clauses for w in cl.compare]
    if not said:
        return set()
    order = []
    for c in (c for cl in clauses for c in cl.claims):
        for d, key in ((da, "a"), (db, "b")):
            want = {x: v for x in ("size", "colour", "shape") if (v := getattr(d, x))}
            if c.attrs == want and key not in order:
                order.append(key)
    numbers = [n for cl in clauses for n in cl.numbers]
    if not order and said[0] == "=" and len(set(numbers)) == 1:  # "equal, one each"
        return {"equal counts"} if len(a) == len(b) == numbers[0] else set()
    if len(order) != 2:
        return set()
    first, second = (len(a), len(b)) if order == ["a", "b"] else (len(b), len(a))
    if {">": first > second, "<": first < second, "=": first == second}[said[0]]:
        return {"comparison of the groups"}
    wrong.append("comparison of the groups")
    return set()


def _same(clauses: list[Clause], ev: dict, objs: list[Obj]) -> set[str]:
    """The asked attribute of both objects (or "both"/"one ... the other" with the values)."""
    a, b, attr = ev["a"], ev["b"], ev["attr"]
    va, vb = getattr(a, attr), getattr(b, attr)
    if any(_names(cl, a, attr, objs, a) for cl in clauses) and any(
        _names(cl, b, attr, objs, None) for cl in clauses
    ):
        return {f"{attr} of both"}
    loose = {v for cl in clauses for v in cl.predicates.get(attr, set())}
    loose |= {c.attrs[attr] for cl in clauses for c in cl.claims if c.pronoun and attr in c.attrs}
    return {f"{attr}s {va} and {vb}"} if {va, vb} <= loose else set()


def _is_rel(clauses: list[Clause], ev: dict, objs: list[Obj], wrong: list[str]) -> set[str]:
    """A direction between the two objects, or where each of them is."""
    a, b = ev["a"], ev["b"]
    out: set[str] = set()
    for cl in clauses:
        pair = _ordered(cl, a, b, objs, a)
        for d in cl.directions if pair else []:
            ok = _holds(pair[0], pair[1], d)
            (out.add if ok else wrong.append)(f"{d} of {pair[1].shape}")
    if out or wrong:
        return out
    places: dict[Obj, set[str]] = {}
    for cl in clauses:
        first = next((c for c in cl.claims if not c.negated), None)
        said = set(cl.directions) | ({"middle"} if cl.middle else set())
        for o in (a, b):
            if first is not None and said and _refers(first, o, objs, None):
                places.setdefault(o, set()).update(said)
    if len(places) == 2 and places[a] != places[b] and all(map(_placed, places, places.values())):
        return {"where both are"}
    return out


def _placed(o: Obj, directions: set[str]) -> bool:
    """Whether the region words said of `o` are true of it."""
    row, col = region(o)
    want = {"up": row == "top", "down": row == "bottom", "left": col == "left"}
    want["right"] = col == "right"
    want["middle"] = row == "middle" or col == "centre"
    return all(want[d] for d in directions)


def _anchor_named(cl: Clause, ev: dict, objs: list[Obj]) -> bool:
    anchor = ev.get("anchor") or ev.get("runner_up")
    return anchor is not None and any(_refers(c, anchor, objs, None) for c in cl.claims)


def _exists(cl: Clause, ev: dict, ans: str, objs: list[Obj]) -> set[str]:
    d = ev["desc"]
    want = {a: v for a in ("size", "colour", "shape") if (v := getattr(d, a))}
    out = set()
    for c in cl.claims:
        if c.pronoun:
            continue
        covers = _covers(c, d)
        if ans == "yes" and covers and not c.negated and set(c.matches(objs)) & set(ev["members"]):
            out.add("the object asked about")
        if ans == "no":
            if c.negated and covers:
                out.add("no such object")
            shares = any(c.attrs.get(a) == v for a, v in want.items())
            differs = any(a in c.attrs and c.attrs[a] != v for a, v in want.items())
            if not c.negated and shares and differs and c.matches(objs):
                out.add("a near match that differs")
    return out
