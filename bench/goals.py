"""The loop's goals against the loop reports: measured value, goal, met or missed.

Reads the committed loop reports (report.json of `illume loop`), writes every
figure it compares to one JSON and prints the markdown tables of docs/results/goals.md:

    python bench/goals.py --json docs/results/goals.json

A goal whose run is missing or unfinished is reported as "not measured", never
as met.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RUNS = {
    "shapes-x sft": "docs/results/loop-shapes-x-sft",
    "shapes-x sft+dpo": "docs/results/loop-shapes-x-sftdpo",
    "easy-vqa-x facts": "docs/results/loop-easy-vqa-x-facts",
    "easy-vqa-x rouge (earlier)": "docs/results/loop-easy-vqa-x",
}


def load(folder: str) -> dict | None:
    path = Path(folder) / "report.json"
    return json.loads(path.read_text()) if path.exists() else None


def summary(report: dict, full_gt: dict | None = None) -> dict:
    """The figures a goal reads, from one report (full-gt may come from a sibling run)."""
    rounds, final = report["rounds"], report.get("final") or {}
    zs, il = final.get("test_zero_shot"), final.get("test_illume")
    full = final.get("test_full_gt") or full_gt
    fe = [r["val"].get("fact_error_rate") for r in rounds]
    out = {
        "rounds": [r["round"] for r in rounds],
        "finished": bool(final),
        "val_fact_error": fe,
        "rv_pct": [r["rv_pct"] for r in rounds],
        "candidates_per_item": [
            r["candidates"] / r["sampled_items"] if r.get("candidates") else None for r in rounds
        ],
        "kappa": {
            kind: [((r.get("agreement") or {}).get(kind) or {}).get("kappa") for r in rounds]
            for kind in ("rouge", "facts", "semantic")
        },
        "best_round": final.get("best_round"),
    }
    if zs and il:
        out |= {
            "test_rouge_zero_shot": zs["ROUGE_L"],
            "test_rouge_illume": il["ROUGE_L"],
            "test_cider_zero_shot": zs["CIDEr"],
            "test_cider_illume": il["CIDEr"],
            "test_fact_error_zero_shot": zs.get("fact_error_rate"),
            "test_fact_error_illume": il.get("fact_error_rate"),
            "rouge_gain_pct": 100 * (il["ROUGE_L"] / zs["ROUGE_L"] - 1),
            "n_test": il.get("n"),
        }
    if il and full:
        out["test_rouge_full_gt"] = full["ROUGE_L"]
        out["pct_of_full_gt"] = 100 * il["ROUGE_L"] / full["ROUGE_L"]
    return out


def falls(values: list) -> bool:
    vals = [v for v in values if v is not None]
    return len(vals) > 1 and all(b < a for a, b in zip(vals, vals[1:], strict=False))


def fmt(x, digits=1, pct=False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.{digits}f}" if pct else f"{x:.{digits}f}"


def goals(s: dict) -> list[tuple[str, str, str, bool | None]]:
    """(goal, measured, target, met) rows; met is None when not measured."""
    rows: list[tuple[str, str, str, bool | None]] = []
    new, dpo, evqa, old = (s.get(k) for k in RUNS)

    def row(name, value, target, ok):
        rows.append((name, value, target, ok))

    if new and "rouge_gain_pct" in new:
        row(
            "shapes-x: test R-L gain over zero-shot",
            f"{new['rouge_gain_pct']:+.1f}%",
            ">= +40%",
            new["rouge_gain_pct"] >= 40,
        )
    else:
        row("shapes-x: test R-L gain over zero-shot", "not measured", ">= +40%", None)
    if new and "pct_of_full_gt" in new:
        row(
            "shapes-x: % of full-gt test R-L",
            f"{new['pct_of_full_gt']:.1f}%",
            ">= 95%",
            new["pct_of_full_gt"] >= 95,
        )
    if new:
        row("shapes-x: final RV", f"{new['rv_pct'][-1]:.1f}%", "<= 15%", new["rv_pct"][-1] <= 15)
        fe = new["val_fact_error"]
        row(
            "shapes-x: val fact errors fall each round",
            " -> ".join(fmt(v, 0, True) for v in fe) + "%",
            "falling",
            falls(fe),
        )
        row(
            "shapes-x: final val fact errors",
            fmt(fe[-1], 1, True) + "%",
            "< 5%",
            fe[-1] is not None and fe[-1] < 0.05,
        )
    if evqa:
        fe = evqa["val_fact_error"]
        row(
            "easy-vqa-x facts: val fact errors fall each round",
            " -> ".join(fmt(v, 0, True) for v in fe) + "%",
            "falling",
            falls(fe),
        )
        row(
            "easy-vqa-x facts: final val fact errors",
            fmt(fe[-1], 1, True) + "%",
            "< 5%",
            fe[-1] is not None and fe[-1] < 0.05,
        )
        if "test_rouge_illume" in evqa and old:
            row(
                "easy-vqa-x facts: test R-L vs the earlier ILLUME row",
                f"{fmt(evqa['test_rouge_illume'], 2, True)} ({evqa['n_test']} items) vs "
                f"{fmt(old['test_rouge_illume'], 2, True)} ({old['n_test']} other items)",
                "no worse",
                evqa["test_rouge_illume"] >= old["test_rouge_illume"],
            )
    else:
        row("easy-vqa-x facts: fact-error trajectory", "not measured", "falling, < 5%", None)
    if new and dpo and "test_rouge_illume" in new and "test_rouge_illume" in dpo:
        ok = (
            dpo["test_fact_error_illume"] < new["test_fact_error_illume"]
            and dpo["test_rouge_illume"] >= new["test_rouge_illume"]
        )
        row(
            "sft+dpo vs sft: test fact errors at equal or better R-L",
            f"{fmt(dpo['test_fact_error_illume'], 1, True)}% vs "
            f"{fmt(new['test_fact_error_illume'], 1, True)}%, R-L "
            f"{fmt(dpo['test_rouge_illume'], 2, True)} vs {fmt(new['test_rouge_illume'], 2, True)}",
            "lower, R-L >=",
            ok,
        )
    else:
        row("sft+dpo vs sft", "not measured", "lower fact errors, R-L >=", None)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    reports = {name: load(folder) for name, folder in RUNS.items()}
    sft_final = (reports["shapes-x sft"] or {}).get("final") or {}
    s = {
        name: summary(rep, sft_final.get("test_full_gt") if "shapes-x" in name else None)
        for name, rep in reports.items()
        if rep
    }
    table = goals(s)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": s, "goals": [list(r) for r in table], "folders": RUNS}, indent=2)
        )
    print("| goal | measured | target | met |\n|---|---|---|---|")
    for name, value, target, ok in table:
        print(
            f"| {name} | {value} | {target} | {'-' if ok is None else 'met' if ok else 'missed'} |"
        )
    print()
    cols = ["run", "test R-L zero-shot -> ILLUME", "CIDEr", "% of full-gt", "test fact-err %"]
    cols += ["RV % per round", "val fact-err % per round", "candidates/item per round"]
    head = "| " + " | ".join([*cols, "best round"]) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, r in s.items():
        print(
            f"| {name} | {fmt(r.get('test_rouge_zero_shot'), 2, True)} -> "
            f"{fmt(r.get('test_rouge_illume'), 2, True)} | "
            f"{fmt(r.get('test_cider_zero_shot'), 1, True)} -> "
            f"{fmt(r.get('test_cider_illume'), 1, True)} | "
            f"{fmt(r.get('pct_of_full_gt'))} | "
            f"{fmt(r.get('test_fact_error_zero_shot'), 1, True)} -> "
            f"{fmt(r.get('test_fact_error_illume'), 1, True)} | "
            + " / ".join(fmt(v) for v in r["rv_pct"])
            + " | "
            + " / ".join(fmt(v, 0, True) for v in r["val_fact_error"])
            + " | "
            + " / ".join(fmt(v) for v in r["candidates_per_item"])
            + f" | {r.get('best_round', '-')} |"
        )
    print()
    print("| run | kappa vs annotator per round: rouge | facts | semantic |\n|---|---|---|---|")
    for name, r in s.items():
        k = r["kappa"]
        print(
            f"| {name} | "
            + " | ".join(
                " / ".join(fmt(v, 2) for v in k[c]) for c in ("rouge", "facts", "semantic")
            )
            + " |"
        )


if __name__ == "__main__":
    main()
