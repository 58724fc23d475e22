"""The paper's test measure for a stored `bench/rounds_that_learn.py` run: each version's
greedy rationale on the held-out items, scored against the references.

The rounds report scores the *first shown* of a version's sampled, ranked candidates:
what a team sees. The paper (its Table 3) scores something else: the tuned model's one
greedy explanation per test item, ROUGE-L against the references, as a % of full
supervision's. This module gives that figure for every version a run kept, with what
ROUGE-L does not see beside it: whether the greedy text names a wrong colour or shape,
and whether the careful annotator would tick it.

A greedy text is scored as a row with one candidate, so the held-out figures and their
paired bootstrap intervals are `illume_bench.heldout_figures`' own: "accepted share" is
then the share of items whose greedy text the critic accepts, "R-L top" its ROUGE-L.
An item whose decoding failed counts with no text (ROUGE-L 0, nothing accepted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from illume.items import Item, read_jsonl, write_jsonl
from illume_bench.critics import verdict
from illume_bench.heldout_figures import paired_ci

BASE = "r0"
"""The arm name of the zero-shot weights (no version loaded)."""


def greedy_texts(
    load_model: Callable, version: Path | None, items: list[Item], prompt: str, cache: Path
) -> dict[str, str]:
    """{item id: greedy text} of one version (None: the zero-shot weights), cached; the
    model is asked for (`load_model()`) only when the cache misses."""
    from illume.api import greedy_rationales

    if cache.exists():
        return {str(r["id"]): r["text"] for r in read_jsonl(cache)}
    model = load_model()
    if version is None:
        model.reset_version()
    else:
        model.load_version(version)
    texts = greedy_rationales(model, items, prompt)
    write_jsonl(cache, ({"id": i, "text": t} for i, t in texts.items()))
    return texts


def judged_rows(items: list[Item], texts: dict[str, str], critic) -> list[dict]:
    """One row per item, its greedy text as the only candidate, with the critic's verdict
    and reason (no candidate where decoding failed)."""
    rows = []
    for item in items:
        text = texts.get(item.id)
        cands = []
        if text is not None:
            ok, why = verdict(critic, item, text)
            cands.append({"text": text, "fitting": ok, "why": why})
        rows.append({"id": item.id, "candidates": cands})
    return rows


def compare(stats: dict[str, dict[str, dict]], arm: str, other: str, keys) -> dict[str, list]:
    """95% paired intervals of figures(arm) - figures(other) over the shared items."""
    return {k: paired_ci(stats[other], stats[arm], k) for k in keys}
