"""The paper's Table 2 for any set of models: can a model's jabber seed ILLUME at all?

For every model and explanation prompt, one greedy rationale per item is
scored (B-4, R-L, CIDEr) against the references; the best prompt per model
is the one ILLUME would start from. Then the model samples jabber with the
loop's settings at its best prompt, and we count the candidates that merely
repeat the answer: the paper found BLIP and OFA doing that for 89% and 63% of
their samples on VQA-X, which leaves a critic nothing to pick.

    illume zeroshot --models embedded,hf:models/llava-tiny --items F --out DIR
"""

from __future__ import annotations

import gc
import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from illume import api
from illume.critique import RougeCritic
from illume.items import Item
from illume.models import ModelChoice, load_model
from illume.rank import rank_candidates
from illume.sample import EXPLANATION_PROMPTS, SampleConfig
from illume_bench.evaluate import Scorers
from illume_bench.prompt_choice import score_prompts

log = logging.getLogger(__name__)

# Words that carry no content of their own in "it is red" / "the answer is red" / "yes".
_FILLER_WORDS = """
a an the it its s is are was were be this that these those there here
answer because since as so yes no of in on to and or which what
"""
FILLER = frozenset(_FILLER_WORDS.split())
WORD = re.compile(r"[a-z0-9]+")


def repeats_answer(text: str, answer: str) -> bool:
    """True when a rationale says nothing beyond the answer ("red", "it is red", "yes")."""
    words = set(WORD.findall(text.lower())) - FILLER
    return words <= set(WORD.findall(answer.lower()))


@dataclass
class ZeroShotConfig:
    """What the comparison runs."""

    prompts: tuple[str, ...] = EXPLANATION_PROMPTS
    """Explanation prompts scored for every model (the paper's Table 2 rows)."""
    sample: SampleConfig = field(default_factory=SampleConfig)
    """Jabber settings for the answer-repeat share (the loop's defaults)."""
    sample_items: int = 50
    """Items the jabber is sampled on (fewer keeps a large model's run short)."""


def compare(models: list[ModelChoice], items: list[Item], config: ZeroShotConfig) -> list[dict]:
    """One result per model: metrics per prompt, its best prompt, its answer-repeat share."""
    items = [it for it in items if it.explanations]
    if not items:
        raise ValueError("no items with reference explanations to score against")
    answers = {it.id: it.answer for it in items}
    results = []
    with Scorers() as scorers:
        for choice in models:
            log.info("zero-shot: %s on %d items", choice.model, len(items))
            model = load_model(choice)
            rows = score_prompts(model, items, list(config.prompts), scorers=scorers)
            for row in rows:
                preds = row.pop("predictions")
                row["greedy_repeat_pct"] = _pct(
                    [repeats_answer(t, answers[k]) for k, t in preds.items()]
                )
            best = rows[0]["prompt"]
            jabber = _jabber(model, items[: config.sample_items], best, config.sample, answers)
            results.append({"model": choice.model, "best_prompt": best, "prompts": rows, **jabber})
            del model
            gc.collect()
    return results


def _jabber(
    model, items: list[Item], prompt: str, sample: SampleConfig, answers: dict[str, str]
) -> dict:
    cfg = replace(sample, explanation_prompts=(prompt,), rank=False)  # the raw jabber
    flags = []
    by_id = {it.id: it for it in items}
    raw, shown = {}, {}
    for result in api.sampler(model, cfg).sample(items, progress=True):
        flags += [repeats_answer(c.text, answers[result.id]) for c in result.candidates]
        raw[result.id] = [c.text for c in result.candidates]
        shown[result.id] = [c.text for c in rank_candidates(by_id[result.id], result.candidates)]
    return {
        "n_candidates": len(flags),
        "repeat_pct": _pct(flags),
        "raw": fit_figures(by_id, raw),
        "shown": fit_figures(by_id, shown),
    }


def fit_figures(items: dict[str, Item], candidates: dict[str, list[str]]) -> dict:
    """Items with a fitting candidate (coco ROUGE-L >= 0.7 against the references, in %)
    and the mean over items of the best candidate's ROUGE-L: whether a critic or an
    annotator has anything to tick at all."""
    critic = RougeCritic()
    best = [max(critic.score(items[k], texts), default=0.0) for k, texts in candidates.items()]
    return {
        "items": len(best),
        "fit_pct": _pct([b >= critic.threshold for b in best]),
        "mean_best_rouge": round(sum(best) / len(best), 3) if best else 0.0,
    }


def _pct(flags: list[bool]) -> float:
    return round(100 * sum(flags) / len(flags), 1) if flags else 0.0


def table(results: list[dict]) -> str:
    """Markdown: one row per model and prompt, the best prompt marked, then the repeat share."""
    lines = [
        "| model | explanation prompt | B-4 | R-L | CIDEr | greedy repeats answer % |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for row in r["prompts"]:
            mark = " **(best)**" if row["prompt"] == r["best_prompt"] else ""
            lines.append(
                f"| {r['model']} | {row['prompt']}{mark} | {100 * row['Bleu_4']:.2f} | "
                f"{100 * row['ROUGE_L']:.2f} | {100 * row['CIDEr']:.2f} | "
                f"{row['greedy_repeat_pct']:.1f} |"
            )
    lines += [
        "",
        "| model | best prompt | jabber candidates | repeat the answer % "
        "| items with a fitting candidate %, raw / shown | mean best R-L, raw / shown |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        raw, shown = r.get("raw", {}), r.get("shown", {})
        lines.append(
            f"| {r['model']} | {r['best_prompt']} | {r['n_candidates']} | {r['repeat_pct']:.1f} "
            f"| {raw.get('fit_pct', 0):.1f} / {shown.get('fit_pct', 0):.1f} "
            f"| {raw.get('mean_best_rouge', 0):.3f} / {shown.get('mean_best_rouge', 0):.3f} |"
        )
    lines += [
        "",
        "Fitting: coco ROUGE-L >= 0.7 against the item's references; raw = every sampled "
        "candidate, shown = what illume.rank keeps (restatements and non-sentences dropped).",
    ]
    return "\n".join(lines)


def plot(path: Path, results: list[dict]) -> None:
    """ROUGE-L per model and prompt (grouped bars) beside each model's answer-repeat share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prompts = [row["prompt"] for row in results[0]["prompts"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(results)
    for m, r in enumerate(results):
        by_prompt = {row["prompt"]: row for row in r["prompts"]}
        xs = [i + m * width for i in range(len(prompts))]
        a.bar(xs, [100 * by_prompt[p]["ROUGE_L"] for p in prompts], width, label=r["model"])
    a.set_xticks([i + 0.4 - width / 2 for i in range(len(prompts))], prompts, fontsize=8)
    a.set(title="zero-shot ROUGE-L per explanation prompt", ylabel="R-L x100")
    a.legend(fontsize=8)
    b.bar(range(len(results)), [r["repeat_pct"] for r in results])
    b.set_xticks(range(len(results)), [r["model"][-18:] for r in results], fontsize=7)
    b.set(title="jabber that repeats the answer", ylabel="%", ylim=(0, 100))
    for ax in (a, b):
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out: str | Path, results: list[dict]) -> str:
    """zeroshot.json, zeroshot.md and zeroshot.png under `out`; returns the markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "zeroshot.json").write_text(json.dumps(results, indent=2))
    md = table(results)
    (out / "zeroshot.md").write_text("# Zero-shot comparison (the paper's Table 2)\n\n" + md + "\n")
    plot(out / "zeroshot.png", results)
    return md
