"""Seconds per demo photo with no worked examples, with them cached, and with them re-read.

One process, one model, the three modes in turn on the same items (the product's default
sampling, top-up included), so load on the machine hits all three alike; `--repeats` runs
the three again to show the spread, `--order` changes who goes first (the first pays the
warm-up); rows are added to the JSON:

    PYTHONPATH=. python bench/examples_timing.py --items 6 --json docs/results/examples-timing.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from illume import api
from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM
from illume_bench.data.demo_items import demo_items


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--order", default="none,cached,uncached")
    ap.add_argument("--json", default="docs/results/examples-timing.json")
    args = ap.parse_args(argv)
    model = EmbeddedVLM(EmbeddedConfig())
    items = demo_items()[: args.items]
    counter = itertools.count()
    cached_key = model._tuned_key
    rows = []
    for rep in range(args.repeats):
        for mode in args.order.split(","):
            model.config = replace(model.config, examples="none" if mode == "none" else "auto")
            # uncached: a new key every prefill, so the examples are encoded again each time
            model._tuned_key = (lambda: next(counter)) if mode == "uncached" else cached_key
            sampler = api.sampler(model, api.SampleConfig())
            start = time.perf_counter()
            list(sampler.sample(items, progress=False))
            s = (time.perf_counter() - start) / len(items)
            rows.append(
                {
                    "repeat": rep,
                    "mode": mode,
                    "s_per_item": round(s, 2),
                    "rows_drawn": sampler.rows_drawn,
                    "load": os.getloadavg()[0],
                }
            )
            print(rows[-1], flush=True)
    old = json.loads(Path(args.json).read_text())["rows"] if Path(args.json).exists() else []
    meta = {"items": len(items), "cpus": os.cpu_count()}
    Path(args.json).write_text(json.dumps({**meta, "rows": old + rows}, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
