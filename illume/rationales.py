"""Fitting rationales: the record every stage passes on, and the one dedupe key.

A *rationale* is a text that explains why an item's answer fits its image,
once a critic (the automatic one, or an annotator in Label Studio) has
accepted it. The paper calls the set of them X^E; tuning learns from it.

Two texts are the same rationale when they are equal after lowercasing and
collapsing whitespace (`rationale_key`). Sampling, the loop, the tuning job,
the backend and the export all dedupe with that key (`unique`), so a
rationale counts once wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from illume.versions import BASE_VERSION

T = TypeVar("T")

SOURCES = ("critic", "annotator", "reference")
"""Who accepted a rationale: the automatic critic, a person in Label Studio, or
the item's own reference explanation (the loop's same-gt / full-gt baselines)."""


def rationale_key(text: str) -> str:
    """The text as it is compared: lowercase, whitespace collapsed ("" for blank text)."""
    return " ".join(text.lower().split())


def unique(
    values: Iterable[T],
    text: Callable[[T], str],
    item: Callable[[T], Hashable] | None = None,
) -> list[T]:
    """The first of each rationale (per item when `item` is given); blank texts dropped.

    `text` (and `item`) pick the text (and the item id) out of a value, so
    candidates, (item, text) pairs and `Rationale` records dedupe alike.
    """
    seen: set[Hashable] = set()
    out = []
    for value in values:
        norm = rationale_key(text(value))
        key = (item(value), norm) if item is not None else norm
        if norm and key not in seen:
            seen.add(key)
            out.append(value)
    return out


@dataclass(frozen=True)
class Rationale:
    """One fitting rationale for one item, and where it came from.

    `version` is the model version that proposed the text (None for one an
    annotator typed or a reference), `round` the round it was accepted in
    (the loop's round, or the proposing version's number in Label Studio).
    `question` and `explanation` are the question phrasing and the explanation
    prompt it was sampled with ("since", an ACT-X phrasing): tuning asks for it
    under the same prompt (None: the item's question, the tuning default prompt).
    """

    item_id: str
    text: str
    source: str = "critic"
    round: int = 0
    version: str | None = BASE_VERSION
    question: str | None = None
    explanation: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"rationale source {self.source!r} is not one of {SOURCES}")

    def to_row(self) -> dict[str, Any]:
        """The JSONL row of a rationales file; the tuning job reads its "id" and "text"."""
        return {
            "id": self.item_id,
            "text": self.text,
            "source": self.source,
            "round": self.round,
            "version": self.version,
            **({"question": self.question} if self.question else {}),
            **({"explanation": self.explanation} if self.explanation else {}),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Rationale:
        return cls(
            item_id=str(row["id"]),
            text=row["text"],
            source=row.get("source", "critic"),
            round=int(row.get("round", 0)),
            version=row.get("version"),
            question=row.get("question"),
            explanation=row.get("explanation"),
        )

    @classmethod
    def from_candidate(cls, item_id: Any, cand: dict[str, Any], round: int) -> Rationale:
        """A sampled candidate row's text as the critic's rationale, under the phrasing and
        explanation prompt it was sampled with (so tuning asks for it the same way)."""
        return cls(
            str(item_id),
            cand["text"],
            "critic",
            round,
            cand.get("model_version"),
            question=cand.get("phrasing"),
            explanation=cand.get("explanation"),
        )


def unique_rationales(rationales: Iterable[Rationale]) -> list[Rationale]:
    """The first record of each (item, text), texts stripped; blank ones dropped."""
    kept = unique(rationales, text=lambda r: r.text, item=lambda r: r.item_id)
    return [r if r.text == r.text.strip() else _stripped(r) for r in kept]


def _stripped(r: Rationale) -> Rationale:
    return replace(r, text=r.text.strip())
