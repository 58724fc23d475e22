"""Preference tuning (DPO) on (fitting, rejected) rationale pairs of the same item.

Direct Preference Optimization (Rafailov et al., 2023) raises the
likelihood of the fitting rationale relative to the rejected one, measured
against a frozen reference model, so that the model moves away from the
jabber a critic or an annotator turned down without drifting far from what
it already says well. Per pair, with summed target log-probs

    L_dpo = -log sigmoid(beta * ((logp_c - ref_c) - (logp_r - ref_r)))

(the sigmoid loss of TRL's DPOTrainer). The reference is the version this
round starts from; its log-probs are computed before the first step, with
no gradient, in the same model (its tuned weights are the base version's
until the first step), so no second copy of the model is needed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

from illume.items import Item
from illume.models.prompt import Prompt
from illume.pairs import Pair
from illume.tune import Example, TuneConfig, target_ids

PairExamples = tuple[Example, Example]
"""A pair as the trainer sees it: the chosen and the rejected rationale as examples."""


def pair_examples(pairs: list[tuple[Item, Pair]], config: TuneConfig) -> list[PairExamples]:
    """Each pair as two explanation examples behind the same prompt (EOS-terminated like X^E)."""
    out = []
    for item, pair in pairs:
        prompt = Prompt(item.question, item.answer, config.explanation_prompt)
        chosen = Example(item, prompt, " " + pair.chosen, "exp")
        rejected = Example(item, prompt, " " + pair.rejected, "exp")
        out.append((chosen, rejected))
    return out


def pair_logps(
    model, pairs: list[PairExamples], images: dict[str, Image.Image], config: TuneConfig
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Summed target log-probs of the chosen [P] and of the rejected [P] rationales, in one
    forward pass of 2P rows; and the positions it ran."""
    examples = [ex for ex, _ in pairs] + [ex for _, ex in pairs]
    nll, n_positions = model.target_nll(
        [images[ex.item.image] for ex in examples],
        [ex.prompt for ex in examples],
        target_ids(model.tokenizer, examples, config),
    )
    logp = -nll
    return logp[: len(pairs)], logp[len(pairs) :], n_positions


def dpo_losses(
    logp_c: torch.Tensor,
    logp_r: torch.Tensor,
    ref_c: torch.Tensor,
    ref_r: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """The DPO loss of each pair [P] (-log sigmoid of beta times the log-ratio margin)."""
    margin = (logp_c - ref_c) - (logp_r - ref_r)
    return -F.logsigmoid(beta * margin)


def reward_accuracy(logp_c, logp_r, ref_c, ref_r) -> float:
    """Share of pairs whose chosen rationale gained more over the reference than the rejected
    one (TRL's rewards/accuracies): 0.5 or so at the start, towards 1 as DPO learns."""
    if len(logp_c) == 0:
        return 0.0
    return ((logp_c - ref_c) > (logp_r - ref_r)).float().mean().item()


@torch.no_grad()
def reference_logps(
    model,
    pairs: list[PairExamples],
    images: dict[str, Image.Image],
    config: TuneConfig,
    rank: int = 0,
    world: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's summed log-probs of every pair's chosen and rejected rationale [P].

    Call before the first optimiser step: the model's tuned weights are then the base
    version's, which is the reference. Each rank scores its share of the pairs and the
    shares are summed over the ranks, so every rank ends with all of them.
    """
    import torch.distributed as dist

    was_training = model.training
    model.eval()
    ref_c = torch.zeros(len(pairs))
    ref_r = torch.zeros(len(pairs))
    mine = list(range(rank, len(pairs), world))
    step = max(1, config.dpo_batch_size)
    for start in range(0, len(mine), step):
        idx = mine[start : start + step]
        c, r, _ = pair_logps(model, [pairs[i] for i in idx], images, config)
        ref_c[idx], ref_r[idx] = c.float().cpu(), r.float().cpu()
    if world > 1:
        both = torch.stack([ref_c, ref_r])
        if dist.get_backend() == "nccl":
            both = both.cuda()
        dist.all_reduce(both)
        ref_c, ref_r = both[0].cpu(), both[1].cpu()
    if was_training:
        model.train()
    return ref_c, ref_r
