"""Entry point of one tuning round; what `illume tune` and the launchers run.

    python -m training.train --items ITEMS --rationales RATIONALES --versions DIR [--base DIR]
    deepspeed --num_gpus 8 --module training.train ...   (GPUs)
    torchrun --nproc_per_node 2 -m training.train ... (CPU ranks)
    deepspeed --hostfile HOSTFILE --module training.train ...  (several nodes)

FEEDBACK is JSONL of {"id": item id, "text": fitting rationale}: the whole
X^E so far. With --objective dpo or sft+dpo, --pairs PAIRS is JSONL of
{"id", "chosen", "rejected"}: a fitting and a rejected rationale of the same
item (illume.pairs); the base version is the DPO reference. With
--progress FILE rank 0 appends a JSON record per step and per epoch there
(epoch, step, loss, tokens/s: illume.tuneprogress). On success
rank 0 publishes the next version under DIR atomically, prints its path
and, with --result FILE, writes it there as JSON (what a parent reads); on
any failure nothing is published and the exit code is not 0. Every flag
comes from a dataclass (illume.tunejob.TuneJob, illume.tune.TuneConfig,
illume.models.ModelChoice): `--help` lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

from illume.configargs import add_arguments, from_args
from illume.dpo import PairExamples, pair_examples
from illume.items import Item, load_items, read_jsonl
from illume.models import ModelChoice
from illume.pairs import read_pairs
from illume.tune import TuneConfig, build_examples
from illume.tunejob import TuneJob, write_result
from illume.tuneprogress import ProgressWriter

log = logging.getLogger("illume.tune")


def read_rationales(path: str, items: dict[str, Item]) -> list[tuple[Item, str]]:
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
        log.warning("%d rationale lines skipped (unknown item id or no text)", unknown)
    return pairs


def load_pairs(job: TuneJob, config: TuneConfig, items: dict[str, Item]) -> list[PairExamples]:
    """The preference pairs the objective uses (none for sft); ValueError when dpo has none."""
    if not config.uses_dpo:
        if job.pairs:
            log.warning("objective %s: the pairs in %s are not used", config.objective, job.pairs)
        return []
    pairs, skipped = read_pairs(read_jsonl(job.pairs), items) if job.pairs else ([], 0)
    if skipped:
        log.warning("%d pair lines skipped (unknown item id, blank or equal texts)", skipped)
    if not pairs:
        if config.objective == "dpo":
            raise ValueError("objective dpo but no (fitting, rejected) pairs: nothing to tune on")
        log.warning("objective sft+dpo without pairs: this round tunes sft only")
    return pair_examples(pairs, config)


def _rank() -> int:
    """This process's global rank as the launcher set it (0 when run alone)."""
    return int(os.environ.get("RANK", "0"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags generated from TuneJob, TuneConfig and ModelChoice (what the parents emit)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(ap.add_argument_group("job"), TuneJob)
    add_arguments(ap.add_argument_group("tuning"), TuneConfig)
    ModelChoice.add_arguments(ap.add_argument_group("model"))
    ap.add_argument("--local_rank", "--local-rank", type=int, default=0, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from illume.models import load_model
    from illume.versions import clean_partial, publish
    from training.trainer import train

    job = from_args(TuneJob, args)
    config = from_args(TuneConfig, args)
    items, errors = load_items(job.items)
    if errors:
        log.warning("%d items skipped: %s", len(errors), errors[:3])
    by_id = {it.id: it for it in items}
    explained = read_rationales(job.rationales, by_id)
    if not explained and config.uses_sft:
        raise ValueError("no fitting rationales in the rationales file: nothing to tune on")
    pairs = load_pairs(job, config, by_id)
    split = config.train_split
    pool = items if split == "all" else [it for it in items if it.split == split]
    val = [it for it in items if it.split == config.val_split and it.explanations]
    exp, vqa, b = build_examples(explained, pool, config)
    if not config.uses_sft:  # dpo alone: the manifest lists only what the model is tuned on
        exp, vqa = [], []

    model = load_model(ModelChoice.from_args(args), job.base)
    # rank 0 alone reports: every rank sees the same (all-reduced) figures
    writer = ProgressWriter(job.progress) if job.progress and _rank() == 0 else None
    try:
        result = train(
            model,
            exp,
            vqa,
            b,
            val[: config.val_items],
            config,
            job.ds_config,
            pairs=pairs,
            on_step=writer,
        )
    finally:
        if writer:
            writer.close()
    if dist.get_rank() == 0:
        clean_partial(job.versions)
        metrics = {
            "base": model.version,
            "n_exp": len(exp),
            "n_vqa": len(vqa),
            "b": b,
            "n_pairs": len(pairs),
            "world_size": dist.get_world_size(),
            "config": dataclasses.asdict(config),
            **dataclasses.asdict(result),
            **json.loads(job.metrics_extra),
        }
        manifest = [{"kind": ex.kind, "id": ex.item.id, "text": ex.target.strip()} for ex in exp]
        manifest += [{"kind": "vqa", "id": ex.item.id} for ex in vqa]
        manifest += [
            {
                "kind": "pair",
                "id": c.item.id,
                "chosen": c.target.strip(),
                "rejected": r.target.strip(),
            }
            for c, r in pairs
        ]
        path = publish(model, job.versions, metrics, manifest)
        log.info("published %s (best epoch %d)", path, result.best_epoch + 1)
        if job.result:
            write_result(job.result, path, metrics)
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
