"""A simulated careful annotator: the benchmark's stand-in for people.

The paper's critic is a person ticking the candidates that explain the
answer. ROUGE-L stands in for them badly: it passes wrong facts and answer
restatements that share words with a reference. This critic judges the way
the issue describes a careful annotator: a candidate fits iff it

1. names no wrong fact (`illume_bench.fact_errors.wrong_facts` against the item's facts),
   does not contradict itself ("black, not black") and does not say one colour twice
   as if it were two ("grey and grey"),
2. names at least one fact that supports the answer. In a shapes-x scene
   (several objects; the question re-solved from the facts) that is a fact
   about the objects the question refers to that decides the answer: their
   asked attribute, the count, the relation between them
   (`scene_support`); a colour or shape present elsewhere in the scene, or a
   definition ("a triangle has three sides"), is no support, and a false
   relation or count is a wrong fact. In a single-object image (easy-vqa-x)
   it is a colour or shape that is in the image, of the kind the question
   asks about ("is there a green shape? no": a colour, not "the shape is a
   rectangle"); a colour said of the background or a border ("it has a
   gray background", "a black border") is not the shape's; when the
   answer itself is a colour or shape ("red"), that answer, since only it
   explains why; and
3. does not merely restate the question or the answer: it has a content
   word that is neither in the question nor in the answer.

Items whose facts hold nothing checkable (real photos) have no facts to
name; there the evidence is what the references cite: a candidate must name
two content words of the references that the question and answer do not
hold ("whiskers", "striped" for "what animal is this? cat"), and be a text a careful person
would tick at all (`illume.rank.reject` finds nothing wrong with it but its
length): a jumble that happens to contain "nose" is no rationale. An item with neither facts nor
references never gets a fitting candidate: there is nothing to judge by.
Scores are 1.0 (fitting) or 0.0, like a tick.
"""

from __future__ import annotations

import re

from illume.items import Item
from illume.rank import reject
from illume_bench.critics.config import CriticConfig
from illume_bench.critics.photo_reading import answer_modifiers, photo_flaw
from illume_bench.critics.scene_support import solve
from illume_bench.critics.scene_support import supporting as scene_supporting
from illume_bench.critics.shape_properties import judge_shape, properties
from illume_bench.fact_errors import (
    COLOURS,
    NEGATIONS,
    SHAPES,
    doubled_colours,
    named_facts,
    self_contradictions,
    true_values,
    wrong_facts,
)

_STOP_TEXT = """a an the is are was were be been being am it its this that these those there here
    of in on at to for with by from and or but as so than then which what who whom whose
    where when why how do does did has have had i you he she we they them him his her
    their our my your me us one some any all very just also because since if
    only image picture photo shown shows show shape color colour
    total altogether overall exactly number count"""
STOPWORDS = frozenset(_STOP_TEXT.split()) | NEGATIONS
"""Words that carry no evidence. "image"/"picture"/"shows" are here because every
rationale may say them: "the image shows red" restates the answer "red"; "shape"/"colour"
likewise: "the shape is blue" restates "what colour is the triangle? blue". "total",
"number" and the like only frame a count: "there are 2 circles in total" restates
"how many circles are there? 2" (shapes-x round 3 learned to write it)."""

_WORD = re.compile(r"[a-z0-9]+")
_NOT_THE_SHAPE = re.compile(
    rf"\b(?:{'|'.join(COLOURS)})(\s+(?:coloured\s+|colored\s+)?"
    r"(?:background|backdrop|border|outline|edge|line|frame|stroke)s?)\b"
)
"""A colour word said of the background or of a border: "a gray background", "it has a
black border" describe no shape's colour (a person reading a drawing would not tick them
for "is there a black shape?")."""


def _stem(word: str) -> str:
    """A crude plural fold, enough to match "circles" with "circle"."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """The lowercased, plural-folded words of `text` that are not stopwords."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


MIN_EVIDENCE = 2
"""Distinct reference evidence words a candidate must name where only references judge
(photos). One lets through "it's a generic cat fur" and "while the other towers appear
so tall"; two still accepts 19 of the 43 demo references judged against their items'
others (bench/human_ceiling.py): strict, the safe side for a benchmark."""


def asked_shape(item: Item) -> str | None:
    """The true shape when the item asks which shape its one shape is (easy-vqa-x), else None."""
    shape = (item.facts or {}).get("shape")
    named = named_facts(item.answer)
    if not shape or len(named) != 1 or named[0][1] != "shape" or named[0][2] != shape:
        return None
    return shape if "shape" in item.question.lower() else None


def asked_attributes(question: str) -> set[str]:
    """ "colour" and/or "shape" when the question names one ("is there no green shape?"
    asks about a colour, negated or not); empty when it names neither."""
    words = _WORD.findall(question.lower())
    return {"colour" for w in words if w in COLOURS} | {"shape" for w in words if w in SHAPES}


def truth_known(item: Item) -> bool:
    """True when the item's facts can be checked (shapes); False: only references judge."""
    return bool(true_values(item.facts))


class SimulatedAnnotator:
    """Fitting iff supporting fact named, no wrong fact, more than a restatement.

    `judge` gives the verdict with its reason; `score` the 1.0 / 0.0 the
    `Critic` interface asks for.
    """

    threshold = 1.0

    def __init__(self, config: CriticConfig | None = None) -> None:
        self.config = config or CriticConfig()

    def fitting(self, score: float) -> bool:
        return score >= self.threshold

    def score(self, item: Item, texts: list[str]) -> list[float]:
        return [1.0 if self.judge(item, t)[0] else 0.0 for t in texts]

    def judge(self, item: Item, text: str) -> tuple[bool, str]:
        """(fitting, why) for one candidate."""
        if len(text.strip()) < self.config.min_chars:
            return False, "too short"
        wrong = wrong_facts(text, item.facts)
        if wrong:
            return False, "names a wrong fact: " + ", ".join(wrong)
        torn = self_contradictions(text)
        if torn:
            return False, "contradicts itself: " + ", ".join(torn)
        doubled = doubled_colours(text)
        if doubled:
            return False, "says one colour twice: " + ", ".join(doubled)
        given = content_words(item.question) | content_words(item.answer)
        if not content_words(text) - given:
            return False, "merely restates the question or answer"
        scene = solve(item.question, item.facts or {})
        if scene is not None:
            support, wrong = scene_supporting(text, *scene)
            if wrong:
                return False, "names a wrong fact: " + ", ".join(wrong)
            if not support:
                return False, "names no fact that supports the answer about the objects asked"
            return True, "names " + ", ".join(sorted(support))
        shape = asked_shape(item)
        if shape is not None:  # "what shape is it?": its properties explain, its name does not
            return judge_shape(text, shape)
        support = self.supporting(item, text)
        if support is None:
            return False, "nothing to judge by (no facts, no references)"
        by_references = not truth_known(item)  # a photo: only its references judge
        flaw = reject(item, text, min_content=1) if by_references else None
        if flaw:
            return False, f"no rationale: {flaw}"
        if by_references:  # photos: what evidence words alone let through (photo_reading)
            flaw = photo_flaw(text, item.answer, given)
            if flaw:
                return False, flaw
            support -= answer_modifiers(text, item.answer)
        if not support:
            return False, "names no fact that supports the answer"
        if by_references and len(support) < MIN_EVIDENCE:
            return False, "names too little of what the references cite: " + ", ".join(support)
        return True, "names " + ", ".join(sorted(support))

    def supporting(self, item: Item, text: str) -> set[str] | None:
        """The supporting facts (or reference evidence words) `text` names; None: unknown."""
        truth = true_values(item.facts)
        if truth:
            said = _NOT_THE_SHAPE.sub(r"\1", text.lower())  # "a gray background" -> "a background"
            named = {(attr, value) for _, attr, value in named_facts(said)}
            true_named = {(a, v) for a, v in named if v in truth.get(a, set())}
            in_answer = {(a, v) for _, a, v in named_facts(item.answer)}
            yes_no = item.answer.strip().lower() in ("yes", "no")
            asked = asked_attributes(item.question) if yes_no else set()
            if in_answer:
                true_named &= in_answer
            elif asked:  # "is there a green shape? no": the shape's colour says why, not its name
                true_named = {(a, v) for a, v in true_named if a in asked}
            shown = {v for _, v in true_named}
            if not in_answer and "shape" in (asked or {"shape"}):  # "it has four corners"
                shown |= {p for s in truth.get("shape", ()) for p in properties(text).get(s, ())}
            return shown
        if not item.explanations:
            return None
        given = content_words(item.question) | content_words(item.answer)
        evidence = set().union(*(content_words(e) for e in item.explanations)) - given
        return {w for w in content_words(text) & evidence if len(w) > 1}  # not "officer's" s
