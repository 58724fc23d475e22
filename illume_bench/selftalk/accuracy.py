"""What a self-talk run reports: accuracy against chance, as the paper's Table 1 does.

Small sets move a rate a lot per item, so every accuracy carries its 95% Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from illume_bench.selftalk.protocol import Result

SET_NAMES = {
    "csqa": "CSQA",
    "copa": "COPA",
    "mctaco": "MC-TACO",
    "piqa": "PIQA",
    "siqa": "Social-IQA",
    "winogrande": "WinoGrande",
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of k successes in n (95% by default); (0, 1) for n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, mid - half), min(1.0, mid + half)


def rate(correct: int, n: int) -> dict:
    lo, hi = wilson(correct, n)
    return {"correct": correct, "n": n, "accuracy": correct / n if n else 0.0, "ci95": [lo, hi]}


def summarize(results: Sequence[Result], fmt: str, model: str) -> dict:
    """Chance (mean of 1/choices), the baseline, and self-talk where it ran."""
    n = len(results)
    out = {
        "set": fmt,
        "model": model,
        "n": n,
        "chance": sum(1 / r.n_choices for r in results) / n if n else 0.0,
        "baseline": rate(sum(r.baseline == r.label for r in results), n),
    }
    if results and all(r.prediction is not None for r in results):
        out["selftalk"] = rate(sum(r.prediction == r.label for r in results), n)
        out["mean_clarifications"] = sum(r.n_clarifications for r in results) / n
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table(summaries: Sequence[dict]) -> str:
    """The paper's Table 1 layout: a column per set, rows chance / baseline / self-talk.

    Each accuracy is followed by its 95% interval and the number of items.
    """
    sets = list(dict.fromkeys(s["set"] for s in summaries))
    head = "| Model | " + " | ".join(SET_NAMES.get(s, s) for s in sets) + " |"
    lines = [head, "|" + "---|" * (len(sets) + 1)]
    chance = {s["set"]: s["chance"] for s in summaries}
    lines.append("| *Chance* | " + " | ".join(_pct(chance[s]) for s in sets) + " |")
    models = list(dict.fromkeys(s["model"] for s in summaries))
    for model in models:
        for key, label in (("baseline", "no clarification"), ("selftalk", "self-talk")):
            cells = []
            for s in sets:
                row = next((x for x in summaries if x["model"] == model and x["set"] == s), None)
                r = row.get(key) if row else None
                if r is None:
                    cells.append("-")
                else:
                    lo, hi = r["ci95"]
                    cells.append(f"{_pct(r['accuracy'])} [{_pct(lo)}-{_pct(hi)}] n={r['n']}")
            if any(c != "-" for c in cells):
                lines.append(f"| {model} ({label}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)
