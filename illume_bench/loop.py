"""Stage 5 of ILLUME: the round loop, without people (the paper's benchmark protocol).

Round 0 samples the train split zero-shot and keeps what the critic rates
fitting. Each later round tunes on every fitting rationale so far (a new
version), scores validation, and samples the still-unresolved train items
with the new version. It stops after N rounds, when the new fitting samples
are under 5% of those already collected, or when dev ROUGE-L stops improving.
The test split is scored at the end with the best version.

Selection never looks at a reported split: a held-out "dev" slice of the val
split (`dev_limit` items, disjoint from the reported val items) picks the
tuning job's best epoch, the best round for the test row and the patience
stop. The report shows val (per round) and test (at the end), neither of
which chose anything. The same slice gates publication (`gate`, on by
default): a round's new version serves only when the critic accepts about as
many of its sampled dev candidates as of the serving version's
(`illume_bench.publish_gate`); otherwise the round records "this round
changed nothing" with both shares, and the serving version samples on.

Where nothing fits yet (the normal case on real data in round 0: the paper's
MAGMA has a fitting candidate for 4% of VQA-X items), there is nothing to
tune on: the round is recorded with that reason, and the next one samples
again with the same model and more candidates (more samples per
temperature, more explanation prompts; `widened`), up to `resample_rounds`
times; then the loop stops with that reason and a complete report.

Each round also records how each automatic critic in `agreement` agrees
with the simulated annotator on its candidates (`illume_bench.critics.agreement`).

Every stage writes its result atomically into the run folder, and a round
is complete once its `round.json` exists, so re-running the same command
after a crash or Ctrl-C resumes where it stopped.

The run folder (`Run`) and the tuning helpers (`tune_version`, `critic_pairs`,
`same_gt_rationales`, ...) live in `illume_bench.run_folder`; the names other
code imports from here stay importable from here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

from illume import api
from illume.critique import Critic
from illume.items import Item, read_jsonl, write_jsonl
from illume.rationales import Rationale
from illume.sample import SampleConfig
from illume.tune import waiting_reason
from illume.tunejob import NothingChanged
from illume.versions import BASE_VERSION
from illume_bench.loop_config import DEV_SPLIT, LoopConfig
from illume_bench.publish_gate import PublishGate, accepted_share
from illume_bench.round_stats import critic_agreement, diversity, fact_rate_of, score_split
from illume_bench.run_folder import (
    Run,
    critic_pairs,
    same_gt_rationales,
    tune_version,
    tuning_rows,
)

log = logging.getLogger(__name__)


def critique_rows(run: Run, results, items: dict[str, Item]) -> list[dict]:
    """Sampled items -> rows with each candidate's critic score and verdict."""
    return api.critique(items.values(), results, run.critic)


def widened(config: SampleConfig, k: int) -> SampleConfig:
    """Sampling for the k-th round in a row where nothing fits: k + 1 times the samples
    per temperature and k more explanation prompts (the tuned-on first one stays first)."""
    from illume.sample import EXPLANATION_PROMPTS

    if k <= 0:
        return config
    extra = [p for p in EXPLANATION_PROMPTS if p not in config.explanation_prompts][:k]
    return replace(
        config,
        n_per_temperature=config.n_per_temperature * (k + 1),
        explanation_prompts=(*config.explanation_prompts, *extra),
    )


def sample_round(run: Run, model, r: int, config: SampleConfig | None = None) -> list[dict]:
    """Sample the unresolved train items with the current version, critique, save."""
    path = run.round_dir(r) / "critiqued.jsonl"
    if path.exists():
        return list(read_jsonl(path))
    config = config or run.config.sample
    resolved = {f.item_id for f in run.rationales(r - 1)} if r else set()
    todo = [it for it in run.splits["train"] if it.id not in resolved]
    sampler = api.sampler(model, config)
    sampler.reseed(config.seed + r)
    by_id = {it.id: it for it in run.splits["train"]}
    rows = critique_rows(run, sampler.sample(todo), by_id)
    write_jsonl(path, rows)
    return rows


def _empty_streak(r: int, run: Run) -> int:
    """How many rounds before r in a row ended with no fitting rationale at all."""
    k = 0
    while r - 1 - k >= 0:
        f = run.round_dir(r - 1 - k) / "round.json"
        if not f.exists() or json.loads(f.read_text())["n_fitting"]:
            break
        k += 1
    return k


def run_round(run: Run, model, r: int, scorers) -> dict:
    """One round: tune (r >= 1), score val, sample + critique; returns the round's record.

    With nothing to tune on yet (no fitting rationale so far), the round
    keeps the model, reuses the previous round's val scores and samples
    again with more candidates (`widened`).
    """
    cfg, rd = run.config, run.round_dir(r)
    prompt = cfg.sample.explanation_prompts[0]
    items = {it.id: it for s in run.splits.values() for it in s}
    before = run.rationales(r - 1) if r else []
    record: dict = {"round": r, "version": BASE_VERSION, "tuned": False}
    sampling = cfg.sample
    wait = waiting_reason(((f.item_id, f.text) for f in before), cfg.tune) if before else None
    unchanged = None
    if r and before and not wait:
        pairs = critic_pairs(run, r - 1, before) if cfg.tune.uses_dpo else None
        previous_version = _serving(run, r)
        start = previous_version if cfg.tune.start_from == "previous" else None
        try:
            version = tune_version(run, "illume", tuning_rows(before), {"round": r}, pairs, start)
        except NothingChanged as e:
            unchanged, version = e, previous_version
        if unchanged is None and cfg.gate:
            record["gate"] = gate_round(run, model, r, version)
            if not record["gate"]["published"]:
                version, record["note"] = previous_version, record["gate"]["note"]
        if version is None:
            model.reset_version()
        else:
            model.load_version(version)
        published = unchanged is None and record.get("gate", {}).get("published", True)
        record.update(version=version.name if version else BASE_VERSION, tuned=published)
        if unchanged is not None:
            record["note"] = str(unchanged)
            record["changed_nothing"] = {
                k: unchanged.metrics.get(k) for k in ("dev_start", "dev_scores", "select_by")
            }
        if "same-gt" in cfg.baselines:
            same_gt = tuning_rows(same_gt_rationales(before, items))
            same = tune_version(run, "same-gt", same_gt, {"round": r})
            model.load_version(same)
            record["same_gt"] = score_split(
                model, run.splits["val"], scorers, rd / "val-same-gt.json", prompt
            )
            model.load_version(version)
        record["val"] = score_split(model, run.splits["val"], scorers, rd / "val.json", prompt)
        record["dev"] = score_split(model, run.splits[DEV_SPLIT], scorers, rd / "dev.json", prompt)
    elif r and wait:  # too few rationales: the model stays, the round samples again
        version = _serving(run, r)
        if version is None:
            model.reset_version()
        else:
            model.load_version(version)
        record["version"] = version.name if version else BASE_VERSION
        previous = json.loads((run.round_dir(r - 1) / "round.json").read_text())
        record["val"], record["dev"] = previous["val"], previous.get("dev", {})
        record["note"] = wait
    elif r:
        model.reset_version()
        streak = _empty_streak(r, run)
        sampling = widened(cfg.sample, streak)
        previous = json.loads((run.round_dir(r - 1) / "round.json").read_text())
        record["val"], record["dev"] = previous["val"], previous.get("dev", {})
        record["note"] = (
            f"nothing to tune on (no fitting rationale in {streak} round(s)): sampled again "
            f"with the same model, {sampling.n_per_temperature} per temperature, prompts "
            + ", ".join(repr(p) for p in sampling.explanation_prompts)
        )
    else:
        model.reset_version()
        if cfg.gate:
            dev_candidates(run, model, rd / "dev-candidates.jsonl")
        record["val"] = score_split(model, run.splits["val"], scorers, rd / "val.json", prompt)
        record["dev"] = score_split(model, run.splits[DEV_SPLIT], scorers, rd / "dev.json", prompt)
    rows = sample_round(run, model, r, sampling)
    previous = run.round_dir(r - 1) / "critiqued.jsonl" if r else None
    before_rows = list(read_jsonl(previous)) if previous and previous.exists() else None
    after = run.rationales(r)
    n_train = len(run.splits["train"])
    record.update(
        n_fitting=len(after),
        new=len(after) - len(before),
        new_pct=100 * (len(after) - len(before)) / len(before) if before else None,
        rv_pct=100 * len({f.item_id for f in after}) / n_train if n_train else 0.0,
        sampled_items=len(rows),
        candidates=sum(len(row.get("candidates", [])) for row in rows),
        fact_error_candidates=fact_rate_of(rows, items, fitting_only=False),
        fact_error_fitting=fact_rate_of(rows, items, fitting_only=True),
        distinct=diversity(rows, before_rows, sampling.min_distinct),
        agreement=critic_agreement(rows, items, cfg.agreement, cfg.critic),
    )
    if not after:
        record["note"] = (record.get("note", "") + "; " if r else "") + (
            f"no fitting rationale among {record['candidates']} candidates"
        )
    (rd / "round.json").write_text(json.dumps(record, indent=2))
    return record


def dev_candidates(run: Run, model, path: Path) -> float:
    """The critic's accepted share of the loaded version's candidates on the dev items
    (sampled once with a fixed seed, cached in `path`): what the publish gate compares."""
    if not path.exists():
        sampler = api.sampler(model, run.config.sample)
        sampler.reseed(run.config.sample.seed + 1000)
        dev = run.splits[DEV_SPLIT]
        write_jsonl(path, critique_rows(run, sampler.sample(dev), {it.id: it for it in dev}))
    return accepted_share(list(read_jsonl(path)))


def gate_round(run: Run, model, r: int, version: Path) -> dict:
    """Whether round r's new version replaces the serving one (`PublishGate`), with both
    dev shares. Leaves the dev candidates of the version serving after round r in the
    round's folder, so the next round compares against them."""
    rd, gate = run.round_dir(r), PublishGate(run.config.gate_margin)
    serving, prev = run.round_dir(r - 1) / "dev-candidates.jsonl", _serving(run, r)
    if not serving.exists():  # a run from before the gate: sample the serving version
        if prev is None:
            model.reset_version()
        else:
            model.load_version(prev)
        dev_candidates(run, model, serving)
    old = dev_candidates(run, model, serving)
    model.load_version(version)
    new = dev_candidates(run, model, rd / "dev-candidates-new.jsonl")
    decision = gate.decide(new, old, prev.name if prev else BASE_VERSION)
    kept = rd / "dev-candidates-new.jsonl" if decision["published"] else serving
    (rd / "dev-candidates.jsonl").write_bytes(kept.read_bytes())
    return {"dev_items": len(run.splits[DEV_SPLIT]), **decision}


def _serving(run: Run, r: int) -> Path | None:
    """The version the round before r left serving (None: the base weights)."""
    if r <= 1:
        return None
    f = run.round_dir(r - 1) / "round.json"
    name = json.loads(f.read_text()).get("version", BASE_VERSION) if f.exists() else BASE_VERSION
    return None if name == BASE_VERSION else run.out / "versions" / "illume" / name


def stop_reason(rounds: list[dict], config: LoopConfig) -> str | None:
    """Why the loop should stop after these rounds, or None to go on."""
    last = rounds[-1]
    empty = 0
    for r in reversed(rounds):
        if r["n_fitting"]:
            break
        empty += 1
    nothing = (
        f"no fitting rationale in {empty} sampling round(s) "
        f"(last: {last.get('candidates', '?')} candidates): nothing to tune on"
    )
    if last["round"] >= config.rounds:
        return f"reached {config.rounds} rounds" + (f"; {nothing}" if empty else "")
    if empty:
        return nothing if empty > config.resample_rounds else None
    if (
        last["round"] >= 1
        and last["new_pct"] is not None
        and last["new_pct"] < 100 * config.saturation
    ):
        return f"saturated: {last['new_pct']:.1f}% new fitting samples"
    if last["round"] >= 1 and last["new"] == 0:
        return "no new fitting samples"
    scores = [selection_score(r) for r in rounds]
    best = max(range(len(scores)), key=scores.__getitem__)
    if len(scores) - 1 - best >= config.patience and last["round"] > config.patience:
        return f"dev ROUGE-L has not improved for {config.patience} round(s)"
    return None


def selection_score(record: dict) -> float:
    """What picks the best round: dev ROUGE-L (val only for a run from before the dev slice)."""
    return (record.get("dev") or record["val"])["ROUGE_L"]


def run_loop(
    items_path: str | Path, out: str | Path, config: LoopConfig, critic: Critic | None = None
) -> dict:
    """Run (or resume) the loop; write report.json/.md/.png; return the report.

    The critic defaults to coco ROUGE-L against the references; any `Critic`
    (see critique.py) can stand in.
    """
    from illume.models import load_model
    from illume_bench.evaluate import Scorers
    from illume_bench.report import write_report

    run = Run(out, items_path, config, critic)
    (run.out / "config.json").write_text(json.dumps(asdict(config), indent=2))
    model = load_model(config.model)
    rounds = run.completed_rounds()
    if rounds:
        log.info("resuming after round %d", rounds[-1]["round"])
    with Scorers() as scorers:
        reason = stop_reason(rounds, config) if rounds else None
        while reason is None:
            rounds.append(run_round(run, model, len(rounds), scorers))
            log.info(
                "round %d: val R-L %.4f, dev R-L %.4f, RV %.1f%%, %d fitting",
                rounds[-1]["round"],
                rounds[-1]["val"]["ROUGE_L"],
                selection_score(rounds[-1]),
                rounds[-1]["rv_pct"],
                rounds[-1]["n_fitting"],
            )
            write_report(run.out, rounds, {})
            reason = stop_reason(rounds, config)
        final = finish(run, model, rounds, scorers)
    final["stop_reason"] = reason
    return write_report(run.out, rounds, final)


def finish(run: Run, model, rounds: list[dict], scorers) -> dict:
    """Test scores: zero-shot, the best ILLUME version, same-gt's last, and full-gt."""
    cfg, fd = run.config, run.out / "final"
    fd.mkdir(exist_ok=True)
    prompt = cfg.sample.explanation_prompts[0]
    test = run.splits["test"]
    best = max(rounds, key=lambda r: (selection_score(r), r["round"]))  # ties: more data
    final: dict = {
        "best_round": best["round"],
        "best_version": best["version"],
        "selected_on": f"{DEV_SPLIT} ({len(run.splits[DEV_SPLIT])} held-out val items)",
    }
    model.reset_version()
    final["test_zero_shot"] = score_split(model, test, scorers, fd / "test-zero-shot.json", prompt)
    tuned = best["version"] != BASE_VERSION
    if tuned:
        model.load_version(run.out / "versions" / "illume" / best["version"])
        final["test_illume"] = score_split(
            model, test, scorers, fd / f"test-illume-{best['version']}.json", prompt
        )
    else:  # nothing was tuned (or nothing beat zero-shot on val): ILLUME is the base model
        final["test_illume"] = final["test_zero_shot"]
    items = {it.id: it for s in run.splits.values() for it in s}
    if "same-gt" in cfg.baselines and tuned:
        same = tuning_rows(same_gt_rationales(run.rationales(best["round"] - 1), items))
        model.load_version(tune_version(run, "same-gt", same, {"round": best["round"]}))
        final["test_same_gt"] = score_split(
            model, test, scorers, fd / f"test-same-gt-r{best['round']:02d}.json", prompt
        )
    if "full-gt" in cfg.baselines:
        full = [
            Rationale(it.id, e, "reference", 0, None)
            for it in run.splits["train"]
            for e in it.explanations[:1]
        ]
        model.load_version(tune_version(run, "full-gt", tuning_rows(full), {"round": 0}))
        final["val_full_gt"] = score_split(
            model, run.splits["val"], scorers, fd / "val-full-gt.json", prompt
        )
        final["test_full_gt"] = score_split(model, test, scorers, fd / "test-full-gt.json", prompt)
    return final
