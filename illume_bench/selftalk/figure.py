"""One Table 1 (and a bar plot) from several `illume selftalk --out` files.

    python -m illume_bench.selftalk.figure docs/results/selftalk/*.json \\
        [--png docs/results/selftalk/selftalk.png]

Every figure is recomputed from the files' per-item results, so a table never disagrees
with the items it claims to summarise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from illume_bench.selftalk.accuracy import SET_NAMES, rate, table
from illume_bench.selftalk.formats import FORMATS


def recompute(doc: dict) -> dict:
    """The summary of one results file, from its items alone."""
    items = doc["items"]
    n = len(items)
    out = {
        "set": doc["set"],
        "model": doc["model"],
        "n": n,
        "chance": sum(1 / it["n_choices"] for it in items) / n,
        "baseline": rate(sum(it["baseline"] == it["label"] for it in items), n),
    }
    if all(it.get("prediction") is not None for it in items):
        out["selftalk"] = rate(sum(it["prediction"] == it["label"] for it in items), n)
    return out


def plot(summaries: list[dict], path: Path) -> None:
    """Grouped bars per set: chance, baseline, self-talk, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s for s in FORMATS if any(x["set"] == s for x in summaries)]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.27
    for k, key in enumerate(("chance", "baseline", "selftalk")):
        xs, ys, errs = [], [], [[], []]
        for i, s in enumerate(sets):
            row = next(x for x in summaries if x["set"] == s)
            if key == "chance":
                y, lo, hi = row["chance"], row["chance"], row["chance"]
            elif key in row:
                y, (lo, hi) = row[key]["accuracy"], row[key]["ci95"]
            else:
                continue
            xs.append(i + (k - 1) * width)
            ys.append(100 * y)
            errs[0].append(100 * (y - lo))
            errs[1].append(100 * (hi - y))
        label = {"chance": "chance", "baseline": "no clarification", "selftalk": "self-talk"}[key]
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=label)
    ax.set_xticks(range(len(sets)), [SET_NAMES[s] for s in sets])
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 118)  # room for the legend above the 100% mark
    ax.set_yticks(range(0, 101, 20))
    ax.legend(fontsize=8, ncols=3, loc="upper center")
    ax.set_title(f"{summaries[0]['model']}: hand-written test sets (95% Wilson intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="`illume selftalk --out` JSON files")
    ap.add_argument("--png", help="also draw the bars here")
    args = ap.parse_args(argv)
    summaries = [recompute(json.loads(Path(f).read_text())) for f in args.files]
    summaries.sort(key=lambda s: FORMATS.index(s["set"]))
    print(table(summaries))
    if args.png:
        plot(summaries, Path(args.png))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
