"""Adapter tuning on the DeepSpeed engine: one CPU process here, many GPUs elsewhere.

Every rank builds the same global batches (same seed); each takes its share
of every batch, normalises its loss by the *global* target-token count (the
DPO term: by the global pair count) and multiplies by the world size, so
that DeepSpeed's gradient averaging gives exactly the gradient of the
global batch's loss: 2 ranks train like 1.

With `--objective sft+dpo` every step also takes a batch of (fitting,
rejected) pairs, cycling through them; with `dpo` the epochs run over the
pairs alone (illume/dpo.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from illume.api import greedy_rationales
from illume.critique import RougeCritic
from illume.dpo import PairExamples, dpo_losses, pair_logps, reference_logps
from illume.items import Item
from illume.tune import (
    Example,
    TuneConfig,
    combined_loss,
    count_target_tokens,
    epochs_for,
    load_images,
    loss_sums,
    target_ids,
)

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).parent


@dataclass
class TuneResult:
    """What a tuning run reports: per-step losses, per-epoch validation, throughput."""

    losses: list[float] = field(default_factory=list)
    val_rouge: list[float] = field(default_factory=list)
    dpo_losses: list[float] = field(default_factory=list)
    """The DPO term of each step (log 2 while the model still equals its reference)."""
    reward_accuracy: list[float] = field(default_factory=list)
    """Per step: share of the step's pairs whose chosen text gained more than the rejected."""
    best_epoch: int = -1
    """The kept checkpoint (0-based); -1: the starting weights won, the round changed nothing."""
    epochs_run: int = 0
    """Checkpoints taken (steps 0: passes; fewer than configured when X^E is tiny)."""
    steps_run: int = 0
    select_by: str = "rouge"
    dev_start: float = 0.0
    """The dev measure of the starting weights (select_by nll: minus the mean token NLL)."""
    dev_scores: list[float] = field(default_factory=list)
    """The dev measure at each checkpoint (higher is better)."""
    changed: bool = True
    """False when the starting weights beat every checkpoint by more than keep_margin."""
    tokens_per_s: float = 0.0
    step_seconds: float = 0.0
    """Summed wall time of the optimiser steps (batch building included, setup not)."""
    peak_memory_mb: float = 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed() -> tuple[int, int]:
    """Join (or, alone, create) the process group; gloo on CPU, nccl on GPUs."""
    import deepspeed

    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(_extensions_dir()))
    if not dist.is_initialized():
        os.environ.setdefault("RANK", "0")
        os.environ.setdefault("WORLD_SIZE", "1")
        os.environ.setdefault("LOCAL_RANK", "0")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False)
    return dist.get_rank(), dist.get_world_size()


def _extensions_dir() -> Path:
    """DeepSpeed's compiled ops, one folder per Python environment: ops built against another
    venv's paths would be rebuilt under the same lock by every job that alternates with it."""
    from illume.models.weights import cache_dir

    env = hashlib.sha1(sys.prefix.encode()).hexdigest()[:10]
    return cache_dir() / "torch_extensions" / env


def ds_config(path: str | Path | None, config: TuneConfig, world: int) -> dict:
    """The DeepSpeed JSON with batch sizes and learning rate filled in from TuneConfig."""
    default = "ds_config_gpu.json" if torch.cuda.is_available() else "ds_config.json"
    cfg = json.loads(Path(path or CONFIG_DIR / default).read_text())
    if config.batch_size % world:
        raise ValueError(f"batch size {config.batch_size} does not split over {world} ranks")
    cfg["train_batch_size"] = config.batch_size
    cfg["train_micro_batch_size_per_gpu"] = config.batch_size // world
    cfg["gradient_accumulation_steps"] = 1
    cfg.setdefault("optimizer", {"type": "AdamW", "params": {}})["params"].update(
        lr=config.lr, weight_decay=config.weight_decay
    )
    return cfg


def val_rouge(model, items: list[Item], config: TuneConfig) -> float:
    """Mean coco ROUGE-L of greedy rationales on validation items (no Java: fast)."""
    if not items:
        return 0.0
    critic = RougeCritic()
    model.eval()
    preds = greedy_rationales(model, items, config.explanation_prompt)
    scores = [critic.score_text(preds.get(it.id, ""), critic.references(it)) for it in items]
    return sum(scores) / len(scores)


def dev_nll(model, dev: list[Example], config: TuneConfig, batch: int = 16) -> float:
    """Mean target-token NLL of the dev rationales under their prompts (no sampling: cheap,
    and what the sampler's candidates follow: lower NLL, likelier to be drawn)."""
    model.eval()
    images = load_images(dev)
    total, count = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(dev), batch):
            part = dev[k : k + batch]
            targets = target_ids(model.tokenizer, part, config)
            nll, _ = model.target_nll(
                [images[ex.item.image] for ex in part], [ex.prompt for ex in part], targets
            )
            total += float(nll.sum())
            count += sum(len(t) for t in targets)
    return total / max(1, count)


def dev_score(model, val_items: list[Item], dev: list[Example], config: TuneConfig) -> float:
    """The checkpoint measure, higher is better: minus dev NLL, or greedy dev ROUGE-L."""
    if config.select_by == "nll" and dev:
        return -dev_nll(model, dev, config)
    return val_rouge(model, val_items, config)


def keeps_start(start: float, best: float, config: TuneConfig) -> bool:
    """Whether the starting weights win: better than the best checkpoint by more than
    `keep_margin` of its size (so noise alone cannot undo a round)."""
    return start > best + config.keep_margin * abs(best)


def train(
    model,
    exp: list[Example],
    vqa: list[Example],
    b: float,
    val_items: list[Item],
    config: TuneConfig,
    ds_config_path: str | Path | None = None,
    progress: bool = True,
    pairs: list[PairExamples] | None = None,
    on_step: Callable[[dict], None] | None = None,
    dev: list[Example] | None = None,
) -> TuneResult:
    """Tune the model's adapters on X^E + X^A (and/or the pairs, by `config.objective`) on the
    DeepSpeed engine; leave the best epoch's weights in the model. `on_step` (rank 0 only)
    gets a progress record per step and per epoch (illume.tuneprogress)."""
    import deepspeed

    rank, world = init_distributed()
    torch.manual_seed(config.seed)
    engine, *_ = deepspeed.initialize(
        model=model,
        model_parameters=model.trainable_parameters(),
        config=ds_config(ds_config_path, config, world),
    )
    return fit(
        engine, model, exp, vqa, b, val_items, config, pairs, rank, world, progress, on_step, dev
    )


def fit(
    engine,
    model,
    exp: list[Example],
    vqa: list[Example],
    b: float,
    val_items: list[Item],
    config: TuneConfig,
    pairs: list[PairExamples] | None = None,
    rank: int = 0,
    world: int = 1,
    progress: bool = True,
    on_step: Callable[[dict], None] | None = None,
    dev: list[Example] | None = None,
) -> TuneResult:
    """The steps on any engine with `train()`, `backward(loss)` and `step()` (DeepSpeed's, or a
    plain optimiser in tests). A budget of `config.steps` steps (0: `epochs` passes) runs
    over reshuffled passes; at each checkpoint the dev measure is taken (`dev_score`).
    The model ends holding the best checkpoint (ties: the later one), or the starting
    weights when they beat it by more than `keep_margin` (`changed` is then False)."""
    sft = exp + vqa if config.uses_sft else []
    pairs = list(pairs or []) if config.uses_dpo else []
    if not sft and not pairs:
        raise ValueError(f"objective {config.objective}: nothing to tune on")
    images = load_images(sft + [ex for pair in pairs for ex in pair])
    # the reference (the base version) is what the model holds before the first step
    ref = reference_logps(model, pairs, images, config, rank, world) if pairs else None
    result = TuneResult(select_by=config.select_by if dev else "rouge")
    start_state = model.trainable_state()
    result.dev_start = dev_score(model, val_items, dev or [], config)
    log.info(
        "rank %d/%d: objective %s |X^E|=%d |X^A|=%d pairs=%d b=%.2f dev %s before %.4f",
        rank,
        world,
        config.objective,
        len(exp),
        len(vqa),
        len(pairs),
        b,
        result.select_by,
        result.dev_start,
    )
    pair_batch = min(config.dpo_batch_size, len(pairs)) or 1
    # the last, shorter batch is kept: with a handful of rationales, dropping it can drop them all
    n_batches = (-(-len(sft) // config.batch_size) if sft else len(pairs) // pair_batch) or 1
    passes = epochs_for(config, len(exp)) if config.uses_sft else config.epochs
    total = config.steps if config.steps > 0 else passes * n_batches
    n_checks = max(1, min(config.epochs if config.steps > 0 else passes, total))
    checks = {round((k + 1) * total / n_checks) for k in range(n_checks)}
    result.epochs_run, result.steps_run = len(checks), total
    per_check = -(-total // len(checks))
    where = {"epochs": len(checks), "steps": per_check, "world_size": world}
    tokens, seconds = 0, 0.0
    report = on_step if rank == 0 else None
    best_state, best_score, check, since = None, float("-inf"), 0, 0
    bar = tqdm(range(total), desc="tuning", disable=not progress or rank)
    order: list[Example] = []
    pair_order: list[int] = []
    engine.train()
    for g in bar:
        pass_no, step = divmod(g, n_batches)
        if step == 0:  # a new pass over X^E + X^A, reshuffled
            rng = random.Random(config.seed + pass_no)
            order = rng.sample(sft, len(sft))
            pair_order = rng.sample(range(len(pairs)), len(pairs))
        batch_ex = order[step * config.batch_size : (step + 1) * config.batch_size]
        k = step % (len(pairs) // pair_batch or 1)  # pairs cycle when X^E + X^A is longer
        batch_pairs = pair_order[k * pair_batch : (k + 1) * pair_batch]
        t0 = time.perf_counter()
        out = _train_step(
            engine, model, batch_ex, pairs, batch_pairs, ref, images, b, rank, world, config
        )
        seconds += time.perf_counter() - t0
        loss, dpo, accuracy, n_tokens = out
        tokens += n_tokens
        result.losses.append(loss)
        if pairs:
            result.dpo_losses.append(dpo)
            result.reward_accuracy.append(accuracy)
        bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens / seconds:.0f}")
        log.info(
            "step %d/%d loss %.4f%s tokens/s %.0f",
            g + 1,
            total,
            loss,
            f" dpo {dpo:.4f} acc {accuracy:.2f}" if pairs else "",
            tokens / seconds,
        )
        if report:
            report(
                {
                    "event": "step",
                    **where,
                    "epoch": check + 1,
                    "step": g + 1 - since,
                    "global_step": g + 1,
                    "total_steps": total,
                    "loss": loss,
                    "tokens_per_s": tokens / seconds,
                    **({"dpo_loss": dpo, "reward_accuracy": accuracy} if pairs else {}),
                }
            )
        if g + 1 not in checks:
            continue
        score = dev_score(model, val_items, dev or [], config)
        result.dev_scores.append(score)
        if result.select_by == "rouge":
            result.val_rouge.append(score)
        if report:
            figure = {"val_rouge": score} if result.select_by == "rouge" else {}
            report(
                {
                    "event": "epoch",
                    **where,
                    "epoch": check + 1,
                    "dev_score": score,
                    "select_by": result.select_by,
                    **figure,
                }
            )
        log.info(
            "checkpoint %d: dev %s %.4f (best %.4f)", check + 1, result.select_by, score, best_score
        )
        if score >= best_score:
            best_score, best_state, result.best_epoch = score, model.trainable_state(), check
        check, since = check + 1, g + 1
        engine.train()
    if best_state is None or keeps_start(result.dev_start, best_score, config):
        best_state, result.best_epoch, result.changed = start_state, -1, False
        log.info(
            "the starting weights win (dev %.4f vs best checkpoint %.4f, margin %.0f%%): "
            "this round changed nothing",
            result.dev_start,
            best_score,
            100 * config.keep_margin,
        )
    model.load_trainable_state(best_state)
    result.tokens_per_s = tokens / seconds if seconds else 0.0
    result.step_seconds = seconds
    result.peak_memory_mb = _peak_memory_mb()
    return result


def _train_step(
    engine, model, batch_ex, pairs, batch_pairs, ref, images, b, rank, world, config
) -> tuple[float, float, float, int]:
    """One optimiser step on a global batch (examples and/or pairs); returns its loss, its
    DPO term, the pairs' reward accuracy and the positions run (all ranks)."""
    zero = _zero(model)
    loss, dpo, accuracy, n_positions = zero, zero, zero.detach(), 0
    if batch_ex:
        n_vqa, n_exp = count_target_tokens(model, batch_ex, config)
        shard = batch_ex[rank::world]
        if shard:
            vqa_sum, exp_sum, n_positions = loss_sums(model, shard, images, config)
            loss = combined_loss(vqa_sum, exp_sum, n_vqa, n_exp, b)
    shard = batch_pairs[rank::world]
    if shard:
        logp_c, logp_r, n_pair_positions = pair_logps(
            model, [pairs[i] for i in shard], images, config
        )
        ref_c, ref_r = (r[shard].to(logp_c.device, logp_c.dtype) for r in ref)
        dpo = dpo_losses(logp_c, logp_r, ref_c, ref_r, config.beta).sum() / len(batch_pairs)
        wins = ((logp_c - ref_c) > (logp_r - ref_r)).sum().float()
        accuracy = wins.detach() / len(batch_pairs)
        n_positions += n_pair_positions
        weight = config.dpo_weight if config.uses_sft else 1.0
        loss = loss + weight * dpo
    engine.backward(loss * world)
    engine.step()
    reported = torch.stack(
        [loss.detach().float(), dpo.detach().float(), accuracy.float(), zero.new_tensor(0.0)]
    )
    reported[3] = float(n_positions)
    if world > 1:
        dist.all_reduce(reported)
    return reported[0].item(), reported[1].item(), reported[2].item(), int(reported[3].item())


def _zero(model) -> torch.Tensor:
    """A zero loss tied to every tuned weight: a rank whose share of a batch is empty still
    takes part in the gradient all-reduce."""
    return sum(p.sum() for p in model.trainable_parameters()) * 0.0


def _peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
