"""Distinct candidates per item before and after a round tuned on two near-identical
rationales, with the old and the new top-up, with and without the
tuning job's collapse guard.

    illume data easy-vqa-x --out data/easy-vqa-x-small --max-train 20 --max-val 20 --max-test 5
    python bench/diversity_bench.py --evqax data/easy-vqa-x-small/items.jsonl --probes 3 \
        --json docs/results/diversity.json

(From the repository root; in a git worktree set PYTHONPATH=. so that its code is imported.)

The round: the embedded model (real weights) is tuned on "it is a cat" and "it's a cat"
for the demo cat photo (where a tuned model once collapsed the sampler), once with the guard off
(`--noguard-args`) and once with it on (`--guard-args`). Then a handful of
unresolved items (a new task on the same cat photo, three other demo photos, two
easy-vqa-x val items) are sampled by the base model and by each tuned version, with
the top-up before this change (2 rounds at T = 0.6/0.9, own prompt only: `old`) and
with today's defaults (`new`). Per cell: distinct candidates per item after the rank
filter (mean, min, items under 10), samples drawn per item and sampling s/item.
Every stage is cached under runs/diversity/, so a rerun only redoes what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from dataclasses import replace
from pathlib import Path
from statistics import mean

from illume import api
from illume.items import Item, load_items, write_jsonl
from illume_bench.data.demo_items import DEMO_ITEMS

RUNS = Path("runs/diversity")
TUNED_ON = ("demo-chelsea", ("it is a cat", "it's a cat"))
DEMO_PROBES = ("demo-chelsea-eyes", "demo-coffee", "demo-astronaut")


def old_top_up(config):
    """The sampler's earlier top-up: two rounds at the top two temperatures."""
    return replace(config, top_up_rounds=2, top_up_temperatures=(0.6, 0.9), top_up_prompts=())


def build_items(evqax: str, n_probes: int) -> tuple[Path, list[Item]]:
    """The tuning job's items file (demo + easy-vqa-x, absolute image paths) and the probes."""
    demo, errors = load_items(DEMO_ITEMS)
    evqa, errors2 = load_items(evqax)
    if errors or errors2:
        raise SystemExit(f"bad items: {(errors + errors2)[:3]}")
    by_id = {it.id: it for it in demo}
    cat = by_id[TUNED_ON[0]]
    new_cat = Item(
        "demo-chelsea-new", cat.image, cat.question, cat.answer, cat.explanations, split="val"
    )
    val = [it for it in evqa if it.split == "val"]
    probes = [new_cat, by_id[DEMO_PROBES[0]], val[0], *(by_id[i] for i in DEMO_PROBES[1:]), val[1]]
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / "items.jsonl"
    write_jsonl(path, (it.to_dict() for it in [*demo, *evqa]))
    return path, probes[:n_probes]


def tune(name: str, items_file: Path, tune_args: str) -> Path:
    """A version tuned on the two cat rationales (cached by name)."""
    from illume.models import ModelChoice
    from illume.tunejob import TuneJob, parse_tune_args
    from illume.versions import list_versions

    root = RUNS / "versions" / name
    done = list_versions(root) if root.exists() else []
    if done:
        return done[-1]
    rationales = RUNS / "rationales.jsonl"
    write_jsonl(rationales, ({"id": TUNED_ON[0], "text": t} for t in TUNED_ON[1]))
    config, launch = parse_tune_args(shlex.split(tune_args))
    job = TuneJob(items=str(items_file), rationales=str(rationales), versions=str(root))
    started = time.perf_counter()
    version = api.run_tune_job(job, config, ModelChoice.from_env(), launch)
    metrics = json.loads((version / "metrics.json").read_text())
    metrics["bench_tune_seconds"] = round(time.perf_counter() - started, 1)
    (version / "bench.json").write_text(json.dumps(metrics, indent=2))
    return version


def sample(model, items: list[Item], config) -> dict:
    """Distinct kept candidates per item, samples drawn and seconds, for one sampler config."""

    sampler = api.sampler(model, config)
    started = time.perf_counter()
    results = list(sampler.sample(items, progress=False))
    seconds = time.perf_counter() - started
    counts = {r.id: len(r.candidates) for r in results}
    return {
        "distinct_per_item": counts,
        "mean_distinct": round(mean(counts.values()), 2),
        "min_distinct": min(counts.values()),
        "items_under_10": sum(c < 10 for c in counts.values()),
        "samples_per_item": round(sampler.rows_drawn / len(items), 1),
        "s_per_item": round(seconds / len(items), 2),
        "top3": {r.id: [c.text for c in r.candidates[:3]] for r in results},
    }


def main() -> None:
    from illume.models import load_model
    from illume.sample import SampleConfig

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--evqax", required=True, help="easy-vqa-x items (illume data easy-vqa-x)")
    ap.add_argument("--json", default="docs/results/diversity.json")
    ap.add_argument("--noguard-args", default="--min-rationales-per-epoch 0 --val-items 8")
    ap.add_argument("--guard-args", default="--min-rationales-per-epoch 16 --val-items 8")
    ap.add_argument("--probes", type=int, default=6, help="unresolved items sampled (at most 6)")
    ap.add_argument("--variants", default="base,noguard,guard", help="which models to sample")
    args = ap.parse_args()
    items_file, probes = build_items(args.evqax, args.probes)
    wanted = args.variants.split(",")
    versions = {"base": None} if "base" in wanted else {}
    if "noguard" in wanted:
        versions["tuned, no guard"] = tune("noguard", items_file, args.noguard_args)
    if "guard" in wanted:
        versions["tuned, guard"] = tune("guard", items_file, args.guard_args)
    model = load_model()
    configs = {"old top-up": old_top_up(SampleConfig()), "new top-up": SampleConfig()}
    cells = {}
    for vname, path in versions.items():
        if path is None:
            model.reset_version()
        else:
            model.load_version(path)
        for cname, config in configs.items():
            key = f"{vname} / {cname}"
            cache = RUNS / (key.replace(" / ", "-").replace(", ", "-").replace(" ", "_") + ".json")
            if not cache.exists():
                cache.write_text(json.dumps(sample(model, probes, config), indent=2))
            cells[key] = json.loads(cache.read_text())
            c = cells[key]
            print(
                f"{key:32s} distinct/item {c['mean_distinct']:5.1f} (min {c['min_distinct']}, "
                f"{c['items_under_10']} under 10), {c['samples_per_item']:5.1f} samples/item, "
                f"{c['s_per_item']:5.1f} s/item"
            )
    tuning = {name: json.loads((p / "bench.json").read_text()) for name, p in versions.items() if p}
    report = {
        "what": "distinct candidates per unresolved item after the rank filter, before and "
        "after a round tuned on 2 near-identical rationales (embedded model, real weights)",
        "tuned_on": {"id": TUNED_ON[0], "texts": list(TUNED_ON[1])},
        "probes": [it.id for it in probes],
        "tune_args": {"tuned, no guard": args.noguard_args, "tuned, guard": args.guard_args},
        "tuning": {
            k: {
                f: v.get(f)
                for f in (
                    "n_exp",
                    "n_vqa",
                    "b",
                    "best_epoch",
                    "val_rouge",
                    "epochs_run",
                    "bench_tune_seconds",
                )
            }
            for k, v in tuning.items()
        },
        "cells": cells,
        "machine": f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f} at the end",
    }
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {args.json}")


if __name__ == "__main__":
    main()
