"""Stage 3 of ILLUME: what the adapters are tuned on, and the loss.

X^E holds every (item, fitting rationale) found so far; X^A holds VQA-only
samples (question -> answer) from items without a fitting rationale, about
ten times as many, to keep the model answering questions. The loss is

    L = L_vqa + b * L_exp,   b = n(X^A) / n(X^E)

where both parts are next-token cross-entropy over the target tokens only
(image prefix and prompt positions carry no loss), summed over a batch and
divided by its number of target tokens.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from PIL import Image

from illume.images import open_image
from illume.items import Item
from illume.rationales import unique


@dataclass
class TuneConfig:
    """Adapter tuning settings (the paper: AdamW, batch 256 over 8 GPUs, ~10x VQA samples)."""

    epochs: int = 3
    """Passes over X^E + X^A; the best epoch on validation is kept."""
    batch_size: int = 16
    """Global batch (split over ranks under the launcher)."""
    lr: float = 1e-3
    weight_decay: float = 0.0
    vqa_ratio: float = 10.0
    """|X^A| is about this times |X^E| (fewer if fewer items lack a rationale)."""
    explanation_prompt: str = "because"
    prompt_template: str = "Q: {question} A: {answer}, {explanation}"
    vqa_template: str = "Q: {question} A:"
    max_target_tokens: int = 32
    val_items: int = 64
    """Validation items scored after each epoch (greedy rationales, ROUGE-L)."""
    seed: int = 0


@dataclass
class Example:
    """One training sequence: image + prompt, then the target the loss is taken on."""

    item: Item
    prompt: str
    target: str
    kind: str  # "exp" or "vqa"


def dedupe_rationales(explained: Iterable[tuple[Item, str]]) -> list[tuple[Item, str]]:
    """X^E without repeats of the same rationale (by `rationale_key`) for an item."""
    kept = unique(explained, text=lambda pair: pair[1], item=lambda pair: pair[0].id)
    return [(item, text.strip()) for item, text in kept]


def build_examples(
    explained: list[tuple[Item, str]], items: list[Item], config: TuneConfig
) -> tuple[list[Example], list[Example], float]:
    """X^E and X^A as examples, and the weight b = n(X^A) / n(X^E)."""
    rng = random.Random(config.seed)
    explained = dedupe_rationales(explained)
    exp = [
        Example(
            item,
            config.prompt_template.format(
                question=item.question, answer=item.answer, explanation=config.explanation_prompt
            ),
            " " + text,
            "exp",
        )
        for item, text in explained
    ]
    with_rationale = {item.id for item, _ in explained}
    pool = [it for it in items if it.id not in with_rationale]
    n_vqa = min(len(pool), round(config.vqa_ratio * len(exp)))
    vqa = [
        Example(it, config.vqa_template.format(question=it.question), " " + it.answer, "vqa")
        for it in rng.sample(pool, n_vqa)
    ]
    b = len(vqa) / len(exp) if exp and vqa else 1.0
    return exp, vqa, b


def target_ids(tokenizer, examples: list[Example], config: TuneConfig) -> list[list[int]]:
    """Each example's target token ids; rationales end in EOS so the model learns to stop."""
    out = []
    for ex in examples:
        ids = tokenizer(ex.target, add_special_tokens=False).input_ids[: config.max_target_tokens]
        out.append(ids + [tokenizer.eos_token_id] if ex.kind == "exp" else ids)
    return out


def loss_sums(
    model, examples: list[Example], images: dict[str, Image.Image], config: TuneConfig
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Summed target-token cross-entropy of the VQA and of the explanation rows; positions run."""
    nll, n_positions = model.target_nll(
        [images[ex.item.image] for ex in examples],
        [ex.prompt for ex in examples],
        target_ids(model.tokenizer, examples, config),
    )
    is_exp = torch.tensor([ex.kind == "exp" for ex in examples], device=nll.device)
    return nll[~is_exp].sum(), nll[is_exp].sum(), n_positions


def count_target_tokens(model, examples: list[Example], config: TuneConfig) -> tuple[int, int]:
    """Target tokens of each kind in a batch, so every rank can normalise by the global count."""
    n_vqa = n_exp = 0
    for ex, ids in zip(examples, target_ids(model.tokenizer, examples, config), strict=True):
        if ex.kind == "exp":
            n_exp += len(ids)
        else:
            n_vqa += len(ids)
    return n_vqa, n_exp


def combined_loss(vqa_sum, exp_sum, n_vqa: int, n_exp: int, b: float) -> torch.Tensor:
    """L = L_vqa + b * L_exp over one global batch.

    Both parts are summed token cross-entropies divided by the batch's total
    target-token count: one shared normaliser, so b alone sets the balance
    between the ~10x more VQA samples and the rationales, as in the paper.
    """
    return (vqa_sum + b * exp_sum) / max(1, n_vqa + n_exp)


def load_images(examples: Iterable[Example]) -> dict[str, Image.Image]:
    """Each distinct image once (items share images)."""
    out: dict[str, Image.Image] = {}
    for ex in examples:
        if ex.item.image not in out:
            out[ex.item.image] = open_image(ex.item.image)
    return out
