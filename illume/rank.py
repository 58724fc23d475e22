"""Which sampled candidates are worth showing, and in what order.

Zero-shot jabber is mostly not a rationale: "it is a cat" restates the answer,
"it's a cat, and a cat is a cat" repeats itself, some of it is another script
or a number. Shown to annotators, such text invites them to tick restatements,
the one thing ILLUME must not learn; "it has a blue circle" for "is there a
blue shape? no" contradicts the answer it should explain. `reject` names why a
text can never be a rationale; `rank_candidates` drops those and the word
salad far less likely than the item's best candidate, and orders the rest by
`score`, which measures better than raw log-probability what fits
(docs/results/real-photos.md):

    score = 0.5 * mean token probability
          + 0.5 * grounding (share of its content words that the image context,
                             the question or the answer name)

Both are 0..1, so the score is too; the backend pre-ticks only above a
threshold calibrated on it (ml_backend/labels.py). Measured on the candidates
of the demo photos and easy-vqa-x val, both correlate with the critic's
ROUGE-L (probability 0.44 / 0.20, grounding 0.28 / 0.63) while length does
not (-0.24 / -0.29: long jabber rambles), so there is no length prior.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import replace

from illume.items import Candidate, Item

_STOPWORDS = """
a an the it its it's s is are was were be been being am this that these those there here
answer because since as so yes no not of in on at to and or but which what who whom whose
i you he she we they me him her us them my your his our their has have had do does did
with for from by into onto out up down over very just also can could would should will
like one some any all image picture photo
"""
STOPWORDS = frozenset(_STOPWORDS.split())
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
PROMPT_ECHO = re.compile(r"(?:^|\s)(?:Q|A|Context):")
"""The prompt's own markers: a candidate that writes them is the prompt echoed back."""
SHOUTING = re.compile(r"\b[A-Z]{3,}(?:\s+[A-Z]{3,})+\b")
"""Two or more capitalised words in a row ("ANSI ENTIRE PRINTABLE"): a heading or a code, not
a sentence an annotator would tick."""
NEGATION = frozenset(
    ["no", "not", "none", "nothing", "neither", "nor", "without", "never", "cannot"]
)
MIN_CONTENT_WORDS = 2
"""Two, one of them beyond the question and answer (else it restates them): "the circle is
red" and "it is round with no corners" are correct rationales; at three, 8% of easy-vqa-x's
and 5% of shapes-x's reference wordings were dropped before anyone saw them
(bench/rank_references.py, docs/results/rank-references.json)."""
MAX_LOGPROB_GAP = 2.5
"""Nats per token a shown candidate may lie below the item's most likely one. On the demo
photos the sensible candidates lie within 2.5 nats of the best (-1 to -3.5 for SmolLM2) and
the salad of temperature 1.2 at -4 to -8; relative, so it holds for any model's scale (a
random test model's candidates are all equally unlikely and all kept)."""
DANGLING = frozenset(  # words a finished sentence does not end on
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "with",
        "and",
        "or",
        "in",
        "at",
        "for",
        "that",
        "which",
        "is",
        "are",
        "by",
        "from",
    ]
)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """The words that carry meaning of their own (no articles, pronouns, auxiliaries)."""
    return [w for w in words(text) if w not in STOPWORDS]


def restates_answer(text: str, answer: str) -> bool:
    """True when the text names nothing but the answer ("it is a cat", "a cat is a cat")."""
    return set(content_words(text)) <= set(words(answer))


def reject(item: Item, text: str, min_content: int = MIN_CONTENT_WORDS) -> str | None:
    """Why `text` can never be a rationale for `item`, or None when it might be one.

    `min_content` distinct content words are asked for: two to show a candidate ("the
    circle is red"), one to judge a person's tick ("it has whiskers" is fine)."""
    if _other_script(text):
        return "text in another script"
    if PROMPT_ECHO.search(text):
        return "echoes the prompt"
    toks = words(text)
    content = content_words(text)
    answer = set(words(item.answer))
    if restates_answer(text, item.answer):
        return "restates the answer"
    if set(content) <= answer | set(words(item.question)):
        return "restates the question"
    negated = bool(NEGATION & set(toks))  # "there are no triangles at all" says enough
    if len(set(content)) < (min(min_content, 1) if negated else min_content):
        return f"fewer than {min_content} content words"
    letters = sum(ch.isalpha() for ch in text)
    if letters < 0.7 * len(text.replace(" ", "")) or "http" in text or "@" in text:
        return "not a sentence"
    if SHOUTING.search(text) or _unbalanced(text):
        return "not a sentence"
    if toks and toks[-1] in DANGLING:
        return "not a sentence"  # cut off in the middle
    if _repeats(toks, content):
        return "repeated phrases"
    if contradicts_answer(item, text):
        return "contradicts the answer"
    return None


EXISTENCE = re.compile(r"^(?:is|are)\s+there\b|\bpresent\b|\bcontains?\b")
"""A yes/no question about whether something is in the picture."""
ASKED_FILLER = frozenset(
    [
        "shape",
        "shapes",
        "colour",
        "color",
        "colours",
        "colors",
        "present",
        "contain",
        "contains",
        "thing",
        "things",
    ]
)
"""Words of such a question that name no part of the thing asked about."""
COMPARING = frozenset(["more", "fewer", "less", "than", "same", "many", "much"])
""""Are there more circles than squares?" asks no presence."""


def contradicts_answer(item: Item, text: str) -> bool:
    """True when the answer says the thing asked about is absent and the text says, with no
    negation anywhere, the words that name it as one phrase: "is there a blue shape? no"
    with "it has a blue circle", "does the image not contain a circle? yes" with "it has a
    blue circle".

    Conservative on purpose: "there is no blue shape", "blue is not there" or "it has a red
    rectangle" (for "is there a red circle? no") pass. None of easy-vqa-x's 193k reference
    wordings trips it, nor any of shapes-x's or the demo photos'; on 2,665 held-out
    candidates it caught 429, every one naming a wrong fact (docs/results/rounds-that-learn.md)."""
    answer = item.answer.strip().lower()
    question = item.question.lower()
    if answer not in ("yes", "no") or not EXISTENCE.search(question):
        return False
    q_words = set(words(question))
    if (answer == "no") == bool(NEGATION & q_words) or COMPARING & q_words:
        return False  # the thing asked about is there, or the question compares
    asked = [w for w in content_words(question) if w not in NEGATION | ASKED_FILLER]
    toks = words(text)
    if not asked or any(t in NEGATION or t.endswith("n't") for t in toks):
        return False
    n = len(asked)  # the words as one phrase: "a small gray triangle" is not "large gray triangle"
    return any(toks[i : i + n] == asked for i in range(len(toks) - n + 1))


def _unbalanced(text: str) -> bool:
    """A bracket closed that was never opened, or left open: "what's a nose) how"."""
    depth = 0
    for ch in text:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if depth < 0:
            return True
    return depth != 0


def _other_script(text: str) -> bool:
    """True when a letter is not Latin (Cyrillic, CJK, ...): the references are English."""
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in text)


def _repeats(toks: list[str], content: list[str]) -> bool:
    """Jabber that loops: a phrase said twice in a row ("soft fur and soft fur and"), the
    same four words twice anywhere, or a content word five times. A scene's list repeats
    less ("a large blue triangle, a big yellow triangle and a large blue square" is a
    correct rationale, and so is a list of six pieces that names "gray" four times)."""
    for n in (2, 3, 4):
        for i in range(len(toks) - 2 * n + 1):
            if toks[i : i + n] == toks[i + n : i + 2 * n]:
                return True
    grams = Counter(zip(toks, toks[1:], toks[2:], toks[3:], strict=False))
    if grams and max(grams.values()) > 1:
        return True
    return bool(content) and max(Counter(content).values()) > 4


def context_of(prompt: str) -> str:
    """The image context a candidate's recorded prompt starts with ("" without one)."""
    m = re.match(r"Context: (.*?) Q: ", prompt)
    return m.group(1) if m else ""


def grounding(item: Item, candidate: Candidate) -> float:
    """The share of the candidate's content words that the image context, question or answer
    name (0 for a text that shares none: likely about something else)."""
    content = content_words(candidate.text)
    if not content:
        return 0.0
    said = f"{context_of(candidate.prompt)} {item.question} {item.answer}"
    seen = set(content_words(said))
    return sum(w in seen or w.rstrip("s") in seen for w in content) / len(content)


def score(item: Item, candidate: Candidate) -> float:
    """How likely the candidate fits, 0..1 (the formula is in the module docstring)."""
    if not content_words(candidate.text):
        return 0.0
    prob = math.exp(min(0.0, candidate.logprob))
    return 0.5 * prob + 0.5 * grounding(item, candidate)


MAX_SHOWN = 8
"""Options an annotator reads per task by default: each one costs a reading."""


def unrelated(item: Item, candidate: Candidate, median_logprob: float) -> bool:
    """No content word shared with the image context, question or answer, and less likely
    than the item's median candidate: most such texts are about something else ("your car
    is left behind" for an astronaut)."""
    return grounding(item, candidate) == 0.0 and candidate.logprob < median_logprob


def shown(item: Item, ranked: list[Candidate], limit: int = MAX_SHOWN) -> list[Candidate]:
    """The options to show: `ranked` (best first) without the unrelated ones, at most `limit`
    (0: no limit)."""
    if not ranked:
        return []
    probs = sorted(c.logprob for c in ranked)
    median = probs[len(probs) // 2]
    keep = [c for c in ranked if not unrelated(item, c, median)]
    return keep[:limit] if limit > 0 else keep


def rank_candidates(item: Item, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates that might be rationales, each with its `rank` score, best first.

    Besides what `reject` finds, a candidate whose mean token log-probability is more than
    MAX_LOGPROB_GAP below the item's most likely one is dropped: the word salad a hot
    top-up draws ("feline Ahf Hafez weighs little Araba ...") passes every text rule."""
    kept = [c for c in candidates if not reject(item, c.text)]
    if kept:
        floor = max(c.logprob for c in kept) - MAX_LOGPROB_GAP
        kept = [c for c in kept if c.logprob >= floor]
    ranked = [replace(c, rank=round(score(item, c), 4)) for c in kept]
    return sorted(ranked, key=lambda c: c.rank or 0.0, reverse=True)
