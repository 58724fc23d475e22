"""Tuning benchmark: our DeepSpeed adapter step against HF Trainer + PEFT LoRA.

Same embedded model, the same `batch_size x steps` examples (X^E + X^A from
easy-vqa-x), the same global batch and exactly the same number of optimiser
steps. The timer has the same scope on both sides: the steps themselves
(building each batch's embeddings, forward, backward, optimiser step), summed;
setup (DeepSpeed's initialize, HF Trainer's preparation inside `train()`) is
outside it on both. Each method runs in its own process so that peak memory
is its own. Prints tokens/s and peak memory side by side:

    python bench/tune_bench.py --items data/easy-vqa-x/items.jsonl --steps 6 --json F
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from illume.items import load_items
from illume.tune import TuneConfig, build_examples, load_images, target_ids


def examples_for(items_path: str, steps: int, config: TuneConfig):
    """Exactly `batch_size * steps` examples, about one rationale per 10 answers."""
    n = config.batch_size * steps
    n_exp = max(1, n // 11)
    items, _ = load_items(items_path, split="train")
    items = items[: n_exp * 12]
    explained = [(it, it.explanations[0]) for it in items[:n_exp]]
    exp, vqa, b = build_examples(explained, items, config)
    vqa = vqa[: n - len(exp)]
    if len(exp) + len(vqa) != n:
        raise SystemExit(f"{items_path}: too few train items for {steps} steps of {n // steps}")
    return exp, vqa, b


def peak_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(args, config: TuneConfig) -> dict:
    from illume.models import load_model
    from training.trainer import train

    exp, vqa, b = examples_for(args.items, args.steps, config)
    model = load_model()
    result = train(model, exp, vqa, b, [], config, progress=False)
    # the trainer times each step (batch building included), not DeepSpeed's setup
    tokens = result.tokens_per_s * result.step_seconds
    return {
        "tokens_per_s": result.tokens_per_s,
        "step_seconds": result.step_seconds,
        "tokens": round(tokens),
        "steps": len(result.losses),
    }


def run_hf_lora(args, config: TuneConfig) -> dict:
    from peft import LoraConfig, get_peft_model
    from torch.utils.data import Dataset
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from illume.models.adapters import AdapterConfig
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

    exp, vqa, _ = examples_for(args.items, args.steps, config)
    examples = exp + vqa
    model = EmbeddedVLM(EmbeddedConfig(adapters=AdapterConfig(attention=False, mlp=False)))
    images = load_images(examples)
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    peft_lm = get_peft_model(model.lm, lora)
    counted = {"tokens": 0, "seconds": 0.0, "steps": 0}

    class Rows(Dataset):
        def __len__(self):
            return len(examples)

        def __getitem__(self, i):
            return examples[i]

    def collator(batch):  # batch building: inside our trainer's step timer, so inside this one
        start = time.perf_counter()
        with torch.no_grad():
            embeds, mask, labels = model.training_batch(
                [images[ex.item.image] for ex in batch],
                [ex.prompt for ex in batch],
                target_ids(model.tokenizer, batch, config),
            )
        counted["tokens"] += int(mask.sum())
        counted["seconds"] += time.perf_counter() - start
        return {"inputs_embeds": embeds, "attention_mask": mask, "labels": labels}

    class StepTimer(TrainerCallback):
        """Forward, backward and optimiser step of each step; not train()'s setup."""

        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            counted["seconds"] += time.perf_counter() - self.start
            counted["steps"] += 1

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
    trainer = Trainer(
        model=peft_lm,
        args=targs,
        train_dataset=Rows(),
        data_collator=collator,
        callbacks=[StepTimer()],
    )
    trainer.train()
    return {
        "tokens_per_s": counted["tokens"] / counted["seconds"],
        "step_seconds": counted["seconds"],
        "tokens": counted["tokens"],
        "steps": counted["steps"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--method", choices=["ours", "hf-lora"], help="(internal) run one method")
    ap.add_argument("--tmp", default="runs/tune-bench")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    if not Path(args.items).is_file():
        raise SystemExit(
            f"{args.items} not found: build it first with "
            "`illume data easy-vqa-x --out data/easy-vqa-x` (or pass --items)"
        )
    config = TuneConfig(steps=0, epochs=1, batch_size=args.batch_size, val_items=0)
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
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SystemExit(f"{method} failed (exit {proc.returncode}): {tail}")
        rows[method] = json.loads(line[7:])
    print(f"{'method':<36}{'steps':>6}{'tokens/s':>10}{'peak MB':>10}")
    for name, label in (
        ("ours", "ours: DeepSpeed ZeRO-2, bottleneck"),
        ("hf-lora", "HF Trainer + PEFT LoRA (r=16)"),
    ):
        r = rows[name]
        print(f"{label:<36}{r['steps']:>6}{r['tokens_per_s']:>10.0f}{r['peak_memory_mb']:>10.0f}")
    if rows["ours"]["steps"] != rows["hf-lora"]["steps"]:
        raise SystemExit(f"unequal step counts: {rows}")
    ratio = rows["ours"]["tokens_per_s"] / rows["hf-lora"]["tokens_per_s"]
    print(f"throughput ratio ours / HF+LoRA: {ratio:.2f}")
    if args.json:
        meta = {"steps": args.steps, "batch_size": args.batch_size, "items": args.items}
        meta["timer"] = "sum of per-step times incl. batch building; setup excluded on both"
        with open(args.json, "w") as f:
            json.dump({**rows, "config": meta}, f, indent=2)


if __name__ == "__main__":
    main()
