"""Fact errors: what ROUGE-L cannot see.

A rationale can share most of its words with a reference and still name the
wrong colour or shape ("the shape is a circle" scores high against "the shape
is a blue rectangle"). This module checks the colour and shape words a text
names against what an item's ``facts`` say is in the image.

Vocabulary (the embedded benchmark, easy-vqa: one coloured shape on a white
background per image):

- colours: red, green, blue, black, gray (also spelt "grey"), teal, brown,
  yellow. White is left out on purpose: it is every image's background, so
  naming it is never wrong.
- shapes: circle, rectangle, triangle, with plurals ("circles") and the
  adjectives "circular", "rectangular", "triangular". "square" (and
  "squares") counts as *rectangle*: easy-vqa's rectangles include squares and a
  square is a rectangle, so "a blue square" is not an error for a blue
  rectangle, but it is one for a circle. "ball" and "sphere" count as
  *circle*. "round" and "oval" are not counted ("round" has too many other
  senses).

Words outside the vocabulary ("purple", "hexagon") are not checked.

Scenes with several objects (shapes-x) record ``colours`` and ``shapes`` as
comma-separated sets and each object as ``object_N`` ("large red circle at
x=30 y=88"): a colour or shape is wrong when no object has it, and a colour
word right before a shape word is wrong when no object pairs them.

Negation: a term is not counted as *named* when one of the three words before
it is a negation (no, not, never, nor, neither, none, without, cannot, any
word ending in "n't", "rather than", "instead of"), unless a clause boundary
(punctuation, "but", "however", "although", "though", "yet", "whereas",
"while") comes between them. So "there is no triangle", "not red" and "it
isn't a circle" name nothing, while "not red, but green" names green.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

COLOURS: dict[str, str] = {
    "red": "red",
    "green": "green",
    "blue": "blue",
    "black": "black",
    "gray": "gray",
    "grey": "gray",
    "teal": "teal",
    "brown": "brown",
    "yellow": "yellow",
}
"""Colour word -> canonical colour (easy-vqa's answer spelling)."""

SHAPES: dict[str, str] = {
    "circle": "circle",
    "circles": "circle",
    "circular": "circle",
    "rectangle": "rectangle",
    "rectangles": "rectangle",
    "rectangular": "rectangle",
    "square": "rectangle",
    "squares": "rectangle",
    "triangle": "triangle",
    "triangles": "triangle",
    "triangular": "triangle",
    "ball": "circle",
    "balls": "circle",
    "sphere": "circle",
    "spheres": "circle",
}
"""Shape word -> canonical shape (easy-vqa's answer spelling)."""

VOCABULARY: dict[str, dict[str, str]] = {
    "colour": COLOURS,
    "color": COLOURS,
    "shape": SHAPES,
}
"""Fact attribute -> its vocabulary. Attributes not listed here are not checked."""

MULTI_VALUED = {"colours": "colour", "colors": "colour", "shapes": "shape"}
"""Attributes whose value is a comma-separated set (scenes with several objects)."""

NEGATIONS = frozenset({"no", "not", "never", "nor", "neither", "none", "without", "cannot"})
BOUNDARIES = frozenset({"but", "however", "although", "though", "yet", "whereas", "while"})
NEGATION_WINDOW = 3
"""How many words before a term are searched for a negation."""

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|[.,;:!?()\[\]\"]")
_PUNCT = frozenset('.,;:!?()[]"')


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _TOKEN.findall(text)


def _is_negation(tokens: list[str], i: int) -> bool:
    tok = tokens[i]
    if tok == "not" and tokens[i + 1 : i + 2] == ["only"]:  # "not only a black shape but ..."
        return False
    if tok in NEGATIONS or tok.endswith("n't"):
        return True
    prev = tokens[i - 1] if i > 0 else ""
    return (tok == "than" and prev == "rather") or (tok == "of" and prev == "instead")


def _negation_before(tokens: list[str], i: int) -> int | None:
    """The position of the negation the term at i follows within the window, or None."""
    words = 0
    j = i - 1
    while j >= 0 and words < NEGATION_WINDOW:
        tok = tokens[j]
        if tok in _PUNCT or tok in BOUNDARIES:
            return None
        if _is_negation(tokens, j):
            return j
        words += 1
        j -= 1
    return None


def _named(tokens: list[str]) -> list[tuple[int, str, str, str]]:
    """(position, word, attribute, canonical value) of each term named, not negated."""
    found: list[tuple[int, str, str, str]] = []
    for i, tok in enumerate(tokens):
        attr, value = _term(tok)
        if value and _negation_before(tokens, i) is None:
            found.append((i, tok, attr, value))
    return found


def _denied(tokens: list[str], truth: dict[str, set[str]]) -> list[str]:
    """The words of a one-shape picture's true colour or shape that follow a negation,
    unless the negated phrase also names something false: "no yellow circle" for a brown
    circle is true of the picture, "no grey" for a gray one is not."""
    out = []
    for i, tok in enumerate(tokens):
        attr, value = _term(tok)
        j = _negation_before(tokens, i) if value and truth.get(attr) == {value} else None
        if j is None:
            continue
        phrase = [_term(t) for t in tokens[j + 1 : i] + tokens[i + 1 : i + 2]]
        if not any(v and a in truth and v not in truth[a] for a, v in phrase):
            out.append(tok)
    return out


def _term(tok: str) -> tuple[str, str | None]:
    """(attribute, canonical value) of a colour or shape word; value None for other words."""
    return ("colour", COLOURS.get(tok)) if tok in COLOURS else ("shape", SHAPES.get(tok))


def named_facts(text: str) -> list[tuple[str, str, str]]:
    """(word as written, attribute, canonical value) for each term the text names.

    Negated mentions are left out; each attribute is reported once per word.
    The attribute is ``colour`` or ``shape``.
    """
    return [(tok, attr, value) for _, tok, attr, value in _named(_tokens(text))]


def _object_terms(value: str) -> tuple[str | None, str | None]:
    """The (colour, shape) an ``object_N`` fact names, canonical."""
    colour = shape = None
    for tok in _tokens(value):
        colour = colour or COLOURS.get(tok)
        shape = shape or SHAPES.get(tok)
    return colour, shape


def _canonical_facts(facts: dict[str, str]) -> dict[str, set[str]]:
    """The colours and shapes `facts` allow, canonical; attributes not recorded are absent.

    ``colour``/``shape`` hold one value, ``colours``/``shapes`` a
    comma-separated set (several objects), and every ``object_N`` adds its
    own colour and shape.
    """
    out: dict[str, set[str]] = {}
    for key, value in facts.items():
        attr = key.strip().lower()
        if attr.startswith("object_"):
            for name, term in zip(("colour", "shape"), _object_terms(str(value)), strict=True):
                if term:
                    out.setdefault(name, set()).add(term)
            continue
        several = attr in MULTI_VALUED
        vocab = VOCABULARY.get(MULTI_VALUED.get(attr, attr))
        if vocab is None or not value:
            continue
        name = "colour" if vocab is COLOURS else "shape"
        for part in str(value).split(",") if several else [str(value)]:
            norm = part.strip().lower()
            if norm:
                out.setdefault(name, set()).add(vocab.get(norm, norm))
    return out


def _pairs(facts: dict[str, str]) -> set[tuple[str, str]]:
    """(colour, shape) of every ``object_N`` fact: the pairings that exist."""
    pairs = set()
    for key, value in facts.items():
        if key.strip().lower().startswith("object_"):
            colour, shape = _object_terms(str(value))
            if colour and shape:
                pairs.add((colour, shape))
    return pairs


def wrong_facts(text: str, facts: dict[str, str]) -> list[str]:
    """The colour/shape words `text` names that `facts` contradict.

    Words are lowercased, in text order, each once. Only attributes present
    in `facts` are checked (``colour`` or ``color``, ``shape``, their
    multi-valued forms ``colours``/``shapes``, and ``object_N``). With
    ``object_N`` facts, a colour word right before a shape word must also
    pair as some object does: "a red square" is wrong when the red object is
    a circle and the square is blue; it is reported as the phrase.

    >>> wrong_facts("a green triangle", {"colour": "blue", "shape": "rectangle"})
    ['green', 'triangle']
    >>> wrong_facts("there is no triangle, it is blue", {"colour": "blue", "shape": "circle"})
    []
    >>> wrong_facts("a red square", {"object_1": "red circle", "object_2": "blue square"})
    ['red square']

    In a picture of one shape, denying its colour or shape is wrong too, reported with
    the negation: "it has no grey in it" for a gray circle gives ['no grey'].
    """
    truth = _canonical_facts(facts)
    if not truth:
        return []
    pairs = _pairs(facts)
    tokens = _tokens(text)
    wrong: list[str] = []
    named = _named(tokens)
    for _, word, attr, value in named:
        if attr in truth and value not in truth[attr] and word not in wrong:
            wrong.append(word)
    if not pairs:
        return wrong + [f"no {w}" for w in dict.fromkeys(_denied(tokens, truth))]
    for (i, cword, cattr, colour), (j, sword, sattr, shape) in zip(named, named[1:], strict=False):
        phrase = f"{cword} {sword}"
        if j != i + 1 or (cattr, sattr) != ("colour", "shape") or phrase in wrong:
            continue
        if (colour, shape) not in pairs and cword not in wrong and sword not in wrong:
            wrong.append(phrase)
    return wrong


def self_contradictions(text: str) -> list[str]:
    """The colour and shape words a text both names and denies, where one side stands
    alone between punctuation: "the triangle is black, not black", "the rectangle is
    yellow, not a rectangle", "there is no gray shape here, only a gray shape". Such a
    text is wrong whatever the picture, so no facts are needed. Only a bare part ("not
    (a) X", "only (a) X", "but" before either) counts: in a longer clause the denial may
    be about something else ("no square that is larger than a large square"). A bare
    denial that names a term the text does not affirm denies that one ("a blue circle,
    not a blue triangle"); "square" stays apart from "rectangle" here.

    >>> self_contradictions("the triangle is black, not black")
    ['black']
    >>> self_contradictions("it is a blue circle, not a blue triangle")
    []
    """
    tokens = _tokens(text)
    at = [k for k, tok in enumerate(tokens) if _term(tok)[1]]
    negated = {k for k in at if _negation_before(tokens, k) is not None}
    out: list[str] = []
    for lo, hi in _parts(tokens):
        kind, terms = _bare(tokens[lo:hi])
        said = {k for k in at if not lo <= k < hi and (k in negated) == (kind == "only")}
        if terms and terms <= {_strict(tokens[k]) for k in said}:
            out += [t for t in tokens[lo:hi] if _term(t)[1] and t not in out]
    return out


def doubled_colours(text: str) -> list[str]:
    """Colour words a text says twice as if they were two colours: "grey and grey",
    "gray and grey", "a black and black circle", "blue-blue", "grey grey". No picture
    has a colour "and" itself, so such a text is a jumble whatever the facts. Only the
    same colour next to itself, or joined by "and" / "or", counts: "a red cube and a red
    sphere" names one colour of two objects.

    >>> doubled_colours("it has only grey and grey")
    ['grey and grey']
    >>> doubled_colours("it is a blue and white rectangle")
    []
    """
    tokens = _tokens(text)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok not in COLOURS:
            continue
        j = i + 2 if i + 2 < len(tokens) and tokens[i + 1] in ("and", "or") else i + 1
        if j < len(tokens) and COLOURS.get(tokens[j]) == COLOURS[tok]:
            out.append(" ".join(tokens[i : j + 1]))
    return out


_GENERIC = frozenset({"shape", "shapes", "one", "ones", "colour", "color", "object", "objects"})


def _parts(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of words between punctuation."""
    parts, lo = [], 0
    for i, tok in enumerate([*tokens, "."]):
        if tok in _PUNCT:
            if i > lo:
                parts.append((lo, i))
            lo = i + 1
    return parts


def _bare(part: list[str]) -> tuple[str, set[str]]:
    """("not" or "only", the terms) for a part that is only a denial or an "only" of
    colour and shape words ("not a red circle", "but only a gray shape"); else ("", {})."""
    words = part[1:] if part[:1] in (["but"], ["and"]) else part
    if not words or words[0] not in ("not", "no", "only"):
        return "", set()
    rest = words[1:]
    rest = rest[1:] if rest[:1] in (["a"], ["an"], ["the"], ["any"]) else rest
    rest = rest[:-1] if rest[-1:] and rest[-1] in _GENERIC else rest
    if not rest or not all(_term(t)[1] for t in rest):
        return "", set()
    return ("only" if words[0] == "only" else "not"), {_strict(t) for t in rest}


def _strict(word: str) -> str:
    """A term's value for telling a contradiction: canonical, but a square is a square."""
    return "square" if word in ("square", "squares") else str(_term(word)[1])


def fact_error_rate(pairs: Iterable[tuple[str, dict[str, str]]]) -> float | None:
    """Share of texts naming at least one wrong fact.

    Counted over the (text, facts) pairs whose facts hold a checkable
    attribute (colour or shape); None when there are none.
    """
    n = bad = 0
    for text, facts in pairs:
        if not _canonical_facts(facts or {}):
            continue
        n += 1
        if wrong_facts(text, facts):
            bad += 1
    return bad / n if n else None


def true_values(facts: dict[str, str]) -> dict[str, set[str]]:
    """The colours and shapes `facts` say are in the image, canonical, by attribute.

    ``{"colour": {"red"}, "shape": {"circle"}}``; empty when `facts` records
    nothing this module can check.
    """
    return _canonical_facts(facts or {})
