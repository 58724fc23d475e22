"""The loop's report: JSON for machines, a Table-3-style markdown, and a plot.

A rising ROUGE-L with a rising fact-error rate means the model learned the
template, not the image: both sit side by side in the table and the plot.
Rounds where nothing fitted say so (their note), the distinct candidates
per item show whether tuning collapsed the sampler, and each automatic
critic's agreement with the simulated annotator on the round's candidates
has its own table.
"""

from __future__ import annotations

import json
from pathlib import Path

from illume.versions import BASE_VERSION

METRIC_COLS = (
    ("B-1", "Bleu_1"),
    ("B-2", "Bleu_2"),
    ("B-3", "Bleu_3"),
    ("B-4", "Bleu_4"),
    ("METEOR", "METEOR"),
    ("R-L", "ROUGE_L"),
    ("CIDEr", "CIDEr"),
)


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}"


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def rounds_table(rounds: list[dict]) -> str:
    head = [
        "round",
        *(c for c, _ in METRIC_COLS),
        "Δ R-L vs same-gt",
        "RV%",
        "#fitting",
        "new%",
        "fact-err gen%",
        "fact-err fitting%",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rounds:
        val = r["val"]
        delta = (val["ROUGE_L"] - r["same_gt"]["ROUGE_L"]) if "same_gt" in r else None
        cells = [
            str(r["round"]),
            *(_pct(val.get(k)) for _, k in METRIC_COLS),
            _pct(delta),
            _num(r["rv_pct"]),
            str(r["n_fitting"]),
            _num(r["new_pct"]),
            _pct(val.get("fact_error_rate"), 1),
            _pct(r.get("fact_error_fitting"), 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def round_notes(rounds: list[dict]) -> list[str]:
    """One line per round that has a note (nothing fitted, sampled again, ...)."""
    return [f"- round {r['round']}: {r['note']}" for r in rounds if r.get("note")]


def distinct_table(rounds: list[dict]) -> str:
    """Per round: distinct candidates per sampled item after the rank filter, for the same
    items with the previous version (before) and with this round's (after)."""
    head = ["round", "items", "before: mean", "after: mean", "after: min", "after: under min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rounds:
        d = r.get("distinct") or {}
        before, after = d.get("before") or {}, d.get("after")
        if not after:
            continue
        cells = [
            str(r["round"]),
            str(after["items"]),
            _num(before.get("mean")),
            _num(after["mean"]),
            str(after["min"]),
            f"{after['under_min']} (< {d['min_distinct']})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def agreement_table(rounds: list[dict]) -> str:
    """Per round and critic: precision, recall and Cohen's kappa against the annotator."""
    head = ["round", "critic", "candidates", "annotator fitting", "critic fitting"]
    head += ["precision%", "recall%", "kappa"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rounds:
        agr = r.get("agreement") or {}
        for kind, a in agr.items():
            if not isinstance(a, dict):
                continue
            cells = [
                str(r["round"]),
                kind,
                str(a["n"]),
                str(a["tp"] + a["fn"]),
                str(a["tp"] + a["fp"]),
                _pct(a["precision"], 1),
                _pct(a["recall"], 1),
                _num(a["kappa"], 3),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def final_table(final: dict) -> str:
    rows = [
        (BASE_VERSION, "test_zero_shot"),
        ("ILLUME (best dev round)", "test_illume"),
        ("same-gt (same count)", "test_same_gt"),
        ("full-gt", "test_full_gt"),
    ]
    head = ["test split", *(c for c, _ in METRIC_COLS), "fact-err%"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, key in rows:
        if key in final:
            m = final[key]
            lines.append(
                "| "
                + " | ".join(
                    [
                        label,
                        *(_pct(m.get(k)) for _, k in METRIC_COLS),
                        _pct(m.get("fact_error_rate"), 1),
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def summary_lines(rounds: list[dict], final: dict) -> list[str]:
    out = []
    zs, il, full = final.get("test_zero_shot"), final.get("test_illume"), final.get("test_full_gt")
    if zs and il:
        rel = (il["ROUGE_L"] / zs["ROUGE_L"] - 1) * 100 if zs["ROUGE_L"] else float("nan")
        out.append(
            f"- test ROUGE-L {100 * zs['ROUGE_L']:.2f} (zero-shot) -> "
            f"{100 * il['ROUGE_L']:.2f} (ILLUME): {rel:+.1f}% relative"
        )
        out.append(f"- test CIDEr {100 * zs['CIDEr']:.2f} -> {100 * il['CIDEr']:.2f}")
    if il and full and full["ROUGE_L"]:
        out.append(
            f"- ILLUME reaches {100 * il['ROUGE_L'] / full['ROUGE_L']:.1f}% of full-gt's "
            f"test ROUGE-L ({100 * full['ROUGE_L']:.2f})"
        )
    if rounds:
        best = final.get("best_round", rounds[-1]["round"])
        used = rounds[best - 1]["rv_pct"] if best else 0.0
        out.append(
            f"- RV (train items with a fitting rationale) at the end: "
            f"{rounds[-1]['rv_pct']:.1f}%; the best version trained on {used:.1f}%"
        )
    if rounds and not any(r["n_fitting"] for r in rounds):
        out.append(
            "- no round found a fitting rationale: nothing was tuned, "
            "the ILLUME row is the zero-shot model"
        )
    if "best_round" in final:
        on = final.get("selected_on", "val (the reported split: a run from before the dev slice)")
        out.append(f"- best round {final['best_round']}, selected on {on}; best epochs likewise")
    if final.get("stop_reason"):
        out.append(f"- stopped: {final['stop_reason']}")
    return out


def plot(path: Path, rounds: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["round"] for r in rounds]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for label, key in METRIC_COLS[3:]:
        a.plot(xs, [100 * r["val"][key] for r in rounds], marker="o", label=label)
    if any("same_gt" in r for r in rounds):
        a.plot(
            [r["round"] for r in rounds if "same_gt" in r],
            [100 * r["same_gt"]["ROUGE_L"] for r in rounds if "same_gt" in r],
            "k--",
            marker="x",
            label="R-L same-gt",
        )
    a.set(title="validation metrics per round", xlabel="round", ylabel="score x100")
    a.legend(fontsize=8)
    b.plot(xs, [r["rv_pct"] for r in rounds], marker="o", label="RV %")
    fe = [r["val"].get("fact_error_rate") for r in rounds]
    if any(v is not None for v in fe):
        b.plot(
            xs,
            [100 * v if v is not None else float("nan") for v in fe],
            marker="s",
            label="fact errors, generated (val) %",
        )
        ff = [r.get("fact_error_fitting") for r in rounds]
        b.plot(
            xs,
            [100 * v if v is not None else float("nan") for v in ff],
            marker="^",
            label="fact errors, accepted fitting %",
        )
    b.set(title="rationale coverage and fact errors", xlabel="round", ylabel="%")
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: str | Path, rounds: list[dict], final: dict) -> dict:
    out = Path(out)
    report = {"rounds": rounds, "final": final}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    md = [
        "# ILLUME loop report",
        "",
        "Validation per round (scores x100, coco-caption):",
        "",
        rounds_table(rounds),
        "",
    ]
    if round_notes(rounds):
        md += [*round_notes(rounds), ""]
    if distinct_table(rounds):
        md += [
            "Distinct candidates per sampled item after the rank filter (before: the same "
            "items with the previous round's version):",
            "",
            distinct_table(rounds),
            "",
        ]
    if agreement_table(rounds):
        md += [
            "Agreement of the automatic critics with the simulated annotator "
            "(`illume_bench.critics.simulated_annotator`) on each round's candidates:",
            "",
            agreement_table(rounds),
            "",
        ]
    if final:
        md += ["Test split:", "", final_table(final), "", *summary_lines(rounds, final), ""]
    (out / "report.md").write_text("\n".join(md))
    if rounds:
        plot(out / "report.png", rounds)
    return report
