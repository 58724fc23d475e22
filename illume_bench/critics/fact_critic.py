"""The `facts` critic: ROUGE-L against the references, and no wrong fact named.

ROUGE-L passes one-word fact errors: "the shape is a circle" scores high
against "the shape is a triangle". A person would never tick it, so this
critic scores a candidate that names a colour or shape the item's facts
contradict (`illume_bench.fact_errors.wrong_facts`) 0.0; any other candidate keeps its
ROUGE-L score. Items without checkable facts are scored as `rouge` does.
"""

from __future__ import annotations

from illume.critique import RougeCritic
from illume.items import Item
from illume_bench.critics.config import CriticConfig
from illume_bench.fact_errors import wrong_facts


class FactsCritic(RougeCritic):
    """coco ROUGE-L >= `config.threshold`, with 0.0 for a candidate naming a wrong fact."""

    def __init__(self, config: CriticConfig | None = None) -> None:
        super().__init__(config)

    def score(self, item: Item, texts: list[str]) -> list[float]:
        rouge = super().score(item, texts)
        return [0.0 if wrong_facts(t, item.facts) else s for t, s in zip(texts, rouge, strict=True)]
