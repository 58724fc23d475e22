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
import torch.nn.functional as F
from PIL import Image

from illume.images import open_image
from illume.items import Item


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


def dedupe_explained(explained: Iterable[tuple[Item, str]]) -> list[tuple[Item, str]]:
    """X^E without repeats of the same rationale (case- and space-insensitive) for an item."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item, text in explained:
        key = (item.id, " ".join(text.lower().split()))
        if key[1] and key not in seen:
            seen.add(key)
            out.append((item, text.strip()))
    return out


def build_examples(
    explained: list[tuple[Item, str]], items: list[Item], config: TuneConfig
) -> tuple[list[Example], list[Example], float]:
    """X^E and X^A as examples, and the weight b = n(X^A) / n(X^E)."""
    rng = random.Random(config.seed)
    explained = dedupe_explained(explained)
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


@dataclass
class Batch:
    """A tokenised batch: embeddings, mask, labels (-100 where no loss) and kinds."""

    embeds: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    is_exp: torch.Tensor  # [B] bool


def collate(model, examples: list[Example], images: dict[str, Image.Image], config: TuneConfig):
    """Right-padded [image prefix][prompt][target] rows; only target tokens are labelled."""
    tok = model.tokenizer
    eos = tok.eos_token_id
    prompt_ids, target_ids = [], []
    for ex in examples:
        prompt_ids.append(tok(ex.prompt, add_special_tokens=False).input_ids)
        tgt = tok(ex.target, add_special_tokens=False).input_ids[: config.max_target_tokens]
        target_ids.append(tgt + [eos] if ex.kind == "exp" else tgt)
    seqs = [p + t for p, t in zip(prompt_ids, target_ids, strict=True)]
    imgs = [images[ex.item.image] for ex in examples]
    embeds, mask = model.embed(imgs, seqs, pad_left=False)
    prefix = embeds.shape[1] - max(len(s) for s in seqs)
    labels = torch.full(mask.shape, -100, dtype=torch.long)
    for r, (p, t) in enumerate(zip(prompt_ids, target_ids, strict=True)):
        start = prefix + len(p)
        labels[r, start : start + len(t)] = torch.tensor(t)
    is_exp = torch.tensor([ex.kind == "exp" for ex in examples])
    return Batch(embeds, mask, labels.to(mask.device), is_exp.to(mask.device))


def token_loss_sums(model, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Summed target-token cross-entropy for the VQA and explanation rows, and token counts.

    The LM head (576 x 49k for SmolLM2, a fifth of the model's compute) runs
    only on the positions that predict a target token.
    """
    positions = (batch.attention_mask.cumsum(-1) - 1).clamp(min=0)
    hidden = model.lm.model(
        inputs_embeds=batch.embeds, attention_mask=batch.attention_mask, position_ids=positions
    ).last_hidden_state
    labels = batch.labels[:, 1:]
    valid = labels != -100
    logits = model.lm.lm_head(hidden[:, :-1][valid]).float()
    ce = F.cross_entropy(logits, labels[valid], reduction="none")
    row_is_exp = batch.is_exp[:, None].expand_as(labels)[valid]
    exp_sum, vqa_sum = ce[row_is_exp].sum(), ce[~row_is_exp].sum()
    return vqa_sum, exp_sum, int((~row_is_exp).sum()), int(row_is_exp.sum())


def count_target_tokens(model, examples: list[Example], config: TuneConfig) -> tuple[int, int]:
    """Target tokens of each kind in a batch, so every rank can normalise by the global count."""
    n_vqa = n_exp = 0
    for ex in examples:
        n = len(model.tokenizer(ex.target, add_special_tokens=False).input_ids)
        n = min(n, config.max_target_tokens)
        if ex.kind == "exp":
            n_exp += n + 1
        else:
            n_vqa += n
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
