"""How the simulated annotator reads a rationale about a shapes-x scene.

A careful person judging "is the small yellow object below the triangle?
no" looks for what the rationale says about *those* objects, not whether it
names some colour or shape that happens to be in the picture. So the text
is read as clauses (split at punctuation and "and", "but", ...), and each
clause as *claims*: a noun phrase that points at objects ("the big red
circle", "it", "the shapes") with the colours, shapes and sizes it names,
including a predicate after "is"/"are" ("the circle is blue"). A claim
refers to the scene objects whose attributes it matches. Clauses also carry
numbers, directions (left/right/up/down, from "above", "higher", "top
edge", "leftmost"...) and shape properties ("three corners").

Generic statements are dropped: a clause whose subject is a bare
indefinite or plural shape followed by "has"/"is"/... ("a triangle has
three sides", "circles are round") is a definition, not about the scene.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from illume_bench.data.shapesx_scene import Obj
from illume_bench.fact_errors import COLOURS

SIZE_WORDS = {
    **dict.fromkeys(("large", "big", "bigger", "larger", "biggest", "largest"), "large"),
    **dict.fromkeys(("small", "little", "tiny", "smaller", "tinier", "smallest"), "small"),
}
SHAPE_WORDS = {
    **dict.fromkeys(("circle", "circles", "circular", "disc", "discs", "round"), "circle"),
    **dict.fromkeys(("square", "squares", "rectangle", "rectangles", "block"), "square"),
    **dict.fromkeys(("triangle", "triangles", "triangular"), "triangle"),
}
NOUNS = frozenset(
    [
        "shape",
        "shapes",
        "object",
        "objects",
        "thing",
        "things",
        "figure",
        "figures",
        "piece",
        "pieces",
        "one",
        "ones",
    ]
)
PRONOUNS = frozenset({"it", "they", "both", "them", "its", "their"})
NUMBER_WORDS = {"zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
NUMBER_WORDS |= {"six": 6, "single": 1}
DIRECTIONS = {
    **dict.fromkeys(("left", "leftmost"), "left"),
    **dict.fromkeys(("right", "rightmost"), "right"),
    **dict.fromkeys(("above", "over", "higher", "top", "topmost", "up", "upper"), "up"),
    **dict.fromkeys(("below", "under", "beneath", "lower", "lowest", "bottom", "down"), "down"),
}
COMPARE = {
    **dict.fromkeys(("more", "outnumber", "outnumbers", "win"), ">"),
    **dict.fromkeys(("fewer", "less"), "<"),
    **dict.fromkeys(("equal", "many", "each", "same"), "="),
}
"""Comparison word -> what it says of the first group against the second."""
NEGATIONS = frozenset({"no", "not", "never", "nor", "neither", "without", "isn't", "aren't"})
COPULAS = frozenset(
    {"is", "are", "was", "were", "looks", "painted", "coloured", "colored", "all", "both"}
)
GENERIC_VERBS = frozenset(
    [
        "has",
        "have",
        "is",
        "are",
        "consists",
        "consist",
        "contains",
        "contain",
        "always",
        "can",
        "means",
        "made",
        "composed",
    ]
)
DETERMINERS = frozenset({"a", "an", "the", "every", "any", "each"})
BREAKS = frozenset({"and", "but", "while", "whereas", "so", "however", "although", "though"})

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,;:!?()]")


@dataclass
class Claim:
    """A noun phrase that points at objects, with what the clause says of them."""

    attrs: dict[str, str] = field(default_factory=dict)
    pronoun: bool = False
    negated: bool = False
    plural: bool = False

    def matches(self, objs: list[Obj]) -> list[Obj]:
        return [o for o in objs if all(getattr(o, a) == v for a, v in self.attrs.items())]


@dataclass
class Clause:
    """One clause: its claims in order, numbers, directions and shape properties."""

    words: list[str]
    claims: list[Claim] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    directions: list[str] = field(default_factory=list)
    compare: list[str] = field(default_factory=list)
    predicates: dict[str, set[str]] = field(default_factory=dict)
    middle: bool = False
    """Whether the clause places something in the middle ("near the centre")."""
    """Values said of no noun phrase: "two are large", "one is red"."""

    def values(self) -> dict[str, set[str]]:
        """Every attribute value a claim of this clause names, by attribute."""
        out: dict[str, set[str]] = {a: set(v) for a, v in self.predicates.items()}
        for c in self.claims:
            if not c.negated:
                for a, v in c.attrs.items():
                    out.setdefault(a, set()).add(v)
        return out

    def property_shape(self) -> str | None:
        """The shape a property phrase describes ("three corners" -> triangle)."""
        w = set(self.words)
        if w & {"corners", "sides", "corner", "points", "point"}:
            if 3 in self.numbers or "point" in w:
                return "triangle"
            if 4 in self.numbers:
                return "square"
        if w & {"curve", "curved", "round"} or ("no" in w and "corners" in w):
            return "circle"
        return None


def _split(text: str) -> list[list[str]]:
    tokens = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    clauses: list[list[str]] = [[]]
    for tok in tokens:
        if tok in BREAKS or not tok[0].isalnum():
            clauses.append([])
        else:
            clauses[-1].append(tok)
    return [c for c in clauses if c]


def _negated(words: list[str], i: int) -> bool:
    return any(w in NEGATIONS or w.endswith("n't") for w in words[max(0, i - 3) : i])


def read_clause(words: list[str]) -> Clause | None:
    """The clause's claims and cues; None when it is a generic statement."""
    clause = Clause(words)
    i = 0
    subject: Claim | None = None
    while i < len(words):
        w = words[i]
        if w in DIRECTIONS:
            clause.directions.append(DIRECTIONS[w])
        if w in ("middle", "centre", "center"):
            clause.middle = True
        if w in COMPARE:
            clause.compare.append(COMPARE[w])
        if w.isdigit() or (w in NUMBER_WORDS and not _noun_one(words, i)):
            clause.numbers.append(int(w) if w.isdigit() else NUMBER_WORDS[w])
            i += 1
            continue
        if w in PRONOUNS:
            claim = Claim(pronoun=True, plural=w not in ("it", "its"))
            clause.claims.append(claim)
            subject = subject or claim
            i += 1
            continue
        if w in SIZE_WORDS or w in COLOURS or w in SHAPE_WORDS or w in NOUNS:
            start = i
            claim = Claim()
            while i < len(words) and (w := words[i]) in (*SIZE_WORDS, *COLOURS):
                key = "size" if w in SIZE_WORDS else "colour"
                claim.attrs[key] = SIZE_WORDS.get(w) or COLOURS[w]
                i += 1
            head = words[i] if i < len(words) else ""
            has_head = head in SHAPE_WORDS or head in NOUNS
            if has_head:
                if head in SHAPE_WORDS:
                    claim.attrs["shape"] = SHAPE_WORDS[head]
                claim.plural = head.endswith("s")
                i += 1
                if head in SHAPE_WORDS and i < len(words) and words[i] in NOUNS:
                    claim.plural = words[i].endswith("s")  # "round shape", "square block"
                    i += 1
            claim.negated = _negated(words, start)
            before = [x for x in words[max(0, start - 2) : start] if x not in DETERMINERS]
            copula = bool(before) and before[-1] in COPULAS
            listing = subject is not None and subject.plural and has_head and not claim.plural
            if subject is not None and copula and not claim.negated and not listing:
                subject.attrs.update(claim.attrs)  # a predicate: "the circle is blue"
                continue
            if not has_head or (copula and subject is None and clause.numbers):
                if clause.claims and not has_head and not claim.negated:  # "the disc brown"
                    last = clause.claims[-1]
                    last.attrs |= {a: v for a, v in claim.attrs.items() if a not in last.attrs}
                elif not claim.negated and (copula or clause.numbers or i == len(words)):
                    # "two are large", "one is a circle"; a clause of its own: "differ: blue"
                    for a, v in claim.attrs.items():
                        clause.predicates.setdefault(a, set()).add(v)
                    if has_head:  # also a listed object: "the other three are a red circle, ..."
                        clause.claims.append(claim)
                continue  # otherwise no predicate of anything: "blue is calm"
            if _generic(words, start, i, claim):
                return None
            clause.claims.append(claim)
            subject = subject or claim
            continue
        i += 1
    return clause


def _noun_one(words: list[str], i: int) -> bool:
    """Whether "one" is a noun here ("the blue one"), not a number."""
    prev = words[i - 1] if i else ""
    if words[i] == "one" and words[i + 1 : i + 2] == ["side"]:
        return True  # "on one side and ... on the other"
    return words[i] == "one" and (prev in ("the", "other", "this", "that") or prev in COLOURS)


def _generic(words: list[str], start: int, end: int, claim: Claim) -> bool:
    """A bare "a triangle has ..." / "circles are ..." at the clause's start: a definition."""
    if set(claim.attrs) - {"shape"} or not claim.attrs:
        return False
    det = words[start - 1] if start else ""
    opening = start == 0 or (start == 1 and det in DETERMINERS - {"the"})
    bare = det in DETERMINERS - {"the"} or (start == 0 and claim.plural)
    return opening and bare and end < len(words) and words[end] in GENERIC_VERBS


def read(text: str) -> list[Clause]:
    """The clauses of `text` that are about the scene."""
    return [c for words in _split(text) if (c := read_clause(words)) is not None]
