"""Pick the explanation prompt ("because", "seeing that", ...) by zero-shot score.

For every candidate prompt the model writes one greedy rationale per
validation item; the prompt whose rationales score the best ROUGE-L against
the references wins. This is the paper's Table 2 protocol.
"""

from __future__ import annotations

import logging

from illume.api import greedy_rationales
from illume.items import Item
from illume.models.base import VisionLanguageModel
from illume.sample import SampleConfig
from illume_bench.evaluate import compute_metrics

log = logging.getLogger(__name__)


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
