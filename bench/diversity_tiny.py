"""The diversity check of tests/training/test_diversity.py as figures: the tiny word model
tuned on two near-identical rationales with the collapse guard off (3 epochs) and on
(`epochs_for`: 1 epoch), then its unresolved items sampled without a top-up, with the old
top-up (2 rounds at T = 0.6/0.9, own prompt) and with today's. Seconds, not minutes.

    PYTHONPATH=. python bench/diversity_tiny.py --json docs/results/diversity-tiny.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from statistics import mean

import torch
from PIL import Image

from illume import api
from illume.items import Item
from illume.sample import SampleConfig
from illume.testing.tiny_lm import build_wordy_lm
from illume.tune import TuneConfig, epochs_for
from training.testing import tune_on_two


def main() -> None:
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", default="docs/results/diversity-tiny.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="diversity-tiny-"))
    lm = build_wordy_lm(tmp)
    Image.new("RGB", (16, 16), "red").save(tmp / "red.png")
    shapes = ["circle", "square", "triangle", "circle"]
    items = [
        Item(f"i{k}", str(tmp / "red.png"), f"what shape is item {k}?", s)
        for k, s in enumerate(shapes)
    ]
    sample = SampleConfig(n_per_temperature=1, max_new_tokens=6)
    samplers = {
        "no top-up": replace(sample, top_up_rounds=0),
        "old top-up": replace(
            sample, top_up_rounds=2, top_up_temperatures=(0.6, 0.9), top_up_prompts=()
        ),
        "new top-up": sample,
    }
    base = TuneConfig(steps=0, epochs=3, batch_size=2, lr=3e-2, vqa_ratio=0)
    rounds = {
        "base": None,
        "tuned, no guard": replace(base, min_rationales_per_epoch=0),
        "tuned, guard": replace(base, min_rationales_per_epoch=16),
    }
    cells = {}
    for rname, config in rounds.items():
        torch.manual_seed(0)
        model = EmbeddedVLM(
            EmbeddedConfig(lm=str(lm), encoder="tiny", prefix_weights=None, image_context=False)
        )
        if config is not None:
            tune_on_two(model, items, config)
        for sname, sconfig in samplers.items():
            sampler = api.sampler(model, sconfig)
            started = time.perf_counter()
            results = list(sampler.sample(items[1:], progress=False))
            seconds = time.perf_counter() - started
            counts = [len(r.candidates) for r in results]
            cells[f"{rname} / {sname}"] = {
                "epochs": None if config is None else epochs_for(config, 2),
                "distinct_per_item": counts,
                "mean_distinct": round(mean(counts), 2),
                "samples_per_item": round(sampler.rows_drawn / len(results), 1),
                "s_per_item": round(seconds / len(results), 2),
            }
            print(f"{rname + ' / ' + sname:34s} {cells[f'{rname} / {sname}']}")
    report = {
        "what": "distinct kept candidates per unresolved item (3 items), tiny word model, "
        "before and after a round on 2 near-identical rationales",
        "cells": cells,
        "machine": f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f} at the end",
    }
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {args.json}")


if __name__ == "__main__":
    main()
