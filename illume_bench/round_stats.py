"""What a loop round measures: greedy scores of a split, the fact-error rate of its
jabber, how many distinct candidates each item got, and each automatic critic's
agreement with the simulated annotator."""

from __future__ import annotations

import json
from pathlib import Path

from illume.items import Item, write_jsonl
from illume_bench.critics import make_critic
from illume_bench.critics.agreement import agreement
from illume_bench.critics.config import CriticConfig
from illume_bench.fact_errors import fact_error_rate


def fact_rate_of(rows: list[dict], items: dict[str, Item], fitting_only: bool) -> float | None:
    """Fact-error rate of a round's sampled (or only its accepted) candidates."""
    pairs = [
        (c["text"], items[row["id"]].facts)
        for row in rows
        if row["id"] in items
        for c in row.get("candidates", [])
        if not fitting_only or c.get("fitting")
    ]
    return fact_error_rate(pairs)


def score_split(model, items: list[Item], scorers, out_file: Path, prompt: str) -> dict:
    """Greedy rationales for a split -> coco metrics + fact-error rate (cached in out_file)."""
    from illume.api import greedy_rationales
    from illume_bench.evaluate import evaluate

    if out_file.exists():
        return json.loads(out_file.read_text())
    if not items:
        return {}
    preds = greedy_rationales(model, items, prompt)
    metrics = evaluate(preds, items, scorers)
    write_jsonl(
        out_file.with_suffix(".predictions.jsonl"), ({"id": i, "text": t} for i, t in preds.items())
    )
    out_file.write_text(json.dumps(metrics, indent=2))
    return metrics


def critic_agreement(
    rows: list[dict], items: dict[str, Item], kinds: tuple[str, ...], config: CriticConfig
) -> dict[str, dict]:
    """Each critic in `kinds` against the simulated annotator, on the rows' candidates."""
    kinds = tuple(k for k in kinds if k != "none")
    if not kinds:
        return {}
    pairs = [
        (items[row["id"]], c["text"])
        for row in rows
        if row["id"] in items
        for c in row.get("candidates", [])
    ]
    annotator = make_critic(config, "annotator")
    truth = [annotator.fitting(annotator.score(it, [t])[0]) for it, t in pairs]
    out = {}
    for kind in kinds:
        critic = make_critic(config, kind)
        verdicts = []
        for row in rows:  # one call per item: the semantic critic embeds references once
            if row["id"] not in items or not row.get("candidates"):
                continue
            texts = [c["text"] for c in row["candidates"]]
            verdicts += [critic.fitting(s) for s in critic.score(items[row["id"]], texts)]
        out[kind] = agreement(verdicts, truth)
    out["annotator_fitting"] = sum(truth)
    return out


def distinct_counts(rows: list[dict], min_distinct: int) -> dict | None:
    """Distinct candidates per sampled item (rows hold them after the rank filter): mean,
    minimum and how many items got fewer than `min_distinct`; None without sampled items."""
    counts = [len(row["candidates"]) for row in rows if "candidates" in row]
    if not counts:
        return None
    return {
        "items": len(counts),
        "mean": round(sum(counts) / len(counts), 2),
        "min": min(counts),
        "under_min": sum(c < min_distinct for c in counts),
    }


def diversity(rows: list[dict], previous: list[dict] | None, min_distinct: int) -> dict:
    """Distinct candidates per item of a round (`after`) and, for the same items, of the
    round before it (`before`: the previous version): a collapse after tuning shows as
    `after` falling below `before`."""
    ids = {row["id"] for row in rows}
    before = [row for row in previous or [] if row["id"] in ids]
    return {
        "min_distinct": min_distinct,
        "before": distinct_counts(before, min_distinct),
        "after": distinct_counts(rows, min_distinct),
    }
