"""The `annotator-rouge` critic: the careful annotator's tick, and the paper's ROUGE-L.

The careful annotator (`SimulatedAnnotator`) ticks what a person would: a text that
names evidence, no wrong fact, more than the answer said again. The paper's critic
(ROUGE-L >= 0.7) ticks what reads like the references, wrong facts and restatements
included. Run I (`facts`: ROUGE-L and no wrong fact) reached full-gt's greedy ROUGE-L
with texts the annotator refuses ("the rectangle is not a rectangle"). This critic
asks for both, so it is still a judge in the issue's sense (it refuses every
restatement the annotator refuses) while it rewards the references' wording.
"""

from __future__ import annotations

from illume.critique import RougeCritic
from illume.items import Item
from illume_bench.critics.config import CriticConfig
from illume_bench.critics.simulated_annotator import SimulatedAnnotator


class AnnotatorRougeCritic(SimulatedAnnotator):
    """Fitting iff the annotator accepts and coco ROUGE-L >= `config.threshold`."""

    def __init__(self, config: CriticConfig | None = None) -> None:
        super().__init__(config)
        self.rouge = RougeCritic(self.config)

    def judge(self, item: Item, text: str) -> tuple[bool, str]:
        ok, why = super().judge(item, text)
        if not ok:
            return ok, why
        score = self.rouge.score_text(text, self.rouge.references(item))
        if score < self.config.threshold:
            return False, f"fits, but ROUGE-L {score:.2f} < {self.config.threshold}"
        return True, f"{why}; ROUGE-L {score:.2f}"
