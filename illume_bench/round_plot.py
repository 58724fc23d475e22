"""Plots of `bench/rounds_that_learn.py` reports: what each round's served version does
on the held-out items, beside its control and full-gt.

A report's `table` holds one row per arm: `r0`, `rN` (the version serving after round N,
which is the previous one when the gate kept round N back), `rN-unpublished` (a version
the gate kept back), `control-rN` and `full-gt`. Each row holds the held-out figures
(shares in 0..1) and, except r0, `ci_vs_r0`: the 95% paired bootstrap interval of the
change from r0. A level's interval is drawn as r0's value plus that interval.

`bench/greedy_test.py`'s JSONs have the same arms (each round's own version, one greedy
text per item) with the interval under `vs_r0`; `GREEDY_METRICS` plots those.
"""

from __future__ import annotations

import re
from pathlib import Path

METRICS = (
    ("accepted_share", "accepted share of candidates (%)"),
    ("rouge_top", "ROUGE-L of the top candidate (x100)"),
    ("fact_error_rate", "candidates naming a wrong fact (%)"),
)
GREEDY_METRICS = (
    ("rouge_top", "greedy text's ROUGE-L (x100)"),
    ("fact_error_rate", "greedy texts naming a wrong fact (%)"),
    ("items_with_accepted", "greedy texts the annotator ticks (%)"),
)
_ROUND = re.compile(r"^(control-)?r(\d+)(-unpublished)?$")


def arms_by_kind(table: dict[str, dict]) -> dict[str, dict[int, dict]]:
    """{"served"|"unpublished"|"control": {round: row}}; r0 counts as served."""
    out: dict[str, dict[int, dict]] = {"served": {}, "unpublished": {}, "control": {}}
    for arm, row in table.items():
        m = _ROUND.match(arm)
        if not m:
            continue
        kind = "control" if m.group(1) else "unpublished" if m.group(3) else "served"
        out[kind][int(m.group(2))] = row
    return out


def level_interval(row: dict, r0: dict, key: str) -> tuple[float, float] | None:
    """r0's value plus the interval of the change (x100), or None where there is none."""
    ci = (row.get("ci_vs_r0") or row.get("vs_r0") or {}).get(key)
    if not ci or r0.get(key) is None:
        return None
    return 100 * (r0[key] + ci[0]), 100 * (r0[key] + ci[1])


def plot_reports(
    reports: dict[str, dict], path: Path, metrics=METRICS, title: str | None = None
) -> None:
    """One panel per metric; one colour per report; full-gt dashed, control hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4.6))
    for n, (label, report) in enumerate(reports.items()):
        colour = f"C{n}"
        kinds = arms_by_kind(report["table"])
        r0 = kinds["served"].get(0, {})
        gt = report["table"].get("full-gt")
        for ax, (key, panel) in zip(axes, metrics, strict=True):
            _served_line(ax, kinds["served"], r0, key, colour, label)
            for kind, marker in (("unpublished", "x"), ("control", "s")):
                for r, row in kinds[kind].items():
                    ax.plot(r, 100 * row[key], marker, color=colour, mfc="none", ms=8)
            if gt:
                ax.axhline(100 * gt[key], color=colour, ls="--", lw=1)
                if key == "rouge_top":  # the bar: 95% of full-gt's
                    ax.axhline(95 * gt[key], color=colour, ls=":", lw=1)
            ax.set(title=panel, xlabel="round")
            ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].plot([], [], "ks", mfc="none", label="control (random candidates)")
    axes[0].plot([], [], "kx", label="kept back by the gate")
    axes[0].plot([], [], "k--", lw=1, label="full-gt, same steps")
    axes[0].plot([], [], "k:", lw=1, label="95% of full-gt")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=8, fontsize=8)
    fig.suptitle(
        title or "held-out items: served version per round, 95% interval of the change from r0"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _served_line(ax, served: dict[int, dict], r0: dict, key: str, colour: str, label: str):
    rounds = sorted(served)
    ys = [100 * served[r][key] for r in rounds]
    ax.plot(rounds, ys, "o-", color=colour, label=label)
    for r in rounds:
        span = level_interval(served[r], r0, key)
        if span:
            ax.vlines(r, *span, color=colour, alpha=0.5)
