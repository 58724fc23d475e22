"""What each arm of bench/rounds_that_learn.py tunes on, from critiqued rows.

A row is one item's sampling result (`SampleResult.to_dict()`) whose candidates carry the
critic's `fitting` and `why`. ILLUME tunes on the ticked ones (and, with DPO, pairs of a
ticked and a refused candidate); the control on as many random ones, unchecked.
"""

from __future__ import annotations

import random

from illume.pairs import build_pairs
from illume.rationales import Rationale, unique_rationales


def accepted(rows: list[dict], r: int) -> list[Rationale]:
    """The ticked candidates, as rationales of round r."""
    return [
        Rationale.from_candidate(row["id"], c, r)
        for row in rows
        for c in row.get("candidates", [])
        if c.get("fitting")
    ]


def refused_pairs(rows: list[dict], reason: str) -> list[dict]:
    """(chosen = ticked, rejected = refused because `reason`) pairs of the same items."""
    cands = [(row["id"], c) for row in rows for c in row.get("candidates", [])]
    fitting = [(i, c["text"]) for i, c in cands if c.get("fitting")]
    refused = [(i, c["text"]) for i, c in cands if str(c.get("why", "")).startswith(reason)]
    return [p.to_row() for p in build_pairs(fitting, refused)]


def random_pairs(rows: list[dict], n: int, seed: int) -> list[dict]:
    """n pairs of two random candidates of the same item, whatever the critic said: the
    control's counterpart of `refused_pairs`."""
    rng = random.Random(seed)
    flat = []
    for row in rows:
        texts = list(dict.fromkeys(c["text"] for c in row.get("candidates", [])))
        rng.shuffle(texts)
        flat += [(row["id"], a, b) for a, b in zip(texts[::2], texts[1::2], strict=False)]
    picked = rng.sample(flat, min(n, len(flat)))
    return [{"id": i, "chosen": a, "rejected": b} for i, a, b in picked]


def random_candidates(rows: list[dict], n: int, seed: int) -> list[Rationale]:
    """n candidates drawn at random from the sampled pool, whatever the critic said."""
    flat = [
        Rationale.from_candidate(row["id"], c, 0) for row in rows for c in row.get("candidates", [])
    ]
    flat = unique_rationales(flat)
    return random.Random(seed).sample(flat, min(n, len(flat)))
