"""`illume selftalk` end to end: on the tiny embedded model, a tiny HF model and (slow) the
real embedded model; every error one line on stderr with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from illume.cli import build_parser
from illume_bench.selftalk.cli import register

DATA = Path(__file__).parent / "data"
FILES = {
    "csqa": "csqa/dev.jsonl",
    "copa": "copa/copa-dev.xml",
    "mctaco": "mctaco/dev_3783.tsv",
    "piqa": "piqa/valid.jsonl",
    "siqa": "siqa/dev.jsonl",
    "winogrande": "winogrande/dev.jsonl",
}
FAST = ["--questions-per-prefix", "1", "--answers-per-question", "1", "--max-question-tokens", "3",
        "--max-answer-tokens", "4", "--no-progress"]  # fmt: skip
"""A light sampling budget: the protocol's every step, at a fraction of the published cost."""


def run(argv: list[str]) -> int:
    """The command as `illume` runs it, with this package's command registered."""
    args = build_parser(plugins=[register]).parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def tiny(tiny_lm_dir) -> list[str]:
    return ["--model", "embedded", "--lm", str(tiny_lm_dir), "--encoder", "tiny",
            "--device", "cpu", "--dtype", "float32"]  # fmt: skip


@pytest.mark.parametrize("fmt", list(FILES))
def test_every_format_runs_on_the_tiny_embedded_model(fmt, tiny, tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["selftalk", "--data", str(DATA / FILES[fmt]), "--format", fmt, "--limit", "1"]
    assert run(argv + tiny + FAST + ["--out", str(out), "--name", "tiny"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| Model |")
    assert "| *Chance* |" in printed and "| tiny (self-talk) |" in printed
    doc = json.loads(out.read_text())
    assert doc["n"] == 1 and len(doc["items"]) == 1
    assert doc["selftalk"]["n"] == 1 and "baseline" in doc
    summary = json.loads(printed[printed.index("{") :])
    assert summary["chance"] == doc["chance"]
    for item in doc["items"]:  # enough per item to recompute every figure
        assert {"label", "baseline", "prediction", "n_choices"} <= set(item)


def test_baseline_only_is_fast_and_has_no_self_talk_row(tiny, capsys):
    argv = ["selftalk", "--data", str(DATA / FILES["piqa"]), "--format", "piqa", "--baseline"]
    assert run(argv + tiny + ["--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "(no clarification)" in printed and "(self-talk)" not in printed
    summary = json.loads(printed[printed.index("{") :])
    assert summary["n"] == 12 and summary["chance"] == 0.5 and "selftalk" not in summary


def test_a_tiny_hf_model_runs(tmp_path_factory, tmp_path, capsys):
    from illume.testing.tiny_vlms import build

    folder = build("idefics3", tmp_path_factory.mktemp("hf") / "idefics3")
    argv = ["selftalk", "--data", str(DATA / FILES["copa"]), "--format", "copa", "--limit", "1",
            "--model", f"hf:{folder}", "--device", "cpu", "--dtype", "float32"]  # fmt: skip
    assert run(argv + FAST) == 0
    summary = json.loads((out := capsys.readouterr().out)[out.index("{") :])
    assert summary["n"] == 1 and "selftalk" in summary


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "hellaswag"], "unknown --format 'hellaswag'"),
        (["--format", "csqa", "--limit", "0"], "--limit must be a positive"),
        (["--format", "csqa", "--limit", "-3"], "--limit must be a positive"),
    ],
)
def test_bad_arguments_are_one_line_errors(extra, message, capsys):
    code = run(["selftalk", "--data", str(DATA / FILES["csqa"]), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and err.startswith("illume selftalk: error:")


def test_bad_files_are_one_line_errors(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    broken = tmp_path / "broken.xml"
    broken.write_text("<copa-corpus><item")
    cases = [
        (["--data", str(tmp_path / "absent.jsonl"), "--format", "csqa"], "not found"),
        (["--data", str(broken), "--format", "copa"], "not COPA xml"),
        (["--data", str(empty), "--format", "csqa"], "no items"),
        (["--data", str(DATA / FILES["csqa"]), "--format", "piqa"], "labels file not found"),
        (["--data", str(DATA / FILES["copa"]), "--format", "csqa"], "not a JSON line"),
    ]
    for extra, message in cases:
        assert run(["selftalk", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert "Traceback" not in err


@pytest.mark.slow
def test_the_real_embedded_model_on_a_few_items(tmp_path, capsys):
    """SmolLM2-135M inside the embedded model: two COPA items, a light sampling budget."""
    out = tmp_path / "r.json"
    argv = ["selftalk", "--data", str(DATA / FILES["copa"]), "--format", "copa", "--limit", "2",
            "--model", "embedded", "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert run(argv + FAST) == 0
    doc = json.loads(out.read_text())
    assert doc["n"] == 2 and doc["selftalk"]["n"] == 2
    assert doc["mean_clarifications"] > 0  # a real LM writes well-formed clarifications
