"""The loop's run folder, and the versions tuned into it.

`Run` lays out one `illume loop` run on disk: the items drawn per split
(items.jsonl), each round's critiqued samples and the rationales the critic
accepted in them. The tuning helpers turn those rationales (and, with DPO,
the critic's rejects) into a tuning job's input and a version under
versions/<name>/; a version that already exists, or a job that changed
nothing, is found again rather than tuned again, so a resumed run picks up
where it stopped. The round driver that uses both is illume_bench/loop.py.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import replace
from pathlib import Path

from illume import api
from illume.critique import Critic
from illume.items import Item, load_items, read_jsonl, write_jsonl
from illume.pairs import build_pairs, rejected_candidates
from illume.rationales import Rationale, unique_rationales
from illume.tunejob import NothingChanged, TuneJob
from illume_bench.critics import make_critic
from illume_bench.loop_config import DEV_SPLIT, POOL_SPLIT, LoopConfig

log = logging.getLogger(__name__)


def draw(items: list[Item], limit: int | None, seed: int) -> list[Item]:
    """A seeded spread of `limit` items over a split, in file order (not the split's head)."""
    if not limit or limit >= len(items):
        return items
    keep = set(random.Random(seed).sample(range(len(items)), limit))
    return [it for i, it in enumerate(items) if i in keep]


class Run:
    """The run folder: items per split, rounds, versions, report."""

    def __init__(
        self, out: str | Path, items_path: str | Path, config: LoopConfig, critic: Critic | None
    ):
        self.out = Path(out)
        self.config = config
        self.out.mkdir(parents=True, exist_ok=True)
        items, errors = load_items(items_path)
        if errors:
            log.warning("%d items skipped: %s", len(errors), errors[:3])
        seed = config.sample.seed
        by_split = {s: [it for it in items if it.split == s] for s in ("train", "val", "test")}
        dev = draw(by_split["val"], min(config.dev_limit, len(by_split["val"]) // 2), seed + 1)
        dev_ids = {it.id for it in dev}
        sampled = draw(by_split["train"], config.train_limit, seed)
        sampled_ids = {it.id for it in sampled}
        self.splits: dict[str, list[Item]] = {
            "train": sampled,
            "val": draw(
                [it for it in by_split["val"] if it.id not in dev_ids], config.val_limit, seed
            ),
            "test": draw(by_split["test"], config.test_limit, seed),
            DEV_SPLIT: [replace(it, split=DEV_SPLIT) for it in dev],
        }
        # X^A is drawn from the whole train split (the paper), not only the sampled items
        pool = [
            replace(it, split=POOL_SPLIT) for it in by_split["train"] if it.id not in sampled_ids
        ]
        self.items_file = self.out / "items.jsonl"
        if not self.items_file.exists():
            rows = [it.to_dict() for s in self.splits.values() for it in s]
            write_jsonl(self.items_file, rows + [it.to_dict() for it in pool])
        self.critic = critic or make_critic(config.critic)

    def round_dir(self, r: int) -> Path:
        path = self.out / "rounds" / f"r{r:02d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def completed_rounds(self) -> list[dict]:
        rounds = []
        for r in range(self.config.rounds + 1):
            f = self.out / "rounds" / f"r{r:02d}" / "round.json"
            if not f.exists():
                break
            rounds.append(json.loads(f.read_text()))
        return rounds

    def rationales(self, upto: int) -> list[Rationale]:
        """X^E: every rationale the critic accepted in rounds 0..upto, deduplicated."""
        found = []
        for r in range(upto + 1):
            path = self.out / "rounds" / f"r{r:02d}" / "critiqued.jsonl"
            if not path.exists():
                continue
            for row in read_jsonl(path):
                found += [
                    Rationale.from_candidate(row["id"], c, r)
                    for c in row.get("candidates", [])
                    if c.get("fitting")
                ]
        return unique_rationales(found)


def tuning_rows(rationales: list[Rationale]) -> list[dict]:
    """The rationales file the tuning job reads."""
    return [r.to_row() for r in rationales]


def critic_pairs(run: Run, upto: int, fitting: list[Rationale]) -> list[dict]:
    """(fitting, rejected) pairs of the same item from the critic's verdicts of rounds 0..upto."""
    paths = [run.out / "rounds" / f"r{r:02d}" / "critiqued.jsonl" for r in range(upto + 1)]
    rejected = rejected_candidates(row for p in paths if p.exists() for row in read_jsonl(p))
    return [p.to_row() for p in build_pairs(((f.item_id, f.text) for f in fitting), rejected)]


def tune_version(
    run: Run,
    name: str,
    rationales: list[dict],
    extra: dict,
    pairs: list[dict] | None = None,
    base: Path | None = None,
) -> Path:
    """Run the tuning job (DeepSpeed, a child process) unless this version already exists.

    Raises `NothingChanged` (remembered in the run folder, so a resumed run does not tune
    again) when the dev selection kept the starting weights."""
    root = run.out / "versions" / name
    done = _find_version(root, extra)
    if done:
        return done
    unchanged = root / f"unchanged-{extra['round']:02d}.json"
    if unchanged.exists():
        raise NothingChanged(json.loads(unchanged.read_text()))
    fb_path = run.out / "rationales" / f"{name}-{extra['round']:02d}.jsonl"
    write_jsonl(fb_path, rationales)
    if pairs is not None:
        write_jsonl(fb_path.with_suffix(".pairs.jsonl"), pairs)
    cfg = run.config
    job = TuneJob(
        items=str(run.items_file),
        rationales=str(fb_path),
        pairs=str(fb_path.with_suffix(".pairs.jsonl")) if pairs is not None else None,
        versions=str(root),
        metrics_extra=json.dumps(extra),
    )
    if base is not None:
        job = replace(job, base=str(base))
    log.info("tuning %s round %d on %d rationales", name, extra["round"], len(rationales))
    try:
        return api.run_tune_job(job, cfg.tune_config(), cfg.model, cfg.launch)
    except NothingChanged as e:
        root.mkdir(parents=True, exist_ok=True)
        unchanged.write_text(json.dumps(e.metrics, indent=2))
        raise


def _find_version(root: Path, extra: dict) -> Path | None:
    from illume.versions import list_versions

    for v in list_versions(root):
        meta = json.loads((v / "metrics.json").read_text())
        if all(meta.get(k) == val for k, val in extra.items()):
            return v
    return None


def same_gt_rationales(accepted: list[Rationale], items: dict[str, Item]) -> list[Rationale]:
    """The same items' reference explanations instead of the accepted ones, same count."""
    used: dict[str, int] = {}
    out = []
    for f in accepted:
        refs = items[f.item_id].explanations
        if refs:
            k = used.get(f.item_id, 0)
            used[f.item_id] = k + 1
            out.append(Rationale(f.item_id, refs[k % len(refs)], "reference", f.round, None))
    return out
