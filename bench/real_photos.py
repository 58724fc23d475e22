"""Candidates on real photos: fit rate, best ROUGE-L, answer repeats, top-3 precision.

Two steps, so the CPU-heavy sampling runs once per model variant and every
ranking is measured on the same candidates:

    # sample the default 25 (+ top-up) candidates per item, raw, for one variant
    python bench/real_photos.py sample --set demo --variant both
    python bench/real_photos.py sample --set easy-vqa-x --variant prefix \
        --items data/easy-vqa-x/items.jsonl --limit 30
    # the table of every sampled variant, raw (logprob order) and filtered + ranked
    python bench/real_photos.py table --json docs/results/real-photos.json

Variants of the embedded model: `prefix` (image prefix only: the model before
the first probe), `context` (text context from the image only, no prefix), `both`.
The rouge critic (coco ROUGE-L, fitting >= 0.7) scores against the items'
references. "raw" keeps every candidate in log-probability order (what the
backend showed before); "ranked" is `illume.rank` (filter, then score).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from statistics import mean

from illume import api
from illume.critique import RougeCritic
from illume.items import Candidate, Item, load_items, read_jsonl, write_jsonl
from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.demo_items import DEMO_ITEMS
from illume_bench.fact_errors import fact_error_rate
from illume_bench.zeroshot import repeats_answer

RUNS = Path("runs/real-photos")
VARIANTS = {"prefix": (True, False), "context": (False, True), "both": (True, True)}
"""variant -> (image prefix, image context)."""


def sample(args: argparse.Namespace) -> None:
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM
    from illume.sample import SampleConfig

    items = _items(args.set, args.items, args.limit)
    prefix, context = VARIANTS[args.variant]
    cfg = EmbeddedConfig(image_prefix=prefix, prefix_weights=args.prefix_weights)
    if hasattr(cfg, "image_context"):
        cfg.image_context = context
    elif context:
        raise SystemExit("this code has no image context")
    model = EmbeddedVLM(cfg)
    config = SampleConfig(seed=args.seed)
    if args.prompts:
        config.explanation_prompts = tuple(args.prompts.split(","))
    if hasattr(config, "rank"):
        config.rank = False  # raw candidates: the table ranks them itself
    sampler = api.sampler(model, config)
    start = time.perf_counter()
    rows = [r.to_dict() for r in sampler.sample(items)]
    seconds = time.perf_counter() - start
    name = args.variant + (f"-{args.tag}" if args.tag else "")
    out = RUNS / f"{args.set}-{name}.jsonl"
    write_jsonl(out, rows)
    meta = {"set": args.set, "variant": name, "items": len(items), "seconds": seconds}
    meta["prefix_weights"] = Path(args.prefix_weights).name if prefix else None
    meta["explanation_prompts"] = list(config.explanation_prompts)
    meta["load_average"] = os.getloadavg()[0]
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    print(f"{out}: {len(items)} items, {seconds / len(items):.1f} s/item")


def _items(name: str, path: str | None, limit: int) -> list[Item]:
    """The demo items, or `limit` val items spread evenly over an easy-vqa-x file."""
    if name == "easy-vqa-x" and not path:
        raise SystemExit("--items data/easy-vqa-x/items.jsonl (build it with `illume data`)")
    items, errors = load_items(path or DEMO_ITEMS, split="val" if name == "easy-vqa-x" else None)
    if errors:
        raise SystemExit(f"bad items: {errors[:3]}")
    if limit and len(items) > limit:
        step = len(items) / limit
        items = [items[int(i * step)] for i in range(limit)]
    return items


def measure(items: list[Item], rows: list[dict], mode: str, pairs: list | None = None) -> dict:
    """The figures of one candidates file: "raw" (logprob order), "filtered" (illume.rank's
    filter, logprob order) or "ranked" (filter + score). `pairs` collects (rank, rouge)."""
    critic = RougeCritic()
    annotator = SimulatedAnnotator()
    by_id = {it.id: it for it in items}
    best, fits, top3, top3_rouge, repeats, counts, chosen = [], [], [], [], [], [], []
    annotated, annotated_top3 = [], []
    for row in rows:
        item = by_id[row["id"]]
        cands = [Candidate.from_dict(c) for c in row.get("candidates", [])]
        if mode != "raw":
            from illume.rank import rank_candidates

            cands = rank_candidates(item, cands)
        if mode != "ranked":
            cands.sort(key=lambda c: c.logprob, reverse=True)
        scores = critic.score(item, [c.text for c in cands]) if cands else []
        if pairs is not None and mode == "ranked":
            pairs += [(c.rank, s, item.id) for c, s in zip(cands, scores, strict=True)]
        best.append(max(scores, default=0.0))
        fits.append(best[-1] >= critic.threshold)
        top3 += [s >= critic.threshold for s in scores[:3]]
        verdicts = [annotator.fitting(s) for s in annotator.score(item, [c.text for c in cands])]
        annotated.append(any(verdicts))
        annotated_top3 += verdicts[:3]
        top3_rouge += scores[:3]
        repeats += [repeats_answer(c.text, item.answer) for c in cands]
        counts.append(len(cands))
        if cands:
            chosen.append((cands[0].text, item.facts))
    errors = fact_error_rate(chosen) if any(f for _, f in chosen) else None
    return {
        "items": len(rows),
        "fit_pct": 100 * mean(fits),
        "mean_best_rouge": mean(best),
        "repeat_pct": 100 * mean(repeats) if repeats else 0.0,
        "top3_precision_pct": 100 * mean(top3) if top3 else 0.0,
        "top3_mean_rouge": mean(top3_rouge) if top3_rouge else 0.0,
        "candidates_per_item": mean(counts),
        "min_candidates": min(counts),
        "top1_fact_error_pct": None if errors is None else 100 * errors,
        "annotator_fit_pct": 100 * mean(annotated),
        "annotator_top3_pct": 100 * mean(annotated_top3) if annotated_top3 else 0.0,
    }


def table(args: argparse.Namespace) -> None:
    results, calibration = [], []
    for meta_file in sorted(RUNS.glob("*.json")):
        meta = json.loads(meta_file.read_text())
        rows = list(read_jsonl(meta_file.with_suffix(".jsonl")))
        ids = {r["id"] for r in rows}
        path = args.evqax if meta["set"] == "easy-vqa-x" else None
        items = [it for it in _items(meta["set"], path, 0) if it.id in ids]
        pairs: list = []
        for mode in ("raw", "filtered", "ranked"):
            fig = measure(items, rows, mode, pairs)
            fig.update(
                set=meta["set"],
                variant=meta["variant"],
                candidates=mode,
                s_per_item=meta["seconds"] / meta["items"],
            )
            results.append(fig)
        calibration.append(_calibrate(meta, pairs, len(items)))
    head = (
        "| set | variant | candidates | fit % | mean best R-L | repeats answer % | P@3 % "
        "| top-3 R-L | cands/item (min) | top-1 fact err % | annotator fit % | annotator P@3 % "
        "| s/item |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in results:
        fact = "" if r["top1_fact_error_pct"] is None else f"{r['top1_fact_error_pct']:.1f}"
        lines.append(
            f"| {r['set']} | {r['variant']} | {r['candidates']} | {r['fit_pct']:.1f} "
            f"| {r['mean_best_rouge']:.3f} | {r['repeat_pct']:.1f} | {r['top3_precision_pct']:.1f} "
            f"| {r['top3_mean_rouge']:.3f} "
            f"| {r['candidates_per_item']:.1f} ({r['min_candidates']}) "
            f"| {fact} | {r.get('annotator_fit_pct', 0):.1f} "
            f"| {r.get('annotator_top3_pct', 0):.1f} "
            f"| {r['s_per_item']:.1f} |"
        )
    lines += ["", "| set | variant | min rank | pre-ticks (<= 3/item) | fitting % | items |"]
    lines.append("|" + "---|" * 6)
    for c in calibration:
        for t in c["thresholds"]:
            lines.append(
                f"| {c['set']} | {c['variant']} | {t['min_rank']} | {t['preticks']} "
                f"| {t['fitting_pct']:.1f} | {t['items']} |"
            )
    print("\n".join(lines))
    if args.json:
        out = {"results": results, "pretick_calibration": calibration}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


NLL_VARIANTS = {
    # name: (image prefix, image context, prefix weights: "old" packaged or "new" re-aligned)
    "text only": (False, False, "old"),
    "prefix (old)": (True, False, "old"),
    "prefix (new)": (True, False, "new"),
    "context": (False, True, "old"),
    "both (old)": (True, True, "old"),
    "both (new)": (True, True, "new"),
}


def reference_nll(args: argparse.Namespace) -> None:
    """Mean per-token NLL of the items' reference rationales after the sampling prompt,
    per model variant: how close each variant's distribution is to what a person
    wrote, without sampling (a few forward passes instead of hours of decoding)."""
    import torch
    from safetensors.torch import load_file

    from illume.images import open_image
    from illume.models.embedded.embedded_vlm import DEFAULT_PREFIX_WEIGHTS, EmbeddedVLM
    from illume.models.prompt import Prompt

    model = EmbeddedVLM()
    weights = {"old": load_file(str(DEFAULT_PREFIX_WEIGHTS)), "new": load_file(args.new_prefix)}
    sets = {}
    if "demo" in args.sets:
        sets["demo"] = _items("demo", None, 0)
    if "easy-vqa-x" in args.sets:
        sets["easy-vqa-x"] = _items("easy-vqa-x", args.evqax, args.limit)
    tok = model.tokenizer
    out_path = Path(args.json)
    old = json.loads(out_path.read_text()) if args.append and out_path.exists() else {}
    rows = old.get("rows", [])
    wanted = args.variants.split(",") if args.variants else list(NLL_VARIANTS)
    for name in wanted:
        prefix, context, which = NLL_VARIANTS[name]
        model.config.image_prefix, model.config.image_context = prefix, context
        model.prefix.load_state_dict(weights[which])
        for set_name, items in sets.items():
            total, count = 0.0, 0
            for it in items:
                refs = [" " + r for r in it.explanations]
                ids = [
                    tok(r, add_special_tokens=False).input_ids + [tok.eos_token_id] for r in refs
                ]
                image = open_image(it.image)
                prompts = [Prompt(it.question, it.answer, "because")] * len(refs)
                with torch.no_grad():
                    nll, _ = model.target_nll([image] * len(refs), prompts, ids)
                total += float(nll.sum())
                count += sum(len(i) for i in ids)
            rows.append(
                {
                    "set": set_name,
                    "variant": name,
                    "items": len(items),
                    "tokens": count,
                    "nll_per_token": total / count,
                }
            )
            print(f"{set_name:11} {name:14} {total / count:.3f} nats/token ({count} tokens)")
            loads = [*old.get("load_averages", []), os.getloadavg()[0]]  # after every row
            out = {"new_prefix": Path(args.new_prefix).name, "load_averages": loads, "rows": rows}
            out_path.write_text(json.dumps(out, indent=2) + "\n")


def _calibrate(meta: dict, pairs: list, n_items: int) -> dict:
    """What each pre-tick threshold would tick: the 3 best ranked per item at or above it."""
    rows = []
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.75):
        per_item: dict[str, list[float]] = {}
        for rank, rouge, item_id in pairs:  # best ranked first within an item
            if rank >= t and len(per_item.setdefault(item_id, [])) < 3:
                per_item[item_id].append(rouge)
        ticked = [r for v in per_item.values() for r in v]
        rows.append(
            {
                "min_rank": t,
                "preticks": len(ticked),
                "fitting_pct": 100 * mean(r >= 0.7 for r in ticked) if ticked else 0.0,
                "items": sum(1 for v in per_item.values() if v),
            }
        )
    return {"set": meta["set"], "variant": meta["variant"], "items": n_items, "thresholds": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="sample raw candidates for one set and variant")
    s.add_argument("--set", choices=("demo", "easy-vqa-x"), default="demo")
    s.add_argument("--variant", choices=tuple(VARIANTS), default="both")
    s.add_argument("--items", help="items file (the demo set by default)")
    s.add_argument("--limit", type=int, default=0, help="first N items only")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--prefix-weights", default="packaged", help="aligned prefix weights file")
    s.add_argument("--prompts", help="explanation prompts, comma-separated")
    s.add_argument("--tag", help="suffix of the variant's name in the table (e.g. old-prefix)")
    t = sub.add_parser("table", help="the table of every sampled run")
    t.add_argument("--evqax", default="data/easy-vqa-x/items.jsonl")
    t.add_argument("--json", help="also write the figures as JSON here")
    n = sub.add_parser("nll", help="reference NLL per variant (old vs new prefix, context)")
    n.add_argument("--new-prefix", required=True, help="the re-aligned prefix weights")
    n.add_argument("--evqax", default="data/easy-vqa-x/items.jsonl", help="its val items")
    n.add_argument("--sets", default="demo,easy-vqa-x", help="demo, easy-vqa-x or both")
    n.add_argument("--variants", help="comma-separated names of NLL_VARIANTS (default: all)")
    n.add_argument("--append", action="store_true", help="add the rows to an existing JSON")
    n.add_argument("--limit", type=int, default=12)
    n.add_argument("--json", default="docs/results/real-photos-nll.json")
    args = ap.parse_args()
    {"sample": sample, "table": table, "nll": reference_nll}[args.cmd](args)


if __name__ == "__main__":
    main()
