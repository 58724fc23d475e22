"""Held-out figures of `bench/rounds_that_learn.py`: per arm, with paired bootstrap intervals,
from a run's critiqued rows or (`rejudge`) from a stored report judged again.

An arm's per-item stats are {item id: {"n", "accepted", "rouge_top", "fact_errors",
"names_fact"}}; these functions turn them into the report's figures and its markdown
table. "names_fact" (candidates naming any colour or shape) tells a model that names
more facts from one that gets them wrong more often: the fact-error rate rises with both.
"""

from __future__ import annotations

import json
import random

from illume.critique import RougeCritic
from illume.items import Item, load_items
from illume.rank import reject
from illume_bench.critics import make_critic, verdict
from illume_bench.critics.config import CriticConfig
from illume_bench.fact_errors import named_facts, wrong_facts


def item_stats(items: dict[str, Item], rouge: RougeCritic, rows: list[dict]) -> dict[str, dict]:
    """Per item of critiqued rows (candidates in the order shown, each with `fitting`)."""
    out = {}
    for row in rows:
        item = items[str(row["id"])]
        cands = row.get("candidates", [])
        top = cands[0]["text"] if cands else ""
        out[item.id] = {
            "n": len(cands),
            "accepted": sum(bool(c.get("fitting")) for c in cands),
            "rouge_top": rouge.score_text(top, rouge.references(item)),
            "fact_errors": sum(bool(wrong_facts(c["text"], item.facts)) for c in cands),
            "names_fact": sum(bool(named_facts(c["text"])) for c in cands),
        }
    return out


def table_of(stats: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Each arm's figures, and for every arm but round 0 the intervals of its change."""
    table = {}
    for arm, st in stats.items():
        table[arm] = figures(st)
        if arm != "r0":
            table[arm]["ci_vs_r0"] = {key: paired_ci(stats["r0"], st, key) for key in KEYS}
    return table


def rejudge(
    report: dict, items_path: str, critic: str = "annotator", refilter: bool = False
) -> dict:
    """A report's held-out table again, every stored candidate judged by the critic as it is
    now (the run's own verdicts came from the critic of its commit); with `refilter`,
    without the candidates today's `illume.rank.reject` would not have shown."""
    items = {it.id: it for it in load_items(items_path)[0]}
    judge, rouge = make_critic(CriticConfig(kind=critic)), RougeCritic()
    stats = {}
    for arm, rows in report["heldout_items"].items():
        judged = []
        for row in rows:
            item = items[str(row["id"])]
            kept = [c for c in row["candidates"] if not (refilter and reject(item, c["text"]))]
            cands = [{**c, "fitting": verdict(judge, item, c["text"])[0]} for c in kept]
            judged.append({"id": row["id"], "candidates": cands})
        stats[arm] = item_stats(items, rouge, judged)
    return {**report, "table": table_of(stats)}


def figures(stats: dict[str, dict]) -> dict[str, float]:
    """An arm's figures (0..1): shares over all its shown candidates, or over its items."""
    ids = list(stats)
    n = sum(stats[i]["n"] for i in ids) or 1
    out = {
        "accepted_share": sum(stats[i]["accepted"] for i in ids) / n,
        "items_with_accepted": sum(stats[i]["accepted"] > 0 for i in ids) / max(1, len(ids)),
        "rouge_top": sum(stats[i]["rouge_top"] for i in ids) / max(1, len(ids)),
        "fact_error_rate": sum(stats[i]["fact_errors"] for i in ids) / n,
        "candidates_per_item": n / max(1, len(ids)),
    }
    if all("names_fact" in stats[i] for i in ids):
        named = sum(stats[i]["names_fact"] for i in ids)
        out["fact_naming_share"] = named / n
        out["wrong_when_named"] = sum(stats[i]["fact_errors"] for i in ids) / max(1, named)
    return out


def paired_ci(a: dict, b: dict, key: str, reps: int = 2000, seed: int = 0) -> list[float]:
    """95% paired bootstrap interval of figures(b)[key] - figures(a)[key], over items."""
    ids = sorted(set(a) & set(b))
    rng = random.Random(seed)
    diffs = []
    for _ in range(reps):
        draw = [rng.choice(ids) for _ in ids]
        sa = {f"{k}#{j}": a[k] for j, k in enumerate(draw)}
        sb = {f"{k}#{j}": b[k] for j, k in enumerate(draw)}
        diffs.append(figures(sb)[key] - figures(sa)[key])
    diffs.sort()
    return [diffs[int(0.025 * reps)], diffs[int(0.975 * reps) - 1]]


KEYS = ("accepted_share", "items_with_accepted", "rouge_top", "fact_error_rate")
NAMING = ("fact_naming_share", "wrong_when_named")
"""Figures printed without an interval: how often candidates name a colour or shape, and
how often such a candidate names a wrong one."""


def _cell(f: dict, key: str) -> str:
    """A figure x100 with its 95% interval of the change from round 0."""
    ci = f.get("ci_vs_r0", {})
    if key in ci:
        lo, hi = (100 * x for x in ci[key])
        return f"{100 * f[key]:.1f} (Δ [{lo:+.1f}, {hi:+.1f}])"
    return f"{100 * f[key]:.1f}"


def print_table(report: dict) -> None:
    print(f"sizes: {report['sizes']}; wall {report['wall_s'] / 60:.1f} min")
    head = "| arm | accepted share | items w/ accepted | R-L top | fact-err | cands/item |"
    print(head + " names a fact | wrong when named |")
    print("|---|---|---|---|---|---|---|---|")
    for k, f in report["table"].items():
        cells = [_cell(f, key) for key in KEYS] + [f"{f['candidates_per_item']:.1f}"]
        cells += [f"{100 * f[key]:.1f}" if key in f else "-" for key in NAMING]
        print(f"| {k} | {' | '.join(cells)} |")
    for r in report["rounds"]:
        print(json.dumps(r))
