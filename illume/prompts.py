"""Pick the explanation prompt ("because", "seeing that", ...) by zero-shot score.

For every candidate prompt the model writes one greedy rationale per
validation item; the prompt whose rationales score the best ROUGE-L against
the references wins. This is the paper's Table 2 protocol.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from illume.evaluate import compute_metrics
from illume.items import Item
from illume.models.base import VisionLanguageModel
from illume.sample import SampleConfig, Sampler

log = logging.getLogger(__name__)


def greedy_rationales(
    model: VisionLanguageModel, items: list[Item], prompt: str, config: SampleConfig | None = None
) -> dict[str, str]:
    """One greedy rationale per item for one explanation prompt (items that fail are left out)."""
    base = config or SampleConfig()
    cfg = replace(
        base,
        temperatures=(0.0,),
        n_per_temperature=1,
        explanation_prompts=(prompt,),
        question_templates=base.question_templates[:1],
        rank=False,  # the model's own greedy text, as the paper scores it
        top_up_rounds=0,  # greedy is deterministic: a top-up would decode the same text again
    )
    out = {}
    for result in Sampler(model, cfg).sample(items, progress=False):
        if result.error is None and result.candidates:
            out[result.id] = result.candidates[0].text
        elif result.error is not None:
            log.warning("item %s: %s", result.id, result.error)
    return out


def score_prompts(
    model: VisionLanguageModel,
    items: list[Item],
    prompts: list[str],
    config: SampleConfig | None = None,
    scorers=None,
) -> list[dict]:
    """Metrics per explanation prompt, best (by ROUGE-L) first (`scorers`: an open Scorers)."""
    refs = {it.id: it.explanations for it in items if it.explanations}
    rows = []
    for prompt in prompts:
        preds = greedy_rationales(model, [it for it in items if it.id in refs], prompt, config)
        metrics = compute_metrics(
            preds, {k: v for k, v in refs.items() if k in preds}, scorers=scorers
        )
        rows.append({"prompt": prompt, "n": len(preds), **metrics, "predictions": preds})
        log.info("prompt %r: ROUGE-L %.4f on %d items", prompt, metrics["ROUGE_L"], len(preds))
    return sorted(rows, key=lambda r: r["ROUGE_L"], reverse=True)
