"""Would a loop that judges each new version on the dev items have kept it?

`bench/rounds_that_learn.py` published every round's version until it got this gate
(`--gate-items`). Its dev measure (NLL of the dev references) picks a checkpoint within
a round, but it did not see round 3 get worse than round 2 on what the team sees. This
asks the question the issue asks of dev selection, after the fact, on a finished run:
sample the dev items (val split, other images than the held-out ones) with the base
weights and with each round's version, let the careful annotator judge them, and publish
a round's version only when its dev accepted share is not below the serving version's by
more than --margin (illume_bench.publish_gate, the rule rounds_that_learn.py now applies
while it runs). It prints, per round, the dev figures, the gate's decision and the
held-out figures of the version a team would then be served:

    python bench/dev_gate.py --items data/easy-vqa-x/items.jsonl \
        --report docs/results/rounds-that-learn/easy-vqa-x-b.json --out runs/rtl-b

After the fact, so approximate: a gated loop would also have sampled its open train
items with the kept version, and so tuned the next round on other ticks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from rounds_that_learn import Bench, parser, per_item  # noqa: E402

from illume_bench.heldout_figures import figures  # noqa: E402
from illume_bench.publish_gate import PublishGate, served_after  # noqa: E402


def dev_figures(bench: Bench, name: str, version: Path | None, seed: int) -> dict:
    """The annotator's figures on the dev items' candidates from `version` (None: base)."""
    rows = bench.sampled(f"dev-{name}", version, bench.dev, seed)
    return figures(per_item(bench, rows))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", required=True)
    ap.add_argument("--report", required=True, help="the run's JSON (rounds_that_learn --json)")
    ap.add_argument("--out", required=True, help="the run's folder (its versions/)")
    ap.add_argument(
        "--margin",
        type=float,
        default=PublishGate().margin,
        help="the serving version stays when its dev share is higher by more (0..1)",
    )
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    report = json.loads(Path(args.report).read_text())
    conf = parser().parse_args(["--items", args.items, "--out", args.out])
    vars(conf).update({k: v for k, v in report["config"].items() if k not in ("items", "out")})
    bench = Bench(conf)
    names, versions = ["base"], [None]
    for r in range(1, conf.rounds + 1):
        marker = Path(args.out) / "versions" / f"illume-r{r}.json"
        if marker.exists():
            v = json.loads(marker.read_text())["version"]
            names.append(f"r{r}")
            versions.append(Path(v) if v else None)
    dev = [dev_figures(bench, n, v, conf.seed + 200) for n, v in zip(names, versions, strict=True)]
    served = served_after([d["accepted_share"] for d in dev], PublishGate(args.margin))
    table = report["table"]
    print(
        "| round | dev accepted | dev fact errors | gate serves | held-out accepted | fact errors |"
    )
    print("|---|---|---|---|---|---|")
    d0 = dev[0]
    print(
        f"| 0 | {100 * d0['accepted_share']:.1f} | {100 * d0['fact_error_rate']:.1f} | r0 |", end=""
    )
    print(
        f" {100 * table['r0']['accepted_share']:.1f} | {100 * table['r0']['fact_error_rate']:.1f} |"
    )
    for r, s in enumerate(served, start=1):
        d, h = dev[r], table[f"r{s}"]
        print(
            f"| {r} | {100 * d['accepted_share']:.1f} | {100 * d['fact_error_rate']:.1f} "
            f"| r{s} | {100 * h['accepted_share']:.1f} | {100 * h['fact_error_rate']:.1f} |"
        )
    if args.json:
        out = {
            "report": args.report,
            "margin": args.margin,
            "dev": dict(zip(names, dev, strict=True)),
        }
        out["served_after_round"] = served
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
