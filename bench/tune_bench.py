"""Tuning benchmark: our DeepSpeed adapter step against HF Trainer + PEFT LoRA.

Same embedded model, same examples (X^E + X^A from easy-vqa-x), same global
batch and number of steps. Each method runs in its own process so that peak
memory is its own. Prints tokens/s and peak memory side by side:

    python bench/tune_bench.py --items data/easy-vqa-x/items.jsonl --steps 6
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from illume.items import load_items
from illume.tune import TuneConfig, build_examples, load_images, target_ids


def examples_for(items_path: str, n_exp: int, config: TuneConfig):
    items, _ = load_items(items_path, split="train")
    items = items[: n_exp * 12]
    explained = [(it, it.explanations[0]) for it in items[:n_exp]]
    return build_examples(explained, items, config)


def peak_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(args, config: TuneConfig) -> dict:
    from illume.models import load_model
    from training.trainer import train

    exp, vqa, b = examples_for(args.items, args.n_exp, config)
    model = load_model()
    start = time.perf_counter()
    result = train(model, exp, vqa, b, [], config, progress=False)
    return {
        "tokens_per_s": result.tokens_per_s,
        "seconds": time.perf_counter() - start,
        "steps": len(result.losses),
    }


def run_hf_lora(args, config: TuneConfig) -> dict:
    from peft import LoraConfig, get_peft_model
    from torch.utils.data import Dataset
    from transformers import Trainer, TrainingArguments

    from illume.models.adapters import AdapterConfig
    from illume.models.embedded.model import EmbeddedConfig, EmbeddedVLM

    exp, vqa, _ = examples_for(args.items, args.n_exp, config)
    examples = (exp + vqa)[: config.batch_size * args.steps]
    model = EmbeddedVLM(EmbeddedConfig(adapters=AdapterConfig(attention=False, mlp=False)))
    images = load_images(examples)
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    peft_lm = get_peft_model(model.lm, lora)
    counted = {"tokens": 0}

    class Rows(Dataset):
        def __len__(self):
            return len(examples)

        def __getitem__(self, i):
            return examples[i]

    def collator(batch):
        with torch.no_grad():
            embeds, mask, labels = model.training_batch(
                [images[ex.item.image] for ex in batch],
                [ex.prompt for ex in batch],
                target_ids(model.tokenizer, batch, config),
            )
        counted["tokens"] += int(mask.sum())
        return {"inputs_embeds": embeds, "attention_mask": mask, "labels": labels}

    targs = TrainingArguments(
        output_dir=str(args.tmp),
        per_device_train_batch_size=config.batch_size,
        max_steps=args.steps,
        learning_rate=config.lr,
        report_to=[],
        save_strategy="no",
        logging_steps=10**6,
        remove_unused_columns=False,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=peft_lm, args=targs, train_dataset=Rows(), data_collator=collator)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return {"tokens_per_s": counted["tokens"] / seconds, "seconds": seconds, "steps": args.steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--method", choices=["ours", "hf-lora"], help="(internal) run one method")
    ap.add_argument("--tmp", default="runs/tune-bench")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    args.n_exp = max(1, args.steps * args.batch_size // 11)
    config = TuneConfig(epochs=1, batch_size=args.batch_size, val_items=0)
    if args.method:
        run = run_ours if args.method == "ours" else run_hf_lora
        out = run(args, config)
        out["peak_memory_mb"] = peak_mb()
        print("RESULT " + json.dumps(out))
        return
    rows = {}
    for method in ("ours", "hf-lora"):
        cmd = [
            sys.executable,
            __file__,
            "--method",
            method,
            "--items",
            args.items,
            "--steps",
            str(args.steps),
            "--batch-size",
            str(args.batch_size),
            "--tmp",
            args.tmp,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        rows[method] = json.loads(line[7:])
    print(f"{'method':<36}{'steps':>6}{'tokens/s':>10}{'peak MB':>10}")
    for name, label in (
        ("ours", "ours: DeepSpeed ZeRO-2, bottleneck"),
        ("hf-lora", "HF Trainer + PEFT LoRA (r=16)"),
    ):
        r = rows[name]
        print(f"{label:<36}{r['steps']:>6}{r['tokens_per_s']:>10.0f}{r['peak_memory_mb']:>10.0f}")
    ratio = rows["ours"]["tokens_per_s"] / rows["hf-lora"]["tokens_per_s"]
    print(f"throughput ratio ours / HF+LoRA: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
