"""The automatic critics behind the one `illume.critique.Critic` interface.

- `rouge` (`illume.critique.RougeCritic`): coco ROUGE-L >= threshold, the paper's.
- `facts` (`FactsCritic`): that, and no wrong colour or shape named, which
  ROUGE-L cannot see ("the shape is a circle" for a triangle).
- `semantic` (`SemanticCritic`): cosine of all-MiniLM-L6-v2 sentence
  embeddings to the best reference, >= a threshold calibrated on val.
- `annotator` (`SimulatedAnnotator`): a careful annotator for benchmarks,
  judging by the item's facts rather than by the references' wording.
- `annotator-rouge` (`AnnotatorRougeCritic`): the annotator's tick and the paper's
  ROUGE-L >= threshold together.

`make_critic` builds the one `CriticConfig.kind` names from the registry
`CRITICS`; `agreement` compares an automatic critic's verdicts with the
annotator's; `files` scores a candidates file (`illume critique`).
"""

from __future__ import annotations

import importlib

from illume.critique import Critic
from illume.items import Item
from illume_bench.critics.config import CRITICS, SEMANTIC_THRESHOLD, CriticConfig


def make_critic(config: CriticConfig, kind: str | None = None) -> Critic:
    """The critic `kind` (default: `config.kind`) with `config`'s settings."""
    kind = kind or config.kind
    if kind not in CRITICS:
        raise ValueError(f"unknown critic {kind!r}; choose from {', '.join(CRITICS)}")
    module, name = CRITICS[kind].split(":")
    return getattr(importlib.import_module(module), name)(config)


def verdict(critic: Critic, item: Item, text: str) -> tuple[bool, str]:
    """Whether the critic accepts the text, and why: the annotator's own reason, or for a
    critic that only scores (rouge, facts, semantic) its score, so any critic can drive
    the benchmarks that record a reason per candidate."""
    judge = getattr(critic, "judge", None)
    if judge is not None:
        return judge(item, text)
    score = critic.score(item, [text])[0]
    return critic.fitting(score), f"scores {score:.2f}"


__all__ = ["CRITICS", "SEMANTIC_THRESHOLD", "CriticConfig", "make_critic", "verdict"]
