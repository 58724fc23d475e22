"""The engine's one door: the stages of a round as plain functions.

The loop, the command line, the tuning job and the Label Studio backend call
these instead of building a `Sampler` or starting the tuning job themselves,
so a stage can change inside without its callers noticing. Records go in and
come out; nothing here knows of Label Studio or of files it was not asked to write.

    results = list(sampler(model, SampleConfig()).sample(items))
    rows = critique(items, results)                   # RougeCritic by default
    version = tune(items, rationales, "versions/", base=None)

Stage 4, the coco-caption metrics, belongs to the benchmark kit
(`illume_bench.evaluate.evaluate`): neither the backend nor the tuning job uses it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from illume.critique import Critic, RougeCritic
from illume.items import Item, write_jsonl
from illume.models import ModelChoice
from illume.models.base import VisionLanguageModel
from illume.sample import SampleConfig, SampledItem, Sampler
from illume.tune import TuneConfig
from illume.tunejob import Launch, TuneJob, run_job
from illume.tuneprogress import ProgressCallback

log = logging.getLogger(__name__)


def sampler(model: VisionLanguageModel, config: SampleConfig | None = None) -> Sampler:
    """Stage 1's worker, for callers that sample again and again with one model
    (`.sample(items)` streams `SampledItem`s; `.reseed(seed)`, `.config`)."""
    return Sampler(model, config)


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
    for result in sampler(model, cfg).sample(items, progress=False):
        if result.error is None and result.candidates:
            out[result.id] = result.candidates[0].text
        elif result.error is not None:
            log.warning("item %s: %s", result.id, result.error)
    return out


def critique(
    items: Iterable[Item], results: Iterable[SampledItem], critic: Critic | None = None
) -> list[dict[str, Any]]:
    """Stage 2: each sampled item as a dict whose candidates carry `score` and `fitting`.

    `critic` defaults to coco ROUGE-L against the items' references
    (`RougeCritic`); any `Critic` stands in.
    """
    critic = critic or RougeCritic()
    by_id = {it.id: it for it in items}
    rows = []
    for res in results:
        row = res.to_dict()
        if res.error is None:
            scores = critic.score(by_id[res.id], [c.text for c in res.candidates])
            for c, s in zip(row["candidates"], scores, strict=True):
                c["score"], c["fitting"] = round(s, 4), critic.fitting(s)
        rows.append(row)
    return rows


def tune(
    items: Iterable[Item],
    rationales: Iterable[dict[str, str]],
    versions: str | Path,
    base: str | Path | None = None,
    config: TuneConfig | None = None,
    *,
    pairs: Iterable[dict[str, str]] | None = None,
    model: ModelChoice | None = None,
    launch: Launch | None = None,
    work: str | Path | None = None,
    output: IO | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Stage 3: tune on the fitting rationales, publish the next version, return its path.

    `rationales` are {"id": item id, "text": rationale}: every fitting one so
    far (X^E). `pairs` are {"id", "chosen", "rejected"} (`illume.pairs.Pair.to_row`) for
    `config.objective` dpo or sft+dpo. The DeepSpeed job runs in a child process; its
    input files and its progress records (`progress.jsonl`) go to `work` (a temporary folder
    when None), its output to `output`. `on_progress` gets each progress record (epoch,
    step, steps, loss, tokens_per_s, ...: illume.tuneprogress) in this thread while the job
    runs. Raises subprocess.CalledProcessError when the job fails: nothing is published.
    """
    with tempfile.TemporaryDirectory(prefix="illume-round-") as tmp:
        folder = Path(work) if work is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        write_jsonl(folder / "items.jsonl", (it.to_dict() for it in items))
        write_jsonl(folder / "rationales.jsonl", rationales)
        pairs_file = None
        if pairs is not None:
            pairs_file = str(folder / "pairs.jsonl")
            write_jsonl(pairs_file, pairs)
        job = TuneJob(
            items=str(folder / "items.jsonl"),
            rationales=str(folder / "rationales.jsonl"),
            versions=str(versions),
            pairs=pairs_file,
            base=str(base) if base is not None else None,
            result=str(folder / "result.json"),
            progress=str(folder / "progress.jsonl"),
        )
        return run_tune_job(job, config, model, launch, output, on_progress)


def run_tune_job(
    job: TuneJob,
    config: TuneConfig | None = None,
    model: ModelChoice | None = None,
    launch: Launch | None = None,
    output: IO | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Stage 3 on input files that already exist (`job` names them): run the tuning job
    as a child process and return the version it published (see `tune`)."""
    model = model or ModelChoice.from_env()
    return run_job(job, config or TuneConfig(), model, launch, output, on_progress)
