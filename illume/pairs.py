"""Preference pairs: a fitting and a rejected rationale of the same item.

The critic (or an annotator in Label Studio) does not only tick the fitting
candidates: every candidate it leaves unticked is a negative example of the
same item, which is what preference tuning (DPO) learns from. A pair is
(item, chosen = a fitting rationale, rejected = an unticked candidate); the
names follow the preference datasets of TRL's DPOTrainer.

The parent writes the pairs as JSONL (`{"id", "chosen", "rejected"}` per
line, `Pair.to_row`) next to the rationales file, and the tuning job reads
them with `--pairs`. Texts compare by `rationale_key`, so a rejected text
that is also a fitting one of the same item never forms a pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from illume.items import Item
from illume.rationales import rationale_key, unique

PAIRS_PER_ITEM = 4
"""At most this many pairs per item, so that an item with 25 rejected candidates does not
outweigh the rest of the round (each rejected text is used once)."""


@dataclass(frozen=True)
class Pair:
    """One preference pair of an item: `chosen` fits, `rejected` does not."""

    item_id: str
    chosen: str
    rejected: str

    def to_row(self) -> dict[str, str]:
        """The JSONL row of a pairs file (what the tuning job reads)."""
        return {"id": self.item_id, "chosen": self.chosen, "rejected": self.rejected}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Pair:
        return cls(str(row["id"]), str(row["chosen"]).strip(), str(row["rejected"]).strip())


def build_pairs(
    fitting: Iterable[tuple[str, str]],
    rejected: Iterable[tuple[str, str]],
    per_item: int = PAIRS_PER_ITEM,
) -> list[Pair]:
    """Pairs of the same item from (item id, text) of fitting and of rejected rationales.

    Each item's distinct rejected texts (in the order given, at most `per_item`) are paired
    with its distinct fitting texts in turn, so every fitting text gets used before one
    repeats. An item without a fitting or without a rejected text gives no pair, and a
    rejected text that is also fitting for the item (same `rationale_key`) is dropped.
    """
    fits: dict[str, list[str]] = {}
    for item_id, text in unique(fitting, text=lambda p: p[1], item=lambda p: p[0]):
        fits.setdefault(item_id, []).append(text.strip())
    pairs, used = [], {}
    for item_id, text in unique(rejected, text=lambda p: p[1], item=lambda p: p[0]):
        chosen = fits.get(item_id)
        if not chosen or used.get(item_id, 0) >= per_item:
            continue
        if rationale_key(text) in {rationale_key(c) for c in chosen}:
            continue
        k = used.get(item_id, 0)
        pairs.append(Pair(item_id, chosen[k % len(chosen)], text.strip()))
        used[item_id] = k + 1
    return pairs


def rejected_candidates(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(item id, text) of every candidate a critic rated not fitting, from critique rows
    (`illume.api.critique` output: `id` + `candidates` with `text` and `fitting`)."""
    return [
        (str(row["id"]), c["text"])
        for row in rows
        for c in row.get("candidates", [])
        if c.get("fitting") is False
    ]


def read_pairs(
    rows: Iterable[Mapping[str, Any]], items: Mapping[str, Item]
) -> tuple[list[tuple[Item, Pair]], int]:
    """The pairs of known items, with their items, and how many rows were skipped
    (unknown id, a missing or blank text, or chosen and rejected the same text)."""
    out, skipped = [], 0
    for row in rows:
        item = items.get(str(row.get("id")))
        try:
            pair = Pair.from_row(row)
        except KeyError:
            pair = None
        if (
            item is None
            or pair is None
            or not pair.chosen
            or not pair.rejected
            or rationale_key(pair.chosen) == rationale_key(pair.rejected)
        ):
            skipped += 1
            continue
        out.append((item, pair))
    return out, skipped
