"""The automatic critics behind the one `illume.critique.Critic` interface.

- `rouge` (`illume.critique.RougeCritic`): coco ROUGE-L >= threshold, the paper's.
- `facts` (`FactsCritic`): that, and no wrong colour or shape named, which
  ROUGE-L cannot see ("the shape is a circle" for a triangle).
- `semantic` (`SemanticCritic`): cosine of all-MiniLM-L6-v2 sentence
  embeddings to the best reference, >= a threshold calibrated on val.
- `annotator` (`SimulatedAnnotator`): a careful annotator for benchmarks,
  judging by the item's facts rather than by the references' wording.

`make_critic` builds the one `CriticConfig.kind` names; `agreement`
compares an automatic critic's verdicts with the annotator's.
"""

from __future__ import annotations

from illume.critics.annotator import SimulatedAnnotator
from illume.critics.facts import FactsCritic
from illume.critique import CRITICS, Critic, CriticConfig, RougeCritic


def make_critic(config: CriticConfig, kind: str | None = None) -> Critic:
    """The critic `kind` (default: `config.kind`) with `config`'s settings."""
    kind = kind or config.kind
    if kind == "rouge":
        return RougeCritic(config)
    if kind == "facts":
        return FactsCritic(config)
    if kind == "semantic":
        from illume.critics.semantic import SemanticCritic  # loads torch + transformers

        return SemanticCritic(config)
    if kind == "annotator":
        return SimulatedAnnotator(config)
    raise ValueError(f"unknown critic {kind!r}; choose from {', '.join(CRITICS)}")


__all__ = ["FactsCritic", "SimulatedAnnotator", "make_critic"]
