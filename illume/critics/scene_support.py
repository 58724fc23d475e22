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

import re

from illume.critics.scene_reading import Claim, Clause, read
from illume.data.shapesx_questions import Desc, Solved, _delta, answer, parse_desc
from illume.data.shapesx_scene import Obj, objects_from_facts

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


def _pronoun_value(clause: Clause, attr: str, value: str) -> bool:
    return any(c.pronoun and c.attrs.get(attr) == value for c in clause.claims)


def _count_of(clause: Clause, d) -> int | None:
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


def supporting(
    text: str, question: str, solved: Solved, objs: list[Obj]
) -> tuple[set[str], list[str]]:
    """(support found, wrong relations and counts named) for one rationale."""
    ev, sub = solved.ev, solved.sub
    support: set[str] = set()
    wrong: list[str] = []
    clauses = read(text)
    for cl in clauses:
        if sub in ("colour_of", "shape_of", "size_of", "relate", "extreme"):
            t, attr = ev["target"], ev["attr"]
            if _names(cl, t, attr, objs, t):
                spatial = sub in ("relate", "extreme")
                if not spatial or cl.directions or _anchor_named(cl, ev, objs):
                    support.add(f"{attr} of the {t.shape}")
        elif sub == "exists":
            support |= _exists(cl, ev, solved.answer, objs)
        elif sub == "count":
            n = _count_of(cl, ev["desc"])
            if n is not None:
                (support.add if n == len(ev["members"]) else wrong.append)(f"count {n}")
        elif sub in ("more", "equal"):
            support |= _compare(cl, ev, wrong)
        elif sub == "same":
            a, b, attr = ev["a"], ev["b"], ev["attr"]
            if _given(question, attr):  # "is the circle the same shape as the square?"
                continue
            if _names(cl, a, attr, objs, a) and _names(cl, b, attr, objs, None):
                support.add(f"{attr} of both")
            elif getattr(a, attr) == getattr(b, attr) and _pronoun_value(
                cl, attr, getattr(a, attr)
            ):
                support.add(f"both {getattr(a, attr)}")
        elif sub == "is_rel":
            pair = _ordered(cl, ev["a"], ev["b"], objs, ev["a"])
            for d in cl.directions if pair else []:
                ok = _holds(pair[0], pair[1], d)
                (support.add if ok else wrong.append)(f"{d} of {pair[1].shape}")
    if sub == "same" and not support and not _given(question, ev["attr"]):
        a, b, attr = ev["a"], ev["b"], ev["attr"]
        if any(_names(c, a, attr, objs, a) for c in clauses) and any(
            _names(c, b, attr, objs, None) for c in clauses
        ):
            support.add(f"{attr} of both")
    if sub == "count" and not support and ev["members"]:
        named = {
            o
            for cl in clauses
            for c in cl.claims
            if not (c.negated or c.pronoun or c.plural)
            and len(m := c.matches(objs)) == 1
            and _covers(c, ev["desc"])
            for o in m
        }
        if set(ev["members"]) <= named:
            support.add("each counted object")
    if sub in ("more", "equal") and not support:
        support |= _counts_across(clauses, ev)
    return support, wrong


def _covers(c: Claim, d: Desc) -> bool:
    return all(c.attrs.get(a) == v for a in ("size", "colour", "shape") if (v := getattr(d, a)))


_SAME = re.compile(r"^is the ([a-z ]+?) the same (colou?r|shape|size) as the ([a-z ]+?)\?$")


def _given(question: str, attr: str) -> bool:
    """Whether the question's own wording fixes `attr` of both objects (nothing to add)."""
    m = _SAME.match(question.strip().lower())
    if m is None:
        return False
    return all(getattr(parse_desc(m.group(i)), attr) is not None for i in (1, 3))


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


def _compare(cl: Clause, ev: dict, wrong: list[str]) -> set[str]:
    """A comparison word between the two groups, named in order."""
    if not cl.compare:
        return set()
    da, db = ev["desc_a"], ev["desc_b"]
    order = []
    for c in cl.claims:
        for d, key in ((da, "a"), (db, "b")):
            want = {x: v for x in ("size", "colour", "shape") if (v := getattr(d, x))}
            if c.attrs == want and key not in order:
                order.append(key)
    if len(order) != 2:
        return set()
    na, nb = len(ev["a"]), len(ev["b"])
    first, second = (na, nb) if order == ["a", "b"] else (nb, na)
    said = cl.compare[0]
    holds = {">": first > second, "<": first < second, "=": first == second}[said]
    if holds:
        return {"comparison of the groups"}
    wrong.append("comparison of the groups")
    return set()


def _counts_across(clauses: list[Clause], ev: dict) -> set[str]:
    """Both groups' counts, right, anywhere in the text."""
    got = {}
    for cl in clauses:
        for key, d in (("a", ev["desc_a"]), ("b", ev["desc_b"])):
            n = _count_of(cl, d)
            if n is not None:
                got.setdefault(key, n)
    if got.get("a") == len(ev["a"]) and got.get("b") == len(ev["b"]):
        return {"counts of both groups"}
    return set()
