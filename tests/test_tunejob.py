"""The tuning job's command line and result, with a stand-in child process."""

import dataclasses
import json
import subprocess

import pytest

from illume.cli import main
from illume.configargs import to_argv
from illume.items import Item
from illume.models import ModelChoice
from illume.tune import TuneConfig
from illume.tunejob import (
    Launch,
    TuneJob,
    job_command,
    parse_tune_args,
    read_result,
    run_job,
    write_result,
)
from tests.test_configargs import _changed, _choices


@pytest.fixture
def fake_job(monkeypatch, tmp_path):
    monkeypatch.setenv("ILLUME_TUNE_JOB", "tests.fake_tune_job")
    echo = tmp_path / "echo.json"
    monkeypatch.setenv("FAKE_TUNE_ECHO", str(echo))
    return echo


def _every_field_changed() -> TuneConfig:
    d = TuneConfig()
    return TuneConfig(
        **{f.name: _changed(getattr(d, f.name), _choices(f)) for f in dataclasses.fields(d)}
    )


def test_illume_tune_forwards_every_field_to_the_job(fake_job, tmp_path, monkeypatch, capsys):
    published = tmp_path / "v" / "v0007"
    monkeypatch.setenv("FAKE_TUNE_VERSION", str(published))
    config = _every_field_changed()
    argv = [
        "tune",
        "--items",
        "i.jsonl",
        "--rationales",
        "f.jsonl",
        "--versions",
        str(tmp_path / "v"),
    ]
    argv += ["--base", "b", "--metrics-extra", '{"round": 3}']

    assert main([*argv, *to_argv(config)]) == 0
    got = json.loads(fake_job.read_text())
    assert got["config"] == dataclasses.asdict(config)
    assert got["job"]["base"] == "b" and got["job"]["metrics_extra"] == '{"round": 3}'
    assert capsys.readouterr().out.strip() == str(published)


def test_the_parent_reads_the_version_the_child_names(fake_job, tmp_path, monkeypatch):
    versions = tmp_path / "v"
    for name in ("v0001", "v0002"):
        (versions / name).mkdir(parents=True)
    # the child names an older version than the newest folder: the parent believes the child
    monkeypatch.setenv("FAKE_TUNE_VERSION", str(versions / "v0001"))
    job = TuneJob(items="i", rationales="f", versions=str(versions))
    assert run_job(job, TuneConfig(), ModelChoice()) == versions / "v0001"
    monkeypatch.delenv("FAKE_TUNE_VERSION")
    with pytest.raises(RuntimeError, match="without publishing"):
        run_job(job, TuneConfig(), ModelChoice())


def test_api_tune_writes_its_inputs_and_returns_the_version(fake_job, tmp_path, monkeypatch):
    from illume.api import tune

    monkeypatch.setenv("FAKE_TUNE_VERSION", str(tmp_path / "v" / "v0001"))
    items = [Item(id="a", image="x.png", question="q?", answer="red")]
    work = tmp_path / "work"
    version = tune(items, [{"id": "a", "text": "it is red"}], tmp_path / "v", work=work)
    assert version == tmp_path / "v" / "v0001"
    assert json.loads((work / "rationales.jsonl").read_text()) == {"id": "a", "text": "it is red"}
    got = json.loads(fake_job.read_text())
    assert got["job"]["items"] == str(work / "items.jsonl") and got["job"]["base"] is None


def test_api_tune_passes_the_pairs_file_on(fake_job, tmp_path, monkeypatch):
    from illume.api import tune
    from illume.pairs import Pair

    monkeypatch.setenv("FAKE_TUNE_VERSION", str(tmp_path / "v" / "v0001"))
    items = [Item(id="a", image="x.png", question="q?", answer="red")]
    work = tmp_path / "work"
    pair = Pair("a", "it is red", "it is a shape")
    config = TuneConfig(objective="sft+dpo", beta=0.2)
    tune(
        items,
        [{"id": "a", "text": "it is red"}],
        tmp_path / "v",
        config=config,
        pairs=[pair.to_row()],
        work=work,
    )
    got = json.loads(fake_job.read_text())
    assert got["job"]["pairs"] == str(work / "pairs.jsonl")
    assert got["config"]["objective"] == "sft+dpo" and got["config"]["beta"] == 0.2
    assert Pair.from_row(json.loads((work / "pairs.jsonl").read_text())) == pair
    tune(items, [{"id": "a", "text": "it is red"}], tmp_path / "v", work=tmp_path / "w2")
    assert json.loads(fake_job.read_text())["job"]["pairs"] is None  # sft: no pairs file


def test_launchers_prefix_the_module(tmp_path):
    job = TuneJob(items="i", rationales="f", versions="v")
    cmd = job_command(job, TuneConfig(), ModelChoice(), Launch(nproc=2))
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--nproc_per_node", "2"]
    assert cmd[5:7] == ["-m", "training.train"]
    deepspeed = job_command(job, TuneConfig(), ModelChoice(), Launch(launcher="deepspeed"))
    assert deepspeed[1:5] == ["-m", "deepspeed.launcher.runner", "--num_gpus", "1"]
    assert deepspeed[5:7] == ["--module", "training.train"]  # the runner has no -m


def test_a_local_hostfile_needs_no_ssh_and_a_remote_one_names_its_master(tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.write_text("# one machine\nlocalhost slots=2\n\n")
    remote.write_text("gpu-a slots=8\ngpu-b slots=8\n")
    here = Launch(launcher="deepspeed", hostfile=str(local), master_port=29600)
    assert here.prefix("m")[3:] == [
        "--hostfile",
        str(local),
        "--no_ssh_check",
        "--master_addr=127.0.0.1",
        "--master_port=29600",
        "--module",
        "m",
    ]  # the hostfile's slots, not --nproc, decide the ranks per node
    there = Launch(launcher="deepspeed", hostfile=str(remote), num_nodes=2, master_addr="gpu-a")
    assert there.prefix("m")[3:] == [
        "--hostfile",
        str(remote),
        "--num_nodes",
        "2",
        "--master_addr=gpu-a",
        "--module",
        "m",
    ]


def test_the_backend_can_ask_for_the_deepspeed_launcher_with_a_hostfile(tmp_path):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    argv = ["--epochs", "1", "--launcher", "deepspeed", "--hostfile", str(hostfile)]
    _, launch = parse_tune_args([*argv, "--master-port", "29700"])
    assert launch == Launch(launcher="deepspeed", hostfile=str(hostfile), master_port=29700)
    with pytest.raises(ValueError, match="--launcher deepspeed"):
        parse_tune_args(["--hostfile", str(hostfile)])  # torchrun runs one node only


def test_run_job_hands_each_progress_record_on(fake_job, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TUNE_VERSION", str(tmp_path / "v" / "v0001"))
    job = TuneJob(items="i", rationales="f", versions=str(tmp_path / "v"))
    seen = []

    def on_progress(record):
        seen.append(record)
        raise RuntimeError("a broken display")  # must not sink the round

    assert run_job(job, TuneConfig(), ModelChoice(), on_progress=on_progress).name == "v0001"
    assert [(r["event"], r["step"]) for r in seen] == [("step", 1), ("step", 2)]
    assert seen[0]["loss"] == 2.5


def test_a_failing_child_raises(monkeypatch, tmp_path):
    monkeypatch.setenv("ILLUME_TUNE_JOB", "tests.no_such_module")
    job = TuneJob(items="i", rationales="f", versions=str(tmp_path))
    with pytest.raises(subprocess.CalledProcessError):
        run_job(job, TuneConfig(), ModelChoice(), output=subprocess.DEVNULL)
    argv = ["tune", "--items", "i", "--rationales", "f", "--versions", str(tmp_path)]
    assert main(argv) == 1  # `python -m` of a missing module exits 1


def test_read_result_names_a_missing_file(tmp_path):
    with pytest.raises(RuntimeError):
        read_result(tmp_path / "none.json")


def test_tune_args_of_a_caller_parse_to_the_same_settings():
    config, launch = parse_tune_args(["--epochs", "1", "--lr", "3e-4", "--nproc", "2"])
    assert config == TuneConfig(epochs=1, lr=3e-4) and launch == Launch(nproc=2)
    assert parse_tune_args(to_argv(_every_field_changed()))[0] == _every_field_changed()
    with pytest.raises(ValueError, match="--no-such-flag"):
        parse_tune_args(["--no-such-flag"])


def test_a_round_that_changed_nothing_is_no_failure_and_carries_its_figures(tmp_path):
    from illume.tunejob import NothingChanged

    metrics = {"dev_start": -2.0, "dev_scores": [-2.5], "changed_nothing": "this round changed"}
    write_result(tmp_path / "r.json", None, metrics)
    with pytest.raises(NothingChanged) as caught:
        read_result(tmp_path / "r.json")
    assert caught.value.metrics["dev_scores"] == [-2.5] and "changed" in str(caught.value)
