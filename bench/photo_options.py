"""The options an annotator would see, judged by the careful annotator: LM x worked examples.

For each language model and with / without the worked examples
(illume/models/examples.py), samples the product's default candidates (25 draws
+ top-up, `illume.rank` filter and order) for the 20 demo photos and an evenly
spread sample of easy-vqa-x val, keeps what the backend shows
(`illume.rank.shown`: unrelated ones dropped, at most 8) and judges every
candidate with the simulated careful annotator. Columns per set:

- fit@3: items where one of the first 3 shown options fits (95% Wilson interval);
- precision: the share of shown options that fit (95% interval by a bootstrap over items);
- fact errors: the share of shown options naming a wrong fact (easy-vqa-x; photos have no
  facts to check);
- s/item: sampling wall time, contexts and top-up included, on this machine;
- p@3 / p@8 by rank score vs by log-probability: the ordering's precision over every kept
  candidate (before the unrelated filter and the cut), to see which order predicts the
  annotator.

    PYTHONPATH=. python bench/photo_options.py --evqa data/easy-vqa-x/items.jsonl \
        --evqa-limit 40 --json docs/results/photo-options.json

`--lm` adds another language model (a folder with a GGUF or safetensors, as
`--lm` of `illume sample`); its name in the table is the folder's. The image prefix
was aligned for SmolLM2 only, so another LM reads the image as text alone (the
context and the examples, no prefix). `--only-lm` leaves SmolLM2 out (it is
measured in docs/results/photo-options.json):

    PYTHONPATH=. python bench/photo_options.py --lm GGUF_FOLDER --only-lm \
        --evqa data/easy-vqa-x/items.jsonl --evqa-limit 40 \
        --json docs/results/photo-options-gemma.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import replace
from pathlib import Path
from statistics import mean

from illume import api
from illume.items import Candidate, Item, load_items
from illume.rank import MAX_SHOWN, shown
from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.demo_items import demo_items
from illume_bench.fact_errors import wrong_facts


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(100 * max(0.0, centre - half), 1), round(100 * min(1.0, centre + half), 1))


def bootstrap(rows: list[tuple[int, int]], seed: int = 0) -> tuple[float, float]:
    """95% interval of sum(k)/sum(n) resampling items."""
    if not rows:
        return (0.0, 0.0)
    rng = random.Random(seed)
    stats = []
    for _ in range(1000):
        pick = [rows[rng.randrange(len(rows))] for _ in rows]
        n = sum(x[1] for x in pick)
        stats.append(sum(x[0] for x in pick) / n if n else 0.0)
    stats.sort()
    return (round(100 * stats[25], 1), round(100 * stats[974], 1))


def precision_at(verdicts: list[bool], k: int) -> float | None:
    return mean(verdicts[:k]) if verdicts else None


def judge_item(item: Item, cands: list[Candidate], annotator: SimulatedAnnotator) -> dict:
    verdict = {c.text: annotator.judge(item, c.text) for c in cands}
    show = shown(item, cands, MAX_SHOWN)
    by_lp = sorted(cands, key=lambda c: c.logprob, reverse=True)
    fits_rank = [verdict[c.text][0] for c in cands]
    fits_lp = [verdict[c.text][0] for c in by_lp]
    return {
        "id": item.id,
        "kept": len(cands),
        "shown": [
            {
                "text": c.text,
                "rank": c.rank,
                "logprob": c.logprob,
                "fits": verdict[c.text][0],
                "why": verdict[c.text][1],
                "wrong_facts": wrong_facts(c.text, item.facts) if item.facts else [],
            }
            for c in show
        ],
        "fit3": any(verdict[c.text][0] for c in show[:3]),
        "p3_rank": precision_at(fits_rank, 3),
        "p8_rank": precision_at(fits_rank, 8),
        "p3_logprob": precision_at(fits_lp, 3),
        "p8_logprob": precision_at(fits_lp, 8),
        "fitting_kept": sum(fits_rank),
    }


def summarise(rows: list[dict], seconds: float) -> dict:
    n = len(rows)
    fit3 = sum(r["fit3"] for r in rows)
    per_item = [(sum(s["fits"] for s in r["shown"]), len(r["shown"])) for r in rows]
    shown_n = sum(x[1] for x in per_item)
    facts = [(sum(bool(s["wrong_facts"]) for s in r["shown"]), len(r["shown"])) for r in rows]

    def avg(key):
        vals = [r[key] for r in rows if r[key] is not None]
        return round(100 * mean(vals), 1) if vals else None

    return {
        "items": n,
        "fit3_pct": round(100 * fit3 / n, 1) if n else 0.0,
        "fit3_ci": wilson(fit3, n),
        "precision_pct": round(100 * sum(x[0] for x in per_item) / shown_n, 1) if shown_n else 0,
        "precision_ci": bootstrap(per_item),
        "shown_per_item": round(shown_n / n, 1) if n else 0,
        "fact_error_pct": round(100 * sum(x[0] for x in facts) / shown_n, 1) if shown_n else 0,
        "fact_error_ci": bootstrap(facts),
        "s_per_item": round(seconds / n, 2) if n else 0,
        "p3_rank_pct": avg("p3_rank"),
        "p3_logprob_pct": avg("p3_logprob"),
        "p8_rank_pct": avg("p8_rank"),
        "p8_logprob_pct": avg("p8_logprob"),
    }


def evqa_items(path: str, limit: int) -> list[Item]:
    items, errors = load_items(path, split="val")
    if errors:
        raise SystemExit(f"bad items: {errors[:3]}")
    step = max(1, len(items) // limit)
    return items[::step][:limit]


def run(model, lm_name: str, examples: str, sets: dict[str, list[Item]], seed: int) -> dict:
    model.config = replace(model.config, examples=examples)
    annotator = SimulatedAnnotator()
    out = {"lm": lm_name, "examples": examples, "sets": {}}
    for name, items in sets.items():
        sampler = api.sampler(model, api.SampleConfig(seed=seed))
        start = time.perf_counter()
        sampled = list(sampler.sample(items, progress=False))
        seconds = time.perf_counter() - start
        by_id = {it.id: it for it in items}
        rows = [judge_item(by_id[s.id], s.candidates, annotator) for s in sampled if not s.error]
        out["sets"][name] = {"summary": summarise(rows, seconds), "rows": rows}
        s = out["sets"][name]["summary"]
        print(
            f"{lm_name} examples={examples} {name}: fit@3 {s['fit3_pct']}% {s['fit3_ci']}, "
            f"precision {s['precision_pct']}% {s['precision_ci']}, facts {s['fact_error_pct']}%, "
            f"{s['s_per_item']} s/item; p@3 rank {s['p3_rank_pct']} vs logprob "
            f"{s['p3_logprob_pct']}, p@8 {s['p8_rank_pct']} vs {s['p8_logprob_pct']}",
            flush=True,
        )
    return out


def table(results: list[dict]) -> str:
    lines = [
        "| LM | examples | set | fit in first 3 | precision of shown | shown/item "
        "| fact errors | s/item | p@3 rank / logprob | p@8 rank / logprob |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name, body in r["sets"].items():
            s = body["summary"]
            lines.append(
                f"| {r['lm']} | {r['examples']} | {name} | {s['fit3_pct']}% {list(s['fit3_ci'])} "
                f"| {s['precision_pct']}% {list(s['precision_ci'])} | {s['shown_per_item']} "
                f"| {s['fact_error_pct']}% | {s['s_per_item']} "
                f"| {s['p3_rank_pct']} / {s['p3_logprob_pct']} "
                f"| {s['p8_rank_pct']} / {s['p8_logprob_pct']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evqa", help="easy-vqa-x items.jsonl (its val split)")
    ap.add_argument("--evqa-limit", type=int, default=40)
    ap.add_argument("--lm", action="append", default=[], help="another LM folder (repeatable)")
    ap.add_argument("--only-lm", action="store_true", help="only the --lm models, no SmolLM2")
    ap.add_argument("--examples", default="none,auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="docs/results/photo-options.json")
    args = ap.parse_args(argv)
    sets = {"demo photos": demo_items()}
    if args.evqa:
        sets["easy-vqa-x val"] = evqa_items(args.evqa, args.evqa_limit)
    if args.only_lm and not args.lm:
        ap.error("--only-lm needs --lm")
    results = []
    for lm in args.lm if args.only_lm else [None, *args.lm]:
        start = time.perf_counter()
        # no aligned prefix for another LM: 49 random embeddings would only be noise to it
        model = EmbeddedVLM(EmbeddedConfig(lm=lm, image_prefix=False) if lm else EmbeddedConfig())
        name = Path(lm).name if lm else "SmolLM2-135M"
        print(f"{name}: loaded in {time.perf_counter() - start:.0f} s", flush=True)
        for examples in args.examples.split(","):
            results.append(run(model, name, examples, sets, args.seed))
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            meta = {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
            Path(args.json).write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
    print(table(results))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
