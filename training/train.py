"""Entry point of one tuning round; what `illume tune` and the launchers run.

    python -m training.train --items ITEMS --feedback FEEDBACK --versions DIR [--base DIR]
    deepspeed --num_gpus 8 -m training.train ...      (GPUs)
    torchrun --nproc_per_node 2 -m training.train ... (CPU ranks)

FEEDBACK is JSONL of {"id": item id, "text": fitting rationale}: the whole
X^E so far. On success rank 0 publishes the next version under DIR
atomically; on any failure nothing is published and the exit code is not 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from illume.items import Item, load_items, read_jsonl
from illume.models import ModelChoice
from illume.tune import TuneConfig, build_examples

log = logging.getLogger("illume.tune")


def read_feedback(path: str, items: dict[str, Item]) -> list[tuple[Item, str]]:
    """(item, rationale) pairs for known items; unknown ids are reported, not fatal."""
    pairs, unknown = [], 0
    for row in read_jsonl(path):
        item = items.get(str(row.get("id")))
        text = row.get("text")
        if item is None or not isinstance(text, str):
            unknown += 1
            continue
        pairs.append((item, text))
    if unknown:
        log.warning("%d feedback lines skipped (unknown item id or no text)", unknown)
    return pairs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = TuneConfig()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", required=True)
    ap.add_argument("--feedback", required=True)
    ap.add_argument("--versions", required=True, help="folder of versions (v0001, ...)")
    ap.add_argument("--base", help="version to start from (default: zero-shot adapters)")
    ap.add_argument("--train-split", default="train", help="items that feed X^A (all: 'all')")
    ap.add_argument("--val-split", default="val")
    ModelChoice.add_arguments(ap)
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--vqa-ratio", type=float, default=d.vqa_ratio)
    ap.add_argument("--val-items", type=int, default=d.val_items)
    ap.add_argument("--explanation-prompt", default=d.explanation_prompt)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--ds-config", help="DeepSpeed JSON (default: training/ds_config*.json)")
    ap.add_argument("--metrics-extra", default="{}", help="JSON merged into metrics.json")
    ap.add_argument("--local_rank", "--local-rank", type=int, default=0)
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from illume.models import load_model
    from illume.versions import clean_partial, publish
    from training.trainer import train

    config = TuneConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        vqa_ratio=args.vqa_ratio,
        val_items=args.val_items,
        explanation_prompt=args.explanation_prompt,
        seed=args.seed,
    )
    items, errors = load_items(args.items)
    if errors:
        log.warning("%d items skipped: %s", len(errors), errors[:3])
    by_id = {it.id: it for it in items}
    explained = read_feedback(args.feedback, by_id)
    if not explained:
        raise ValueError("no fitting rationales in the feedback: nothing to tune on")
    pool = (
        items if args.train_split == "all" else [it for it in items if it.split == args.train_split]
    )
    val = [it for it in items if it.split == args.val_split and it.explanations][: config.val_items]
    exp, vqa, b = build_examples(explained, pool, config)

    model = load_model(ModelChoice.from_args(args), args.base)
    result = train(model, exp, vqa, b, val, config, args.ds_config)
    if dist.get_rank() == 0:
        clean_partial(args.versions)
        metrics = {
            "base": model.version,
            "n_exp": len(exp),
            "n_vqa": len(vqa),
            "b": b,
            "config": dataclasses.asdict(config),
            **dataclasses.asdict(result),
            **json.loads(args.metrics_extra),
        }
        manifest = [{"kind": ex.kind, "id": ex.item.id, "text": ex.target.strip()} for ex in exp]
        manifest += [{"kind": "vqa", "id": ex.item.id} for ex in vqa]
        path = publish(model, args.versions, metrics, manifest)
        log.info("published %s (best epoch %d)", path, result.best_epoch + 1)
        print(path)
    dist.barrier()
    dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return run(parse_args(argv))
    except (ValueError, FileNotFoundError) as e:
        log.error("tuning failed: %s", e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
