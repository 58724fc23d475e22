"""The tuning job through the real DeepSpeed engine (gloo, CPU), on a tiny model."""

import json
import math
import os
import socket
import subprocess
import sys

import pytest

from illume.items import write_jsonl
from illume.tunejob import Launch, TuneJob, job_command, read_result
from illume.tuneprogress import ProgressTail
from illume.versions import list_versions

pytestmark = pytest.mark.deepspeed


@pytest.fixture
def job(tmp_path, image_dir, tiny_lm_dir):
    rows = [
        {
            "id": f"t{k}",
            "image": "rgb.png" if k % 2 else "gray.jpg",
            "question": f"what {k}?",
            "answer": "red",
            "explanations": ["it is red"],
            "split": "val" if k >= 10 else "train",
        }
        for k in range(12)
    ]
    items = image_dir / "job-items.jsonl"
    write_jsonl(items, rows)
    rationales = tmp_path / "rationales.jsonl"
    write_jsonl(
        rationales, [{"id": "t0", "text": "it is red"}, {"id": "t1", "text": "it is bright"}]
    )
    env = {**os.environ, "ILLUME_LM": str(tiny_lm_dir), "ILLUME_ENCODER": "tiny"}
    args = [
        "--items",
        str(items),
        "--rationales",
        str(rationales),
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--vqa-ratio",
        "3",
        "--val-items",
        "2",
        "--min-rationales-per-epoch",  # every epoch: these tests count the steps
        "0",
        "--steps",  # passes, not the default step budget: these tests count the steps
        "0",
    ]
    return args, env, tmp_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, env):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_one_rank_publishes_a_complete_version(job):
    args, env, tmp = job
    result, progress = tmp / "result.json", tmp / "progress.jsonl"
    cmd = [sys.executable, "-m", "training.train", *args, "--versions", str(tmp / "v")]
    out = _run([*cmd, "--result", str(result), "--progress", str(progress)], env)
    assert out.returncode == 0, out.stderr[-2000:]
    (version,) = list_versions(tmp / "v")
    assert version.name == "v0001"
    assert read_result(result) == version  # what a parent reads
    assert {p.name for p in version.iterdir()} == {
        "adapters.safetensors",
        "model.json",
        "metrics.json",
        "manifest.jsonl",
        "COMPLETE",  # the completion marker, written last (illume.versions)
    }
    metrics = json.loads((version / "metrics.json").read_text())
    assert metrics["n_exp"] == 2 and metrics["n_vqa"] == 6 and metrics["b"] == 3.0
    assert len(metrics["losses"]) == 2 * 2 and metrics["tokens_per_s"] > 0
    assert "loss" in out.stderr and "tokens/s" in out.stderr
    records = ProgressTail(progress).read()
    steps = [r for r in records if r["event"] == "step"]
    assert [(r["epoch"], r["step"]) for r in steps] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert [r["loss"] for r in steps] == pytest.approx(metrics["losses"])
    assert all(math.isfinite(r["loss"]) and r["tokens_per_s"] > 0 for r in steps)
    assert steps[-1]["global_step"] == steps[-1]["total_steps"] == 4
    checks = [r for r in records if r["event"] == "epoch"]
    assert [r["dev_score"] for r in checks] == metrics["dev_scores"]  # minus the dev NLL
    assert metrics["select_by"] == "nll" and len(checks) == 2


def test_failed_job_publishes_nothing(job, tmp_path):
    args, env, tmp = job
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"id": "nope", "text": "x"}])
    args = [a if a != args[3] else str(bad) for a in args]
    cmd = [sys.executable, "-m", "training.train", *args, "--versions", str(tmp / "v")]
    out = _run([*cmd, "--result", str(tmp_path / "result.json")], env)
    assert out.returncode != 0
    assert "no fitting rationales" in out.stderr
    assert list_versions(tmp / "v") == []
    assert not (tmp_path / "result.json").exists()


def test_two_ranks_give_the_same_losses_as_one(job):
    args, env, tmp = job
    one = _run([sys.executable, "-m", "training.train", *args, "--versions", str(tmp / "one")], env)
    assert one.returncode == 0, one.stderr[-2000:]
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
    ]
    two = _run([*torchrun, "-m", "training.train", *args, "--versions", str(tmp / "two")], env)
    assert two.returncode == 0, two.stderr[-3000:]
    l1 = json.loads((list_versions(tmp / "one")[0] / "metrics.json").read_text())["losses"]
    l2 = json.loads((list_versions(tmp / "two")[0] / "metrics.json").read_text())["losses"]
    assert len(l1) == len(l2) == 4
    assert l1 == pytest.approx(l2, rel=1e-4)


def _family_model(family: str, tmp_path, tiny_lm_dir) -> list[str]:
    """`--model` flags for a tiny model of each non-default family."""
    if family.startswith("hf"):
        from illume.testing.tiny_vlms import build

        folder = build("llava", tmp_path / "llava")
        return ["--model", f"hf:{folder}", "--peft", family.split("-", 1)[1]]
    import torch

    from illume.models.magma.importer import import_checkpoint
    from illume.models.magma.magma_vlm import magma_tokenizer
    from tests.models.tiny_magma import TINY, _magma_checkpoint, _source

    checkpoint = tmp_path / "mp_rank_00_model_states.pt"
    source = _source(magma_tokenizer(str(tiny_lm_dir)))
    torch.save({"module": _magma_checkpoint(source)}, checkpoint)
    import_checkpoint(checkpoint, tmp_path / "magma", "v1", str(tiny_lm_dir), **TINY)
    return ["--model", f"magma:{tmp_path / 'magma'}"]


@pytest.mark.parametrize("family", ["hf-lora", "hf-prompt", "hf-adapters", "magma"])
def test_every_family_tunes_and_publishes_through_deepspeed(job, family, tiny_lm_dir):
    from illume.models import ModelChoice, load_model

    args, env, tmp = job
    flags = _family_model(family, tmp, tiny_lm_dir)
    cmd = [sys.executable, "-m", "training.train", *args, *flags, "--versions", str(tmp / "v")]
    out = _run(cmd, env)
    assert out.returncode == 0, out.stderr[-2000:]
    (version,) = list_versions(tmp / "v")
    meta = json.loads((version / "model.json").read_text())
    assert meta["family"] == family.split("-")[0]
    metrics = json.loads((version / "metrics.json").read_text())
    assert len(metrics["losses"]) == 4 and metrics["tokens_per_s"] > 0
    choice = ModelChoice(model=flags[1], peft=flags[3] if len(flags) > 2 else "lora")
    assert load_model(choice, version).version == "v0001"


def test_illume_tune_sft_plus_dpo_runs_on_the_deepspeed_engine(job):
    """`illume tune --objective sft+dpo --pairs F`: the DPO term starts at log 2 (the model is
    its own reference before the first step) and the pairs reach the manifest."""
    import math

    from illume.pairs import Pair

    args, env, tmp = job
    pairs = tmp / "pairs.jsonl"
    rows = [Pair("t0", "it is red", "it is blue"), Pair("t1", "it is bright", "it is a cat")]
    write_jsonl(pairs, [p.to_row() for p in rows])
    flags = ["--objective", "sft+dpo", "--pairs", str(pairs), "--dpo-batch-size", "2"]
    cmd = [sys.executable, "-m", "illume.cli", "tune", *args, *flags, "--versions", str(tmp / "v")]
    out = _run(cmd, env)
    assert out.returncode == 0, out.stderr[-2000:]
    (version,) = list_versions(tmp / "v")
    assert out.stdout.strip().endswith(str(version))
    metrics = json.loads((version / "metrics.json").read_text())
    assert metrics["n_pairs"] == 2 and metrics["config"]["objective"] == "sft+dpo"
    assert len(metrics["dpo_losses"]) == len(metrics["losses"]) == 2 * 2
    assert metrics["dpo_losses"][0] == pytest.approx(math.log(2), abs=1e-3)
    assert all(
        loss > dpo for loss, dpo in zip(metrics["losses"], metrics["dpo_losses"], strict=True)
    )
    manifest = [json.loads(line) for line in (version / "manifest.jsonl").read_text().splitlines()]
    assert {"kind": "pair", "id": "t0", "chosen": "it is red", "rejected": "it is blue"} in manifest


def test_the_deepspeed_launcher_runs_two_local_ranks_from_a_hostfile(job, tiny_lm_dir):
    """The multi-node path on one machine: DeepSpeed's runner, a hostfile, no ssh."""
    from illume.models import ModelChoice, load_model
    from illume.tune import TuneConfig

    args, env, tmp = job
    hostfile = tmp / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    launch = Launch(launcher="deepspeed", hostfile=str(hostfile), master_port=_free_port())
    progress = tmp / "progress.jsonl"
    job_args = TuneJob(
        items=args[1], rationales=args[3], versions=str(tmp / "v"), progress=str(progress)
    )
    config = TuneConfig(steps=0, epochs=2, batch_size=4, vqa_ratio=3, val_items=2)
    choice = ModelChoice(lm=str(tiny_lm_dir), encoder="tiny")
    cmd = job_command(job_args, config, choice, launch)
    assert cmd[1:3] == ["-m", "deepspeed.launcher.runner"] and "--no_ssh_check" in cmd
    out = _run(cmd, env)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    (version,) = list_versions(tmp / "v")
    metrics = json.loads((version / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and len(metrics["losses"]) == 4
    assert all(math.isfinite(x) for x in metrics["losses"])
    assert "rank 1/2" in out.stdout + out.stderr  # the second rank logged its share
    steps = [r for r in ProgressTail(progress).read() if r["event"] == "step"]
    assert [r["global_step"] for r in steps] == [1, 2, 3, 4]  # rank 0 alone reports
    assert {r["world_size"] for r in steps} == {2}
    assert [r["loss"] for r in steps] == pytest.approx(metrics["losses"])
    assert load_model(choice, version).version == "v0001"
