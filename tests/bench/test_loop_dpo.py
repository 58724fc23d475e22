"""The loop with `--objective sft+dpo`: the critic's rejects reach the tuning job as pairs.

Kept apart from tests/bench/test_loop.py (the loop's own tests) so that the two can change alone.
"""

import json
from types import SimpleNamespace

import pytest

from illume.items import read_jsonl, write_jsonl
from illume.rationales import Rationale
from illume.sample import SampleConfig
from illume.tune import TuneConfig
from illume_bench.loop import LoopConfig, critic_pairs, run_loop
from tests.bench.test_loop import EveryOtherItemCritic, loop_items, tiny_env  # noqa: F401 (fixtures)


def test_critic_pairs_pair_each_rounds_rejects_with_the_items_fitting_texts(tmp_path):
    for r, rows in enumerate(
        [
            [
                {
                    "id": "a",
                    "candidates": [
                        {"text": "fits", "fitting": True},
                        {"text": "no", "fitting": False},
                    ],
                }
            ],
            [{"id": "b", "candidates": [{"text": "nope", "fitting": False}]}],  # b: nothing fits
        ]
    ):
        write_jsonl(tmp_path / "rounds" / f"r{r:02d}" / "critiqued.jsonl", rows)
    fitting = [Rationale("a", "fits", "critic", 0)]
    run = SimpleNamespace(out=tmp_path)
    assert critic_pairs(run, 1, fitting) == [{"id": "a", "chosen": "fits", "rejected": "no"}]
    assert critic_pairs(run, 0, []) == []


@pytest.mark.deepspeed
def test_a_tiny_loop_tunes_with_sft_plus_dpo(loop_items, tmp_path, tiny_env):  # noqa: F811
    out = tmp_path / "run"
    config = LoopConfig(
        rounds=1,
        tune=TuneConfig(
            steps=0,
            epochs=1,
            batch_size=4,
            vqa_ratio=1.0,
            val_items=4,
            objective="sft+dpo",
            min_rationales=1,
            min_items=1,
        ),
        sample=SampleConfig(n_per_temperature=2, max_new_tokens=4),
        gate=False,  # the round's version serves whatever its dev candidates (tested in test_loop)
    )
    report = run_loop(loop_items, out, config, EveryOtherItemCritic())
    assert [r["version"] for r in report["rounds"]] == ["zero-shot", "v0001"]
    pairs = list(read_jsonl(out / "rationales" / "illume-01.pairs.jsonl"))
    assert pairs and all(p["chosen"] != p["rejected"] for p in pairs)
    metrics = json.loads((out / "versions" / "illume" / "v0001" / "metrics.json").read_text())
    assert metrics["n_pairs"] == len(pairs) and metrics["config"]["objective"] == "sft+dpo"
    assert metrics["dpo_losses"]
