"""Plot stored `bench/rounds_that_learn.py` reports round by round (no model runs):

    python bench/rounds_plot.py docs/results/rounds-that-learn/easy-vqa-x-{d,f,e-rouge}.json \
        --labels D F "E (ROUGE critic)" --out docs/results/rounds-that-learn/rounds.png

Panels: the held-out accepted share, the top candidate's ROUGE-L and the fact-error rate
of the version serving after each round, with the 95% interval of the change from
round 0; the control and the versions the gate kept back as hollow markers; full-gt at
the same step budget as a dashed line (`illume_bench.round_plot`). With `--greedy` the
inputs are `bench/greedy_test.py` JSONs, and the panels each round's own version's greedy
text: its ROUGE-L, wrong facts and the annotator's ticks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from illume_bench.round_plot import GREEDY_METRICS, plot_reports  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("reports", nargs="+", help="report JSONs of bench/rounds_that_learn.py")
    ap.add_argument("--labels", nargs="*", help="one per report (default: file names)")
    ap.add_argument("--out", required=True, help="the PNG to write")
    ap.add_argument(
        "--greedy",
        action="store_true",
        help="the JSONs are bench/greedy_test.py's (one greedy text)",
    )
    args = ap.parse_args()
    labels = args.labels or [Path(p).stem for p in args.reports]
    if len(labels) != len(args.reports):
        ap.error(f"{len(labels)} labels for {len(args.reports)} reports")
    reports = {
        lab: json.loads(Path(p).read_text()) for lab, p in zip(labels, args.reports, strict=True)
    }
    if args.greedy:
        title = "held-out items: each round's version, one greedy text per item (the paper's test)"
        plot_reports(reports, Path(args.out), GREEDY_METRICS, title)
    else:
        plot_reports(reports, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
