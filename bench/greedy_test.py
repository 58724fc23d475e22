"""The paper's test ROUGE-L for a stored `bench/rounds_that_learn.py` run: every kept
version's greedy rationale on the run's held-out items (`illume_bench.greedy_test`).

    python bench/greedy_test.py runs/rtl-h --report runs/rtl-h.json \
        --json docs/results/rounds-that-learn/greedy-h.json

Reads the versions under RUN/versions (the zero-shot weights are r0), decodes one greedy
text per held-out item and version (cached in RUN/greedy-<arm>.jsonl), and prints per
arm: the mean coco ROUGE-L against the references (and as a % of full-gt's), the share
of greedy texts naming a wrong colour or shape, and the share the critic (default: the
careful annotator) accepts, each with the 95% paired interval of its change from r0;
then the serving version against its control and full-gt. `--full-gt MARKER` takes the
full-gt version of another run on the same items and seeds (runs made with --no-full-gt).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from illume.critique import RougeCritic  # noqa: E402
from illume.items import load_items  # noqa: E402
from illume_bench.critics import make_critic  # noqa: E402
from illume_bench.critics.config import CriticConfig  # noqa: E402
from illume_bench.greedy_test import BASE, compare, greedy_texts, judged_rows  # noqa: E402
from illume_bench.heldout_figures import KEYS, figures, item_stats  # noqa: E402

log = logging.getLogger("greedy_test")
SHOWN = ("rouge_top", "fact_error_rate", "items_with_accepted")
"""Per item: ROUGE-L of its greedy text, and whether the critic accepts it."""


def versions(run: Path, full_gt: Path | None) -> dict[str, Path | None]:
    """Arm name -> version folder, read from the run's version markers (RUN/versions/
    <name>.json): r0 (zero-shot), r1.., control-r.. and full-gt (or --full-gt's marker)."""
    out: dict[str, Path | None] = {BASE: None}
    markers = sorted(
        (run / "versions").glob("*.json"), key=lambda p: (p.name[:7] != "illume-", p.name)
    )
    for marker in [*markers, *([full_gt] if full_gt else [])]:
        version = json.loads(marker.read_text()).get("version")
        if version:  # a round that changed nothing has no version of its own
            out[marker.stem.removeprefix("illume-")] = Path(version)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", help="the run's --out folder")
    ap.add_argument("--report", required=True, help="the run's report JSON (held-out items)")
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument(
        "--full-gt", help="the full-gt marker (versions/full-gt.json) of a run on the same items"
    )
    ap.add_argument("--critic", default="annotator", help="who judges the greedy texts")
    ap.add_argument("--json", help="write the table and every greedy text here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    report = json.loads(Path(args.report).read_text())
    by_id = {it.id: it for it in load_items(args.items)[0]}
    heldout = [by_id[str(r["id"])] for r in report["heldout_items"][BASE]]
    prompt = report["config"]["prompt"]
    run = Path(args.run)
    arms = versions(run, Path(args.full_gt) if args.full_gt else None)
    critic, rouge = make_critic(CriticConfig(kind=args.critic)), RougeCritic()

    model = []  # loaded on the first cache miss, once

    def load():
        if not model:
            from illume.models import ModelChoice, load_model

            model.append(load_model(ModelChoice.from_env()))
        return model[0]

    rows, stats, t0 = {}, {}, time.time()
    for k, (arm, version) in enumerate(arms.items(), 1):
        texts = greedy_texts(load, version, heldout, prompt, run / f"greedy-{arm}.jsonl")
        rows[arm] = judged_rows(heldout, texts, critic)
        stats[arm] = item_stats(by_id, rouge, rows[arm])
        log.info(
            "%d/%d %s: %d texts (%.0f s so far)", k, len(arms), arm, len(texts), time.time() - t0
        )

    serves = report["rounds"][-1].get("serves", BASE)
    table = _table(stats, serves)
    _print(table, serves, len(heldout), args.critic)
    if args.json:
        out = {"run": args.run, "prompt": prompt, "critic": args.critic, "serves": serves}
        Path(args.json).write_text(json.dumps({**out, "table": table, "items": rows}, indent=1))
    return 0


def _table(stats: dict, serves: str) -> dict:
    table = {arm: figures(st) for arm, st in stats.items()}
    for arm in stats:
        if arm != BASE:
            table[arm]["vs_r0"] = compare(stats, arm, BASE, KEYS)
    for other in [a for a in stats if a.startswith("control") or a == "full-gt"]:
        table[serves][f"minus_{other}"] = compare(stats, serves, other, KEYS)
    return table


def _print(table: dict, serves: str, n: int, critic: str) -> None:
    gt = table.get("full-gt", {}).get("rouge_top")
    print(f"\n{n} held-out items, one greedy text each; x100, [95% paired interval vs r0]\n")
    print(f"| arm | greedy ROUGE-L | names a wrong fact | accepted by the {critic} |")
    print("|---|---|---|---|")
    for arm, f in table.items():
        cells = []
        for key in SHOWN:
            cell = f"{100 * f[key]:.1f}"
            if key == "rouge_top" and gt:
                cell += f" ({100 * f[key] / gt:.0f}%)"
            if "vs_r0" in f:
                lo, hi = (100 * x for x in f["vs_r0"][key])
                cell += f" [{lo:+.1f}, {hi:+.1f}]"
            cells.append(cell)
        name = f"**{arm} (serves)**" if arm == serves else arm
        print(f"| {name} | {' | '.join(cells)} |")
    for key, ci in table[serves].items():
        if key.startswith("minus_"):
            parts = [f"{k} [{100 * ci[k][0]:+.1f}, {100 * ci[k][1]:+.1f}]" for k in SHOWN]
            print(f"\n{serves} {key.replace('_', ' ')}: " + ", ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
