"""The loop without people, end to end on a tiny model through the DeepSpeed tuning job."""

import json
import os

import pytest

from illume.items import write_jsonl
from illume.sample import SampleConfig
from illume.tune import TuneConfig
from illume_bench.loop import LoopConfig, run_loop, stop_reason, widened

pytestmark = pytest.mark.deepspeed


class EveryOtherItemCritic:
    """Accepts the first candidate of every second item it is shown: a deterministic critic."""

    threshold = 0.5

    def __init__(self):
        self.calls = 0

    def score(self, item, texts):
        self.calls += 1
        return [1.0 if self.calls % 2 and i == 0 else 0.0 for i in range(len(texts))]

    def fitting(self, score):
        return score >= self.threshold


@pytest.fixture
def loop_items(image_dir):
    rows = []
    for split, n in (("train", 8), ("val", 3), ("test", 3)):
        for k in range(n):
            rows.append(
                {
                    "id": f"{split}{k}",
                    "image": "rgb.png" if k % 2 else "gray.jpg",
                    "question": "what colour is the shape?",
                    "answer": "red",
                    "explanations": ["the shape is red", "it is a red circle"],
                    "split": split,
                    "facts": {"colour": "red", "shape": "circle"},
                }
            )
    path = image_dir / "loop-items.jsonl"
    write_jsonl(path, rows)
    return path


@pytest.fixture
def tiny_env(tiny_lm_dir, monkeypatch):
    monkeypatch.setenv("ILLUME_LM", str(tiny_lm_dir))
    monkeypatch.setenv("ILLUME_ENCODER", "tiny")


def _config(rounds, **loop):
    settings = {"gate": False, "baselines": ("same-gt",), **loop}
    return LoopConfig(
        rounds=rounds,
        tune=TuneConfig(
            steps=0,
            epochs=1,
            batch_size=4,
            vqa_ratio=1.0,
            val_items=16,
            min_rationales=1,
            min_items=1,
        ),
        sample=SampleConfig(n_per_temperature=2, max_new_tokens=4),
        **settings,
    )


def test_two_rounds_report_and_resume(loop_items, tmp_path, tiny_env):
    out = tmp_path / "run"
    report = run_loop(loop_items, out, _config(1), EveryOtherItemCritic())
    assert [r["round"] for r in report["rounds"]] == [0, 1]
    r0_candidates = out / "rounds" / "r00" / "critiqued.jsonl"
    stamp = os.stat(r0_candidates).st_mtime_ns
    # asking for one more round resumes: round 0 and 1 are not redone
    report = run_loop(loop_items, out, _config(2), EveryOtherItemCritic())
    rounds = report["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert os.stat(r0_candidates).st_mtime_ns == stamp
    assert rounds[0]["n_fitting"] == 4 and rounds[0]["rv_pct"] == 50.0
    assert rounds[1]["sampled_items"] == 4  # only the unresolved items are sampled again
    assert rounds[0]["distinct"]["before"] is None and rounds[0]["distinct"]["after"]["items"] == 8
    assert rounds[1]["distinct"]["before"]["items"] == rounds[1]["distinct"]["after"]["items"] == 4
    assert rounds[1]["n_fitting"] == 6 and rounds[1]["new_pct"] == 50.0
    assert [r["version"] for r in rounds] == ["zero-shot", "v0001", "v0002"]
    assert all("same_gt" in r for r in rounds[1:])
    assert {"test_zero_shot", "test_illume", "test_same_gt"} <= set(report["final"])
    versions = sorted(p.name for p in (out / "versions" / "illume").iterdir())
    assert versions == ["v0001", "v0002"]  # no temporary folder left behind
    manifest = (out / "versions" / "illume" / "v0002" / "manifest.jsonl").read_text()
    assert sum('"kind": "exp"' in line for line in manifest.splitlines()) == 6
    md = (out / "report.md").read_text()
    assert "| round | B-1" in md and "fact-err" in md and "Test split" in md
    assert "| round | items | before: mean | after: mean" in md
    assert (out / "report.png").stat().st_size > 10_000
    assert json.loads((out / "report.json").read_text())["final"]["stop_reason"]


class FirstCandidateCritic:
    """Accepts the first candidate of every item: the same verdicts for any version."""

    threshold = 0.5

    def score(self, item, texts):
        return [1.0 if i == 0 else 0.0 for i in range(len(texts))]

    def fitting(self, score):
        return score >= self.threshold


@pytest.mark.parametrize(("margin", "published"), [(0.03, True), (-1.0, False)])
def test_the_gate_publishes_a_round_only_on_the_dev_candidates_verdicts(
    loop_items, tmp_path, tiny_env, margin, published
):
    out = tmp_path / "run"
    config = _config(1, gate=True, gate_margin=margin, baselines=())
    report = run_loop(loop_items, out, config, FirstCandidateCritic())
    r1 = report["rounds"][1]
    assert (out / "rounds" / "r00" / "dev-candidates.jsonl").exists()
    assert r1["gate"]["dev_items"] > 0 and r1["gate"]["published"] is published
    assert r1["gate"]["new"] == r1["gate"]["serving"]  # this critic cannot tell them apart
    assert r1["tuned"] is published
    assert r1["version"] == ("v0001" if published else "zero-shot")
    if not published:  # -1: the new version must be better by 100 points, so it never is
        assert r1["note"].startswith("this round changed nothing")
        assert (out / "versions" / "illume" / "v0001").exists()  # tuned, kept, not served


def test_stop_rules():
    cfg = LoopConfig(rounds=5, saturation=0.05, patience=1)
    base = {"val": {"ROUGE_L": 0.3}, "new": 10, "new_pct": 50.0, "n_fitting": 20}
    assert stop_reason([{**base, "round": 0, "new_pct": None}], cfg) is None
    assert "saturated" in stop_reason(
        [{**base, "round": 0}, {**base, "round": 1, "new_pct": 4.0}], cfg
    )
    worse = [
        {**base, "round": 0},
        {**base, "round": 1, "val": {"ROUGE_L": 0.4}},
        {**base, "round": 2, "val": {"ROUGE_L": 0.35}},
    ]
    assert "not improved" in stop_reason(worse, cfg)
    assert "rounds" in stop_reason([{**base, "round": 5}], cfg)


@pytest.fixture
def unmatchable_items(loop_items):
    """The same items with references no candidate can match (the real-photo regime)."""
    rows = []
    for line in loop_items.read_text().splitlines():
        row = json.loads(line)
        row["explanations"] = ["zqxv plorft wumbo kreel", "vvrak snoob gleep"]
        rows.append(row)
    path = loop_items.parent / "unmatchable.jsonl"
    write_jsonl(path, rows)
    return path


def test_nothing_fits_the_loop_samples_again_then_stops_with_a_complete_report(
    unmatchable_items, tmp_path, tiny_env, capsys
):
    from illume.cli import main

    out = tmp_path / "run"
    argv = ["loop", "--items", str(unmatchable_items), "--out", str(out), "--rounds", "3"]
    argv += ["--resample-rounds", "1", "--sample-n-per-temperature", "1"]
    argv += ["--sample-max-new-tokens", "4", "--agreement", "rouge", "facts"]
    argv += ["--sample-top-up-rounds", "0"]  # round 1's widening alone adds candidates
    assert main(argv) == 0  # no traceback, no failed tuning job
    report = json.loads((out / "report.json").read_text())
    rounds = report["rounds"]
    assert [r["round"] for r in rounds] == [0, 1]
    assert all(r["n_fitting"] == 0 and not r["tuned"] for r in rounds)
    assert "no fitting rationale among" in rounds[0]["note"]
    assert "sampled again with the same model, 2 per temperature" in rounds[1]["note"]
    assert rounds[1]["candidates"] > rounds[0]["candidates"]  # more candidates the second time
    assert rounds[1]["val"] == rounds[0]["val"]  # same model: val is not scored again
    distinct = rounds[1]["distinct"]
    assert distinct["before"]["items"] == distinct["after"]["items"] == rounds[1]["sampled_items"]
    assert rounds[0]["agreement"]["rouge"]["n"] == rounds[0]["candidates"]
    assert "no fitting rationale in 2 sampling round(s)" in report["final"]["stop_reason"]
    assert report["final"]["test_illume"] == report["final"]["test_zero_shot"]
    assert not (out / "versions").exists()  # nothing was tuned
    md = (out / "report.md").read_text()
    assert "- round 1: nothing to tune on" in md and "no round found a fitting rationale" in md
    assert "| 0 | rouge |" in md
    assert "| round | items | before: mean | after: mean" in md
    assert "no fitting rationale" in capsys.readouterr().out


def test_rounds_without_fits_go_on_until_resample_rounds_are_spent():
    cfg = LoopConfig(rounds=5, resample_rounds=2)
    empty = {"val": {"ROUGE_L": 0.3}, "new": 0, "new_pct": None, "n_fitting": 0}
    assert stop_reason([{**empty, "round": 0}], cfg) is None
    assert stop_reason([{**empty, "round": 0}, {**empty, "round": 1}], cfg) is None
    three = [{**empty, "round": r} for r in range(3)]
    assert "no fitting rationale in 3 sampling round(s)" in stop_reason(three, cfg)
    # fits found on the second try: the loop tunes next, it does not stop
    found = {**empty, "round": 1, "new": 3, "n_fitting": 3}
    assert stop_reason([{**empty, "round": 0}, found], cfg) is None
    last = [{**empty, "round": 0}, {**empty, "round": 5}]
    assert "reached 5 rounds; no fitting rationale" in stop_reason(last, cfg)


def test_widened_sampling_has_more_samples_and_prompts():
    base = SampleConfig(n_per_temperature=3, explanation_prompts=("because",))
    assert widened(base, 0) == base
    two = widened(base, 2)
    assert two.n_per_temperature == 9
    assert two.explanation_prompts[0] == "because" and len(two.explanation_prompts) == 3


def test_a_hugging_face_model_runs_the_same_loop(loop_items, tmp_path, monkeypatch):
    from illume.testing.tiny_vlms import build

    folder = build("llava", tmp_path / "llava")
    monkeypatch.setenv("ILLUME_MODEL", f"hf:{folder}")
    config = _config(1)
    config.baselines = ()
    report = run_loop(loop_items, tmp_path / "run", config, EveryOtherItemCritic())
    assert [r["version"] for r in report["rounds"]] == ["zero-shot", "v0001"]
    version = tmp_path / "run" / "versions" / "illume" / "v0001"
    adapter = json.loads((version / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"
    assert json.loads((version / "model.json").read_text())["family"] == "hf"


def test_selection_uses_a_dev_slice_disjoint_from_the_reported_val(tmp_path, image_dir):
    from illume_bench.loop import DEV_SPLIT, Run

    rows = [
        {"id": f"{s}{k}", "image": "rgb.png", "question": "q?", "answer": "a", "split": s}
        for s, n in (("train", 4), ("val", 40), ("test", 4))
        for k in range(n)
    ]
    items = image_dir / "dev-items.jsonl"
    write_jsonl(items, rows)
    cfg = LoopConfig(val_limit=10, dev_limit=16)
    run = Run(tmp_path / "run", items, cfg, critic=EveryOtherItemCritic())
    dev = {it.id for it in run.splits[DEV_SPLIT]}
    val = {it.id for it in run.splits["val"]}
    assert len(dev) == 16 and len(val) == 10 and not dev & val
    written = [json.loads(line) for line in run.items_file.read_text().splitlines()]
    assert {r["id"] for r in written if r["split"] == DEV_SPLIT} == dev
    assert cfg.tune_config().val_split == DEV_SPLIT  # the tuning job's best epoch, too


def test_the_best_round_is_the_best_on_dev_not_on_val():
    cfg = LoopConfig(rounds=5, patience=1)
    base = {"new": 10, "new_pct": 50.0, "n_fitting": 20}
    rounds = [
        {**base, "round": 0, "val": {"ROUGE_L": 0.3}, "dev": {"ROUGE_L": 0.3}},
        {**base, "round": 1, "val": {"ROUGE_L": 0.5}, "dev": {"ROUGE_L": 0.4}},
        {**base, "round": 2, "val": {"ROUGE_L": 0.6}, "dev": {"ROUGE_L": 0.35}},
    ]
    # val rose, dev fell: the patience stop reads dev
    assert "dev ROUGE-L has not improved" in stop_reason(rounds, cfg)
