"""Entry point of one tuning round; what `illume tune` and the launchers run.

    python -m training.train --items ITEMS --rationales RATIONALES --versions DIR [--base DIR]
    deepspeed --num_gpus 8 --module training.train ...   (GPUs)
    torchrun --nproc_per_node 2 -m training.train ... (CPU ranks)
    deepspeed --hostfile HOSTFILE --module training.train ...  (several nodes)

RATIONALES is JSONL of {"id": item id, "text": fitting rationale, and
optionally "question"/"explanation": the phrasing and explanation prompt it
was sampled with, which it is tuned under}: the whole X^E so far. X^A is drawn
from the items of --train-split (the whole pool, not only the sampled items).
With --objective dpo or sft+dpo, --pairs PAIRS is JSONL of
{"id", "chosen", "rejected"}: a fitting and a rejected rationale of the same
item (illume.pairs); the base version is the DPO reference. With
--progress FILE rank 0 appends a JSON record per step and per epoch there
(epoch, step, loss, tokens/s: illume.tuneprogress). On success
rank 0 publishes the next version under DIR atomically, prints its path
and, with --result FILE, writes it there as JSON (what a parent reads); on
any failure nothing is published and the exit code is not 0. When the starting
weights win the dev selection, nothing is published either, the exit code is 0
and the result file says {"version": null, "changed_nothing": true, ...}. Every flag
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
from illume.models.prompt import Prompt
from illume.pairs import read_pairs
from illume.tune import (
    Example,
    TuneConfig,
    build_examples,
    dev_examples,
    explanation_prompt,
    split_dev,
    xa_shortfall,
)
from illume.tunejob import TuneJob, write_result
from illume.tuneprogress import ProgressWriter

log = logging.getLogger("illume.tune")


def read_rationales(path: str, items: dict[str, Item]) -> list[tuple[Item, str, Prompt | None]]:
    """(item, rationale, the prompt it was sampled with or None) for known items; unknown
    ids are reported, not fatal."""
    pairs, unknown = [], 0
    for row in read_jsonl(path):
        item = items.get(str(row.get("id")))
        text = row.get("text")
        if item is None or not isinstance(text, str):
            unknown += 1
            continue
        sampled = None
        if row.get("explanation") or row.get("question"):
            sampled = Prompt(
                row.get("question") or item.question,
                item.answer,
                row.get("explanation") or "because",
            )
        pairs.append((item, text, sampled))
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


def changed_nothing_note(result, config: TuneConfig) -> str:
    """The sentence /status, the progress page and the loop report show."""
    best = max(result.dev_scores) if result.dev_scores else float("nan")
    return (
        f"this round changed nothing: the starting weights' dev {result.select_by} "
        f"({result.dev_start:.4f}) beat the best of {result.epochs_run} checkpoints "
        f"({best:.4f}) by more than {100 * config.keep_margin:g}% (higher is better)"
    )


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
    pool = [it for it in items if config.in_pool(it)]
    val = [it for it in items if it.split == config.val_split and it.explanations]
    val = val[: config.val_items]
    dev = dev_examples(val, config)
    if not dev and config.select_by == "nll":  # no dev items (the backend): hold some out
        explained, held = split_dev(explained, config)
        dev = [
            Example(row[0], explanation_prompt(row[0], config, row[2]), " " + row[1].strip(), "exp")
            for row in held
        ]
    exp, vqa, b = build_examples(explained, pool, config)
    short = xa_shortfall(config, len(exp), len(vqa)) if config.uses_sft else None
    if short:
        log.warning("%s", short["note"])
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
            val,
            config,
            job.ds_config,
            pairs=pairs,
            on_step=writer,
            dev=dev,
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
            "pool": len(pool),
            "xa_short": short,
            "n_dev": len(dev),
            "n_pairs": len(pairs),
            "world_size": dist.get_world_size(),
            "config": dataclasses.asdict(config),
            **dataclasses.asdict(result),
            **json.loads(job.metrics_extra),
        }
        if not result.changed:
            metrics["changed_nothing"] = changed_nothing_note(result, config)
            log.info("%s: nothing published", metrics["changed_nothing"])
            if job.result:
                write_result(job.result, None, metrics)
            print("unchanged")
            dist.barrier()
            dist.destroy_process_group()
            return 0
        manifest = [
            {
                "kind": ex.kind,
                "id": ex.item.id,
                "text": ex.target.strip(),
                "question": ex.prompt.question,
                "explanation": ex.prompt.explanation,
            }
            for ex in exp
        ]
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
