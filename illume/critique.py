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
- `critique_file` scores a candidates file and summarises it, including the
  fact-error rate that ROUGE-L cannot see (`illume.facts`).
- The other automatic critics (`facts`, `semantic`, the simulated
  `annotator`) live in `illume.critics`; `CriticConfig.kind` (`--critic`)
  picks one and `illume.critics.make_critic` builds it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pycocoevalcap.rouge.rouge import Rouge

from illume.facts import fact_error_rate
from illume.items import Candidate, Item, load_items, read_jsonl, write_jsonl

UNKNOWN_ITEM = "unknown item id"


CRITICS = ("rouge", "facts", "semantic", "annotator")
"""The automatic critics `--critic` chooses from (see `illume.critics`)."""

SEMANTIC_THRESHOLD = 0.74
"""Default cosine threshold of the `semantic` critic; how it was calibrated:
docs/critics.md (`illume calibrate`)."""


@dataclass
class CriticConfig:
    """Settings of the automatic critic (defaults: the ILLUME paper's).

    kind: which critic (`--critic`): rouge (ROUGE-L >= threshold), facts
        (that, and no wrong colour/shape named), semantic (sentence-embedding
        cosine to the best reference >= semantic_threshold) or annotator (a
        simulated careful annotator; see `illume.critics.annotator`).
    threshold: a candidate is fitting when its ROUGE-L score is >= threshold
        (rouge, facts).
    semantic_threshold: the same for the semantic critic's cosine; calibrated
        on val (`illume calibrate`, docs/critics.md).
    min_chars: candidates shorter than this (after stripping whitespace)
        score 0, whatever they share with the references.
    beta: weight of recall in the ROUGE-L F-measure,
        F = (1 + beta^2) P R / (R + beta^2 P). coco-caption uses 1.2;
        rouge-score's F1 is beta = 1.
    """

    kind: str = field(
        default="rouge",
        metadata={"help": "which critic", "choices": CRITICS, "flag": "critic"},
    )
    threshold: float = field(
        default=0.7, metadata={"help": "fitting if ROUGE-L is >= this (rouge, facts)"}
    )
    semantic_threshold: float = field(
        default=SEMANTIC_THRESHOLD,
        metadata={"help": "fitting if the cosine is >= this (semantic; see `illume calibrate`)"},
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

    def __init__(self, config: CriticConfig | None = None) -> None:
        self.config = config or CriticConfig()
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


# --- scoring a candidates file ----------------------------------------------


def critique_file(
    candidates_path: str | Path,
    items_path: str | Path,
    out_path: str | Path,
    critic: Critic,
) -> dict[str, Any]:
    """Score every candidate in a candidates file; write the scored file.

    Input lines are ``{"id", "candidates": [Candidate dicts], ...}`` or
    ``{"id", "error"}``. Each output line is the input line with every
    candidate's ``score`` and ``fitting`` filled in and the line's
    ``best_score`` (0.0 for a line without candidates); error lines pass
    through unchanged; a line whose id names no item becomes
    ``{"id", "error": "unknown item id"}`` (or the item's own validation
    error when the items file holds it but it is invalid). Other keys of a
    line or a candidate are kept.

    `critic` is any Critic (`illume.critics.make_critic` builds the one a
    CriticConfig names). Returns the summary `format_summary` prints.
    """
    items, item_errors = load_items(items_path)
    by_id = {item.id: item for item in items}
    bad_items = dict(item_errors)

    stats: dict[str, Any] = {
        "items": 0,
        "candidates": 0,
        "fitting": 0,
        "items_with_fitting": 0,
        "errors": 0,
    }
    best_scores: list[float] = []
    all_pairs: list[tuple[str, dict[str, str]]] = []
    fitting_pairs: list[tuple[str, dict[str, str]]] = []

    def rows() -> Iterable[dict[str, Any]]:
        for n, line in enumerate(read_jsonl(candidates_path), 1):
            out = _critique_line(line, n, by_id, bad_items, critic)
            if "error" in out:
                stats["errors"] += 1
                yield out
                continue
            item = by_id[out["id"]]
            cands = out["candidates"]
            stats["items"] += 1
            stats["candidates"] += len(cands)
            n_fit = sum(1 for c in cands if c["fitting"])
            stats["fitting"] += n_fit
            stats["items_with_fitting"] += n_fit > 0
            best_scores.append(out["best_score"])
            for c in cands:
                all_pairs.append((c["text"], item.facts))
                if c["fitting"]:
                    fitting_pairs.append((c["text"], item.facts))
            yield out

    write_jsonl(out_path, rows())
    stats["mean_best_score"] = sum(best_scores) / len(best_scores) if best_scores else None
    stats["fact_error_rate"] = fact_error_rate(all_pairs)
    stats["fact_error_rate_fitting"] = fact_error_rate(fitting_pairs)
    stats["threshold"] = getattr(critic, "threshold", None)
    return stats


def _critique_line(
    line: Any,
    n: int,
    by_id: dict[str, Item],
    bad_items: dict[str, str],
    critic: Critic,
) -> dict[str, Any]:
    """One output line for one input line (an error line when it cannot be scored)."""
    if not isinstance(line, dict):
        return {"id": f"line-{n}", "error": "line is not a JSON object"}
    if "id" not in line:
        return {"id": f"line-{n}", "error": "line has no id"}
    rid = str(line["id"])
    if "error" in line:
        return line
    item = by_id.get(rid)
    if item is None:
        return {"id": rid, "error": bad_items.get(rid, UNKNOWN_ITEM)}
    raw = line.get("candidates")
    if not isinstance(raw, list):
        return {"id": rid, "error": "'candidates' must be a list"}
    try:
        cands = [Candidate.from_dict(c) for c in raw]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return {"id": rid, "error": f"bad candidate: {e!r}"}
    if not all(isinstance(c.text, str) for c in cands):
        return {"id": rid, "error": "bad candidate: 'text' must be a string"}
    scores = critic.score(item, [c.text for c in cands]) if cands else []
    out_cands = []
    for c, rc, s in zip(cands, raw, scores, strict=True):
        c.score = float(s)
        c.fitting = bool(critic.fitting(c.score))
        out_cands.append({**rc, **c.to_dict()})
    out = dict(line)
    out["id"] = rid
    out["candidates"] = out_cands
    out["best_score"] = max(scores, default=0.0)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for a terminal, from `critique_file`'s summary."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"

    items = summary.get("items", 0)
    cands = summary.get("candidates", 0)
    mean_best = summary.get("mean_best_score")
    threshold = summary.get("threshold")
    lines = [
        f"items scored:             {items}"
        + (f" ({summary['errors']} error lines)" if summary.get("errors") else ""),
        f"candidates:               {cands}",
        f"fitting candidates:       {summary.get('fitting', 0)}"
        + (f" (score >= {threshold:g})" if threshold is not None else ""),
        f"items with a fitting one: {summary.get('items_with_fitting', 0)}"
        + (f" ({pct(summary.get('items_with_fitting', 0) / items)})" if items else ""),
        "mean best score:          " + ("n/a" if mean_best is None else f"{mean_best:.3f}"),
        f"fact errors, all:         {pct(summary.get('fact_error_rate'))}",
        f"fact errors, fitting:     {pct(summary.get('fact_error_rate_fitting'))}",
    ]
    return "\n".join(lines)
