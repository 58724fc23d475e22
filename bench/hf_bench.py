"""Hugging Face family throughput: jabber sampling and PEFT tuning, tokens per second.

Builds a model from a config (no network: `--arch`, `--size tiny|mid`) or
takes any `--model hf:<hub id or folder>`, then measures on the demo photos:

  sampling  our sampler (shared prefill, all temperatures in one batch) against
            HF `generate` with one call per temperature (num_return_sequences=n)
  tuning    steps of the DeepSpeed trainer on X^E + X^A with the chosen --peft

and prints the figures (also as JSON with --json). On a GPU, bf16 is used:

    python bench/hf_bench.py --arch llava --size mid --dtype bfloat16 --json runs/hf-bench.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from illume import api
from illume.images import open_image
from illume.models import ModelChoice, load_model
from illume.sample import SampleConfig
from illume.testing.tiny_vlms import ARCHS, build
from illume.tune import TuneConfig, build_examples
from illume_bench.data.demo_items import demo_items


def sampled_tokens(model, texts: list[str]) -> int:
    return sum(len(model.tokenizer(t, add_special_tokens=False).input_ids) + 1 for t in texts)


def bench_sampling(model, items, config: SampleConfig) -> dict:
    sampler = api.sampler(model, config)
    start = time.perf_counter()
    results = list(sampler.sample(items, progress=False))
    seconds = time.perf_counter() - start
    texts = [c.text for r in results for c in r.candidates]
    return {"seconds": seconds, "candidates": len(texts), "tokens": sampled_tokens(model, texts)}


def bench_generate(model, items, config: SampleConfig, stop_ids: list[int], top_k: int) -> dict:
    """HF generate, one call per (item, temperature) with n return sequences: baseline (b)."""
    start, texts = time.perf_counter(), []
    for item in items:
        prompt = config.prompts_for(item)[0]
        inputs = model._encode([open_image(item.image)], [prompt])
        for temp in config.temperatures:
            with torch.no_grad():
                out = model.vlm.generate(
                    **inputs,
                    do_sample=True,
                    top_k=top_k,
                    top_p=1.0,
                    temperature=max(temp, 1e-2),
                    num_return_sequences=config.n_per_temperature,
                    max_new_tokens=config.max_new_tokens,
                    eos_token_id=stop_ids,
                    pad_token_id=model.tokenizer.pad_token_id,
                )
            new = out[:, inputs["input_ids"].shape[1] :]
            texts += model.tokenizer.batch_decode(new, skip_special_tokens=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "candidates": len(texts)}


def bench_tuning(model, items, steps: int, batch: int) -> dict:
    from training.trainer import train

    explained = [(it, it.explanations[0]) for it in items if it.explanations]
    config = TuneConfig(steps=0, epochs=1, batch_size=batch, val_items=0, vqa_ratio=10.0)
    exp, vqa, b = build_examples(explained, items, config)
    examples = (exp + vqa) * (1 + steps * batch // max(1, len(exp + vqa)))
    exp, vqa = [e for e in examples if e.kind == "exp"], [e for e in examples if e.kind == "vqa"]
    start = time.perf_counter()
    result = train(model, exp[: steps * batch], vqa[: steps * batch], b, [], config, progress=False)
    return {
        "seconds": time.perf_counter() - start,
        "steps": len(result.losses),
        "tokens_per_s": result.tokens_per_s,
        "peak_memory_mb": result.peak_memory_mb,
        "first_loss": result.losses[0],
        "last_loss": result.losses[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--arch", choices=ARCHS, default="llava")
    ap.add_argument("--size", choices=["tiny", "mid"], default="tiny")
    ap.add_argument("--model", help="hf:<hub id or folder> instead of a built one")
    ap.add_argument("--peft", default="lora", choices=["lora", "prompt", "adapters"])
    ap.add_argument("--dtype")
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", default="runs/hf-bench")
    ap.add_argument("--json")
    args = ap.parse_args()
    spec = args.model
    if not spec:
        folder = Path(args.workdir) / f"{args.arch}-{args.size}"
        if not (folder / "config.json").exists():
            build(args.arch, folder, args.size)
        spec = f"hf:{folder}"
    model = load_model(ModelChoice(model=spec, peft=args.peft, dtype=args.dtype))
    items = demo_items()[: args.items]
    cfg = SampleConfig(batch_items=args.items, top_up_rounds=0)
    sampler = api.sampler(model, cfg)
    stop_ids = sampler.stop.nonzero().squeeze(1).tolist()
    ours = bench_sampling(model, items, cfg)
    base = bench_generate(model, items, cfg, stop_ids, sampler.top_k)
    tune = bench_tuning(model, items, args.steps, args.batch_size)
    params = sum(p.numel() for p in model.vlm.parameters())
    figures = {
        "model": spec,
        "parameters_m": round(params / 1e6, 1),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "dtype": str(model.vlm.dtype),
        "peft": args.peft,
        "sampling": ours,
        "sampling_tokens_per_s": ours["tokens"] / ours["seconds"],
        "generate_baseline": base,
        "sampling_speedup_vs_generate": base["seconds"] / ours["seconds"],
        "tuning": tune,
    }
    print(
        f"{figures['model']} ({figures['parameters_m']}M, {figures['dtype']}, {figures['device']})"
    )
    print(
        f"sampling: {ours['candidates']} candidates in {ours['seconds']:.1f} s, "
        f"{figures['sampling_tokens_per_s']:.0f} tokens/s; HF generate per temperature "
        f"{base['seconds']:.1f} s -> ours {figures['sampling_speedup_vs_generate']:.1f}x"
    )
    print(
        f"tuning ({args.peft}): {tune['steps']} steps, {tune['tokens_per_s']:.0f} tokens/s, "
        f"loss {tune['first_loss']:.3f} -> {tune['last_loss']:.3f}, "
        f"peak {tune['peak_memory_mb']:.0f} MB"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
