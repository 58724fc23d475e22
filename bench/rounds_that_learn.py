"""Do a team's ticks make the next candidates better on items the model has not seen?

    python bench/rounds_that_learn.py --items data/easy-vqa-x/items.jsonl \
        --out runs/rtl-easy --json docs/results/rounds-that-learn/easy-vqa-x.json

Round 0 samples the train items zero-shot; the simulated careful annotator ticks what
fits (X^E). Each round r >= 1 tunes the base weights on every tick so far at a fixed
step budget (TuneConfig.steps; X^A drawn from the whole train split) and samples the
still unresolved train items again. Every version, the zero-shot one included, also
samples the held-out items (test split: other images), and the annotator judges those
candidates too: that is what a team would see next. Two arms share the budget:

- control: the same round tuned on as many *random* candidates of the same sampled
  pool, unchecked, so a gain must come from the ticks and not from tuning on anything;
- full-gt: the train items' reference explanations, same budget (the % of full-gt).

A round's new version is published only through the gate (illume_bench.publish_gate):
the critic judges its candidates on `--gate-items` val items (other images than the
held-out ones) beside the serving version's, and the serving version stays when its
accepted share is higher by more than `--gate-margin`; the round then "changed nothing",
the next samples come from the serving version, and the report lists the unpublished
version's held-out figures as `r<k>-unpublished`. `--gate-items 0` publishes every round.

`--objective sft+dpo` adds preference pairs to every ILLUME round: chosen = a ticked
candidate, rejected = a candidate of the same item that the annotator refused for
`--rejected-reason` (default: it names a wrong fact), so the model is told which colour
or shape it must not claim for that picture rather than merely which texts went unticked.
The control then gets as many pairs of two random candidates of an item; full-gt stays sft.

Per arm and round, on the held-out items: the share of shown candidates the annotator
accepts, the items with an accepted candidate, the coco ROUGE-L of the top candidate
(the first shown) and the candidates' fact-error rate, each with a 95% paired
bootstrap interval of its change from round 0. The JSON holds every held-out item's
candidates as text, in the order shown, with the verdict and its reason. Re-running
the same command resumes (sampled rounds and versions are kept in --out).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from illume import api  # noqa: E402
from illume.critique import RougeCritic  # noqa: E402
from illume.items import Item, load_items, read_jsonl, write_jsonl  # noqa: E402
from illume.rationales import Rationale, unique_rationales  # noqa: E402
from illume.sample import SampleConfig  # noqa: E402
from illume.tune import TuneConfig, waiting_reason  # noqa: E402
from illume.tunejob import NothingChanged  # noqa: E402
from illume_bench.arm_rows import (  # noqa: E402
    accepted,
    random_candidates,
    random_pairs,
    refused_pairs,
)
from illume_bench.critics import make_critic, verdict  # noqa: E402
from illume_bench.critics.config import CriticConfig  # noqa: E402
from illume_bench.heldout_figures import (  # noqa: E402
    item_stats,
    print_table,
    rejudge,
    table_of,
)
from illume_bench.publish_gate import PublishGate, accepted_share  # noqa: E402

log = logging.getLogger("rounds_that_learn")


def pick(items: list[Item], n: int, seed: int, by_image: bool = True) -> list[Item]:
    """n items of distinct images (seeded), so no two held-out items share a picture."""
    rng = random.Random(seed)
    pool = items[:]
    rng.shuffle(pool)
    out, seen = [], set()
    for it in pool:
        if by_image and it.image in seen:
            continue
        seen.add(it.image)
        out.append(it)
        if len(out) == n:
            break
    return out


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        items, _ = load_items(args.items)
        self.root = str(Path(args.items).resolve().parent)
        by = {s: [it for it in items if it.split == s] for s in ("train", "val", "test")}
        self.pool = by["train"]
        self.train = pick(by["train"], args.train, args.seed)
        self.heldout = pick(by["test"], args.heldout, args.seed + 1)
        self.dev = pick(by["val"], args.dev, args.seed + 2)
        # the same seeded order: the first `dev` of these are the NLL dev items
        self.gate_items = pick(by["val"], args.gate_items, args.seed + 2)
        self.gate = PublishGate(args.gate_margin)
        everything = self.train + self.heldout + self.dev + self.gate_items
        self.by_id = {it.id: it for it in everything}
        self.critic = make_critic(CriticConfig(kind=args.critic))
        self.rouge = RougeCritic()
        self.sample_cfg = SampleConfig(
            n_per_temperature=max(1, args.draws // 5),
            top_up_rounds=0,
            explanation_prompts=(args.prompt,),
        )
        self.tune_cfg = TuneConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            explanation_prompt=args.prompt,
            val_items=args.dev,
            train_split="train",
            val_split="val",
            seed=args.seed if args.tune_seed is None else args.tune_seed,
            lr=args.lr,
            min_rationales=args.min_rationales,
            min_items=args.min_items,
            objective=args.objective,
        )
        self.model = None
        self.timings: dict[str, float] = {}

    # -- sampling and judging ---------------------------------------------------------
    def load(self):
        if self.model is None:
            from illume.models import load_model

            self.model = load_model(self.args_model())
        return self.model

    def args_model(self):
        from illume.models import ModelChoice

        return ModelChoice.from_env()

    def sampled(self, name: str, version: Path | None, items: list[Item], seed: int) -> list[dict]:
        """Critiqued rows (cached in --out/name.jsonl): candidates in the order shown."""
        path = self.out / f"{name}.jsonl"
        if path.exists():
            return list(read_jsonl(path))
        model = self.load()
        if version is None:
            model.reset_version()
        else:
            model.load_version(version)
        sampler = api.sampler(model, self.sample_cfg)
        sampler.reseed(seed)
        t0 = time.time()
        rows = []
        for res in sampler.sample(items, progress=True):
            row = res.to_dict()
            item = self.by_id[res.id]
            for c in row.get("candidates", []):
                ok, why = verdict(self.critic, item, c["text"])
                c["fitting"], c["why"] = ok, why
            rows.append(row)
        self.timings[f"sample {name}"] = time.time() - t0
        write_jsonl(path, rows)
        return rows

    def dev_share(self, name: str, version: Path | None) -> float:
        """The critic's accepted share of this version's candidates on the gate's dev items."""
        return accepted_share(
            self.sampled(f"gate-{name}", version, self.gate_items, self.args.seed + 200)
        )

    def tuned(
        self, name: str, rationales: list[Rationale], pairs: list[dict] | None = None
    ) -> Path | None:
        """A version tuned from the base weights on these rationales (cached by name)."""
        versions = self.out / "versions" / name
        marker = self.out / "versions" / f"{name}.json"
        if marker.exists():
            v = json.loads(marker.read_text())["version"]
            return Path(v) if v else None
        items = self.pool + self.dev
        t0 = time.time()
        try:
            with open(self.out / f"tune-{name}.log", "wb") as logf:
                new = api.tune(
                    items,
                    [r.to_row() for r in rationales],
                    versions,
                    None,
                    self.tune_cfg,
                    work=self.out / "work" / name,
                    output=logf,
                    pairs=pairs,
                )
            note = None
        except NothingChanged as e:
            new, note = None, str(e)
        self.timings[f"tune {name}"] = time.time() - t0
        metrics = {}
        if new is not None:
            metrics = json.loads((new / "metrics.json").read_text())
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(
            json.dumps({"version": str(new) if new else None, "note": note, "metrics": metrics})
        )
        return new


# -- figures ------------------------------------------------------------------------------
def per_item(bench: Bench, rows: list[dict]) -> dict[str, dict]:
    return item_stats(bench.by_id, bench.rouge, rows)


def run(args: argparse.Namespace) -> dict:
    bench = Bench(args)
    t_start = time.time()
    heldout: dict[str, list[dict]] = {}
    log.info(
        "train %d, held-out %d, dev %d items; %d draws; %d rounds; %d steps",
        len(bench.train),
        len(bench.heldout),
        len(bench.dev),
        args.draws,
        args.rounds,
        args.steps,
    )
    train_rows = {0: bench.sampled("train-r0", None, bench.train, args.seed)}
    heldout["r0"] = bench.sampled("heldout-r0", None, bench.heldout, args.seed + 100)
    rounds = [{"round": 0, "x_e": 0, "tuned": False}]
    serving: tuple[str, Path | None] = ("r0", None)  # what the team is shown
    for r in range(1, args.rounds + 1):
        all_rows = [row for k in range(r) for row in train_rows[k]]
        x_e = unique_rationales(accepted(all_rows, 0))
        if args.x_e_limit and len(x_e) > args.x_e_limit:  # how few ticks still help?
            x_e = random.Random(args.seed + r).sample(x_e, args.x_e_limit)
        rec = {"round": r, "x_e": len(x_e), "x_e_items": len({x.item_id for x in x_e})}
        wait = waiting_reason(((x.item_id, x.text) for x in x_e), bench.tune_cfg)
        version, pairs = None, None
        if wait:
            rec["note"] = wait
        else:
            if bench.tune_cfg.uses_dpo:
                pairs = refused_pairs(all_rows, args.rejected_reason)
                rec["pairs"] = len(pairs)
            version = bench.tuned(f"illume-r{r}", x_e, pairs)
            marker = json.loads((bench.out / "versions" / f"illume-r{r}.json").read_text())
            rec["tune"] = _tune_summary(marker)
        if version is not None and args.control and r >= args.control_from:
            cpairs = random_pairs(all_rows, len(pairs), r) if pairs else None
            control = bench.tuned(f"control-r{r}", random_candidates(all_rows, len(x_e), r), cpairs)
            cmark = json.loads((bench.out / "versions" / f"control-r{r}.json").read_text())
            rec["control_tune"] = _tune_summary(cmark)
            heldout[f"control-r{r}"] = bench.sampled(
                f"heldout-control-r{r}", control, bench.heldout, args.seed + 100
            )
        rec["tuned"] = version is not None
        if version is not None and bench.gate_items:
            rec["gate"] = gated(bench, f"r{r}", version, serving)
        if version is not None and rec.get("gate", {}).get("published", True):
            serving = (f"r{r}", version)
        elif version is not None:  # what the gate kept from the team, for the record
            heldout[f"r{r}-unpublished"] = bench.sampled(
                f"heldout-r{r}", version, bench.heldout, args.seed + 100
            )
        rec["serves"] = serving[0]
        heldout[f"r{r}"] = bench.sampled(
            f"heldout-{serving[0]}", serving[1], bench.heldout, args.seed + 100
        )
        resolved = {x.item_id for x in x_e}
        todo = [it for it in bench.train if it.id not in resolved]
        if r < args.rounds:  # the last round's train samples would feed no round
            train_rows[r] = bench.sampled(f"train-r{r}", serving[1], todo, args.seed + r)
        rounds.append(rec)
        log.info("round %d done: %s", r, json.dumps(rec)[:300])
    if args.full_gt:
        full = [
            Rationale(it.id, it.explanations[0], "reference", 0, None)
            for it in bench.train
            if it.explanations
        ]
        fg = bench.tuned("full-gt", full)
        heldout["full-gt"] = bench.sampled("heldout-full-gt", fg, bench.heldout, args.seed + 100)
    table = table_of({k: per_item(bench, rows) for k, rows in heldout.items()})
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "func"},
        "sizes": {
            "train": len(bench.train),
            "heldout": len(bench.heldout),
            "dev": len(bench.dev),
            "x_a_pool": len(bench.pool),
        },
        "tune_config": bench.tune_cfg.__dict__,
        "rounds": rounds,
        "table": table,
        "timings_s": bench.timings,
        "wall_s": time.time() - t_start,
        "heldout_items": {
            k: [
                {
                    "id": row["id"],
                    "question": bench.by_id[str(row["id"])].question,
                    "answer": bench.by_id[str(row["id"])].answer,
                    "candidates": [
                        {"text": c["text"], "fitting": c.get("fitting"), "why": c.get("why")}
                        for c in row.get("candidates", [])
                    ],
                }
                for row in rows
            ]
            for k, rows in heldout.items()
        },
    }
    return report


def gated(bench: Bench, name: str, version: Path, serving: tuple[str, Path | None]) -> dict:
    """The publish gate's decision on the round's new version against the serving one,
    with both dev shares (illume_bench.publish_gate)."""
    new = bench.dev_share(name, version)
    old = bench.dev_share(serving[0], serving[1])
    return {"dev_items": len(bench.gate_items), **bench.gate.decide(new, old, serving[0])}


def _tune_summary(marker: dict) -> dict:
    m = marker.get("metrics") or {}
    keep = ("n_exp", "n_vqa", "b", "pool", "xa_short", "best_epoch", "steps_run", "dev_start")
    out = {k: m.get(k) for k in keep if k in m}
    out["dev_scores"] = m.get("dev_scores")
    out["changed_nothing"] = marker.get("note")
    return out


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", help="write the report (with every held-out candidate) here")
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--heldout", type=int, default=150)
    ap.add_argument("--dev", type=int, default=50)
    ap.add_argument("--draws", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=TuneConfig().steps)
    ap.add_argument("--batch-size", type=int, default=TuneConfig().batch_size)
    ap.add_argument("--lr", type=float, default=TuneConfig().lr)
    ap.add_argument(
        "--tune-seed", type=int, help="the tuning job's seed (X^A draw, batches); default --seed"
    )
    ap.add_argument("--min-rationales", type=int, default=TuneConfig().min_rationales)
    ap.add_argument("--min-items", type=int, default=TuneConfig().min_items)
    ap.add_argument("--critic", default="annotator")
    ap.add_argument("--prompt", default="because")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--gate-items",
        type=int,
        default=100,
        help="val items (the --dev ones first) whose sampled candidates the critic judges "
        "to decide whether a round's version is published (0: publish every round)",
    )
    ap.add_argument("--gate-margin", type=float, default=PublishGate().margin)
    ap.add_argument("--no-full-gt", dest="full_gt", action="store_false")
    ap.add_argument("--no-control", dest="control", action="store_false")
    ap.add_argument(
        "--control-from", type=int, default=1, help="run the control arm from this round on"
    )
    ap.add_argument("--objective", default="sft", help="sft, or sft+dpo with refused pairs")
    ap.add_argument("--rejected-reason", default="names a wrong fact")
    ap.add_argument(
        "--x-e-limit", type=int, default=0, help="tune on at most this many ticks (random)"
    )
    ap.add_argument("--print", dest="print_only", help="print the table of a report JSON")
    ap.add_argument(
        "--rejudge", action="store_true", help="with --print: judge again with today's critic"
    )
    ap.add_argument(
        "--refilter", action="store_true", help="with --print: drop what today's filter drops"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.print_only:
        report = json.loads(Path(args.print_only).read_text())
        if args.rejudge or args.refilter:
            report = rejudge(report, args.items, args.critic, args.refilter)
        print_table(report)
        return 0
    report = run(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1))
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
