"""Sampling benchmark: our jabber sampler against two `generate` baselines.

Same model, same items, same settings (top-k = 10% of the vocabulary, then
temperature; n samples at each of 5 temperatures; stop at the end of a
sentence), in one run:

  ours  one prefill per item, all temperatures in one batch, items batched
  (a)   one `generate` call per sample
  (b)   one `generate` call per temperature, num_return_sequences = n

Prints seconds, candidates per second and the ratios. Run:

    python bench/sample_bench.py --items 16
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from illume import api
from illume.images import open_image
from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM
from illume.sample import SampleConfig, Sampler
from illume_bench.data.demo_items import demo_items


def generate_baseline(model: EmbeddedVLM, sampler: Sampler, items, per_call: int) -> float:
    """Time HF generate with `per_call` sequences per call (1 = baseline a, n = baseline b)."""
    cfg = sampler.config
    stop_ids = sampler.stop.nonzero().squeeze(1).tolist()
    start = time.perf_counter()
    for item in items:
        image = open_image(item.image)
        prompt = cfg.prompts_for(item)[0]
        ids = model.prompt_ids([prompt])[0]
        for temp in cfg.temperatures:
            for _ in range(cfg.n_per_temperature // per_call):
                with torch.no_grad():
                    embeds, mask = model.embed([image], [ids])
                    model.lm.generate(
                        inputs_embeds=embeds,
                        attention_mask=mask,
                        do_sample=True,
                        top_k=sampler.top_k,
                        top_p=1.0,
                        temperature=temp,
                        num_return_sequences=per_call,
                        max_new_tokens=cfg.max_new_tokens,
                        min_new_tokens=cfg.min_new_tokens,
                        eos_token_id=stop_ids,
                        pad_token_id=model.tokenizer.eos_token_id,
                    )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=16)
    ap.add_argument("--skip-a", action="store_true", help="skip the slowest baseline (a)")
    ap.add_argument(
        "--a-items", type=int, help="time (a) on this many items and scale per item (it is slow)"
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    items = (demo_items() * 4)[: args.items]
    model = EmbeddedVLM(EmbeddedConfig())
    cfg = SampleConfig(batch_items=args.items, top_up_rounds=0)  # exactly 25, as (a), (b)
    sampler = api.sampler(model, cfg)
    n_cand = len(items) * len(cfg.temperatures) * cfg.n_per_temperature

    list(sampler.sample(items[:2], progress=False))  # warm-up
    start = time.perf_counter()
    list(sampler.sample(items, progress=False))
    ours = time.perf_counter() - start
    b = generate_baseline(model, sampler, items, per_call=cfg.n_per_temperature)
    a = None
    if not args.skip_a:
        a_items = items[: args.a_items] if args.a_items else items
        a = generate_baseline(model, sampler, a_items, per_call=1) * len(items) / len(a_items)

    figures = {
        "items": len(items),
        "candidates": n_cand,
        "threads": torch.get_num_threads(),
        "ours_s": round(ours, 2),
        "b_per_temperature_s": round(b, 2),
        "a_per_sample_s": None if a is None else round(a, 2),
        "a_timed_on_items": args.a_items or len(items),
        "speedup_vs_b": round(b / ours, 2),
        "speedup_vs_a": None if a is None else round(a / ours, 2),
    }
    print(f"{'method':<40}{'seconds':>10}{'cand/s':>10}{'ratio':>8}")
    print(f"{'ours (shared prefill, one batch)':<40}{ours:>10.2f}{n_cand / ours:>10.1f}{1:>8.2f}")
    print(
        f"{'(b) generate per temperature, n seqs':<40}{b:>10.2f}{n_cand / b:>10.1f}{b / ours:>8.2f}"
    )
    if a is not None:
        label = "(a) generate per sample" + (
            f" (x{len(items)}/{args.a_items})" if args.a_items else ""
        )
        print(f"{label:<40}{a:>10.2f}{n_cand / a:>10.1f}{a / ours:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
