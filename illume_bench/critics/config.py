"""The critics' settings and their registry: name (what `--critic` takes) -> "module:Class"."""

from __future__ import annotations

from dataclasses import dataclass, field

from illume.critique import RougeConfig

CRITICS: dict[str, str] = {
    "rouge": "illume.critique:RougeCritic",
    "facts": "illume_bench.critics.fact_critic:FactsCritic",
    "semantic": "illume_bench.critics.semantic:SemanticCritic",
    "annotator": "illume_bench.critics.simulated_annotator:SimulatedAnnotator",
    "annotator-rouge": "illume_bench.critics.annotator_rouge:AnnotatorRougeCritic",
}
"""Each class takes a `CriticConfig`; a new critic is one module and one line here."""

SEMANTIC_THRESHOLD = 0.74
"""Default cosine threshold of the `semantic` critic; how it was calibrated:
docs/guide/critics.md (`illume calibrate`)."""


@dataclass
class CriticConfig(RougeConfig):
    """Settings of every automatic critic: ROUGE-L's (`RougeConfig`) and these.

    kind: which critic (`--critic`): rouge (ROUGE-L >= threshold), facts
        (that, and no wrong colour/shape named), semantic (sentence-embedding
        cosine to the best reference >= semantic_threshold), annotator (a
        simulated careful annotator; see `illume_bench.critics.simulated_annotator`)
        or annotator-rouge (the annotator's tick and ROUGE-L >= threshold).
    semantic_threshold: the same for the semantic critic's cosine; calibrated
        on val (`illume calibrate`, docs/guide/critics.md).
    """

    kind: str = field(
        default="rouge",
        metadata={"help": "which critic", "choices": tuple(CRITICS), "flag": "critic"},
    )
    semantic_threshold: float = field(
        default=SEMANTIC_THRESHOLD,
        metadata={"help": "fitting if the cosine is >= this (semantic; see `illume calibrate`)"},
    )
