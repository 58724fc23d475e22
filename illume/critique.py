"""The critic: which candidate rationales fit.

ILLUME's critic is a person ticking the fitting candidates; without people
(benchmarks) it is automatic: ROUGE-L against the item's reference
explanations, as coco-caption defines it, with a threshold.

- `Critic` is the interface a critic implements: `RougeCritic` here; the
  Label Studio backend's annotator critic scores 1 / 0 for what people
  ticked or typed, and its tuning rounds ask it which candidates fit.
- `RougeCritic` scores with pycocoevalcap's own ROUGE-L code (LCS; precision
  and recall each the maximum over the references; F-measure with beta=1.2)
  on text tokenized in Python the way coco's PTB tokenizer does it (see
  `coco_tokenize`), so no Java runs per candidate.
- The benchmark kit (`illume_bench.critics`) adds the other automatic critics
  (`facts`, `semantic`, the simulated `annotator`), a registry of them, and
  the scoring of a candidates file (`illume critique`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pycocoevalcap.rouge.rouge import Rouge

from illume.items import Item


@dataclass
class RougeConfig:
    """Settings of the ROUGE-L critic (defaults: the ILLUME paper's).

    threshold: a candidate is fitting when its ROUGE-L score is >= threshold.
    min_chars: candidates shorter than this (after stripping whitespace)
        score 0, whatever they share with the references.
    beta: weight of recall in the ROUGE-L F-measure,
        F = (1 + beta^2) P R / (R + beta^2 P). coco-caption uses 1.2;
        rouge-score's F1 is beta = 1.
    """

    threshold: float = field(
        default=0.7, metadata={"help": "fitting if ROUGE-L is >= this (rouge, facts)"}
    )
    min_chars: int = field(default=3, metadata={"help": "shorter candidates score 0"})
    beta: float = field(default=1.2, metadata={"help": "recall weight of ROUGE-L's F-measure"})


@runtime_checkable
class Critic(Protocol):
    """What the engine needs from a critic, automatic or human.

    `score` rates each text for one item (higher is better, 0..1 for the
    automatic critic); `fitting` says whether a score counts as a fitting
    rationale. A human critic can return 1.0 / 0.0 for ticked / not ticked.
    """

    def score(self, item: Item, texts: list[str]) -> list[float]: ...

    def fitting(self, score: float) -> bool: ...


# --- coco-style tokenization in Python --------------------------------------

# The punctuation coco's PTBTokenizer wrapper drops after tokenizing.
_DROP = frozenset(["''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";"])
# Brackets become PTB escapes; coco lowercases first, so its (upper-case)
# drop list misses them and "-lrb-" etc. stay as tokens. Mirrored here.
_BRACKETS = {
    "(": "-lrb-",
    ")": "-rrb-",
    "[": "-lsb-",
    "]": "-rsb-",
    "{": "-lcb-",
    "}": "-rcb-",
}
_SPLIT_WORDS = {
    "cannot": ["can", "not"],
    "gonna": ["gon", "na"],
    "gotta": ["got", "ta"],
    "wanna": ["wan", "na"],
}
_CLITICS = ("'s", "'m", "'d", "'re", "'ve", "'ll")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_UNICODE_PUNCT = frozenset("\u2013\u2014\u2026")  # en dash, em dash, ellipsis
_TOKEN = re.compile(
    r"""
    (?:[a-z]\.){2,}                           # dotted abbreviations: e.g. u.s.a.
    | [a-z]\.(?![a-z0-9])(?!(?-i:\s+[A-Z]))    # an initial ("plan b."), not a sentence end
    | '(?:s|m|d|re|ve|ll)(?![a-z0-9])          # a clitic written apart: "he 's"
    | [0-9]+(?:[,:][0-9]+)+(?:\.[0-9]+)?       # 1,000 12:30 1,000.5
    | [#@]?[a-z0-9]+(?:[-./_&'][a-z0-9]+)*     # words, numbers, light-blue, 3.5, a/b, isn't
    | [!?]{2,}                                # "!!!" and "??" stay tokens in PTB
    | \.\.\.|--                               # dropped below
    | \S                                      # any other symbol on its own
    """,
    re.VERBOSE | re.IGNORECASE,
)


def coco_tokenize(text: str) -> list[str]:
    """Lowercase and tokenize like coco-caption's PTBTokenizer, punctuation dropped.

    Mirrors what its Java tokenizer does to ordinary sentences: punctuation
    split off and dropped (. , ; : ! ? quotes, dashes, ellipses), clitics
    split ("isn't" -> "is n't", "it's" -> "it 's", "can't" -> "ca n't"),
    hyphenated words, numbers ("1,000", "3.5", "12:30") and dotted
    abbreviations kept whole, other symbols ($ % & + =) kept as their own
    tokens, brackets turned into -lrb- etc. Checked against the Java
    tokenizer in the tests; it remains an approximation of the Stanford
    tokenizer for rare constructions (title abbreviations such as "mr.",
    "rock 'n' roll", "'90s").
    """
    text = text.translate(_QUOTES)
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        tok = tok.lower()
        if tok in _BRACKETS:
            out.append(_BRACKETS[tok])
            continue
        if tok in _DROP or tok == '"' or tok in _UNICODE_PUNCT:
            continue
        if "'" in tok[1:]:
            out.extend(_split_clitics(tok))
        elif tok in _SPLIT_WORDS:
            out.extend(_SPLIT_WORDS[tok])
        else:
            out.append(tok)
    return out


def _split_clitics(tok: str) -> list[str]:
    if tok.endswith("n't") and len(tok) > 3:
        return [tok[:-3], "n't"]
    for clitic in _CLITICS:
        if tok.endswith(clitic) and len(tok) > len(clitic):
            return [tok[: -len(clitic)], clitic]
    return [tok]


# --- the automatic critic ----------------------------------------------------


class RougeCritic:
    """ROUGE-L (coco-caption) of each candidate against the item's references.

    Uses pycocoevalcap's `Rouge.calc_score` on `coco_tokenize`d text:
    precision = max over references of LCS/len(candidate), recall = max over
    references of LCS/len(reference) (possibly from different references),
    F with `config.beta`. Candidates under `config.min_chars` characters, and
    items without references, score 0.
    """

    def __init__(self, config: RougeConfig | None = None) -> None:
        self.config = config or RougeConfig()
        self._rouge = Rouge()
        self._rouge.beta = self.config.beta

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def fitting(self, score: float) -> bool:
        return score >= self.config.threshold

    def references(self, item: Item) -> list[str]:
        """The item's references, tokenized and joined as calc_score expects."""
        refs = (" ".join(coco_tokenize(r)) for r in item.explanations)
        return [r for r in refs if r]

    def score_text(self, text: str, references: list[str]) -> float:
        """Score one text against already tokenized references."""
        if len(text.strip()) < self.config.min_chars or not references:
            return 0.0
        cand = " ".join(coco_tokenize(text))
        if not cand:
            return 0.0
        return float(self._rouge.calc_score([cand], references))

    def score(self, item: Item, texts: list[str]) -> list[float]:
        refs = self.references(item)
        return [self.score_text(t, refs) for t in texts]
