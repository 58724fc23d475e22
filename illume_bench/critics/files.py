"""Scoring a candidates file with any critic, and the summary `illume critique` prints."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from illume.critique import Critic
from illume.items import Candidate, Item, load_items, read_jsonl, write_jsonl
from illume_bench.fact_errors import fact_error_rate

UNKNOWN_ITEM = "unknown item id"


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

    `critic` is any Critic (`illume_bench.critics.make_critic` builds the one a
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
