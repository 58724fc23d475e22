"""GPU check: one ILLUME round of the embedded model with bf16 and ZeRO-2 on a GPU.

For a session lent a GPU (the device has no network: carry the venv or wheels).
Builds a small easy-vqa-x slice, runs round 0 (zero-shot sampling + critic)
and round 1 (tuning on the DeepSpeed engine with training/ds_config_gpu.json,
picked automatically when CUDA is visible), and prints sampling and tuning
throughput and peak GPU memory. Sized to finish within 10 minutes on an H100.

    python bench/gpu_round.py --out runs/gpu-round
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from illume.sample import SampleConfig
from illume.tune import TuneConfig
from illume_bench.data.easyvqa import build_easy_vqa_x
from illume_bench.loop import LoopConfig, run_loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="runs/gpu-round")
    ap.add_argument("--train", type=int, default=256)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible: this check is for a GPU machine")
    out = Path(args.out)
    data = out / "data"
    if not (data / "items.jsonl").exists():
        build_easy_vqa_x(data, max_train=args.train, max_val=32, max_test=32)
    config = LoopConfig(
        rounds=1,
        tune=TuneConfig(steps=0, epochs=1, batch_size=32, val_items=16),
        saturation=0.0,
        sample=SampleConfig(batch_items=32, explanation_prompts=("because",)),
    )
    start = time.perf_counter()
    report = run_loop(data / "items.jsonl", out / "run", config)
    wall = time.perf_counter() - start
    version = out / "run" / "versions" / "illume" / "v0001" / "metrics.json"
    metrics = json.loads(version.read_text()) if version.exists() else {}
    figures = {
        "device": torch.cuda.get_device_name(0),
        "wall_s": round(wall, 1),
        "tune_tokens_per_s": round(metrics.get("tokens_per_s", 0.0)),
        "tune_peak_memory_mb": round(metrics.get("peak_memory_mb", 0.0)),
        "rounds": [(r["round"], r["val"].get("ROUGE_L"), r["rv_pct"]) for r in report["rounds"]],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
