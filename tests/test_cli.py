import json

import pytest

from illume.cli import build_parser, main
from illume.items import read_jsonl, write_jsonl

COMMANDS = [
    "sample",
    "critique",
    "evaluate",
    "prompts",
    "zeroshot",
    "tune",
    "loop",
    "serve",
    "export",
    "data",
    "magma-import",
    "calibrate",
    "worker",
    "import",
]


def _parser():
    """The full command line, with the backend's commands registered as the entry point does."""
    from illume_bench.commands import register as bench
    from ml_backend.commands import register as backend

    return build_parser(plugins=[bench, backend])


def test_help_for_every_command(capsys):
    for cmd in [[], *([c] for c in COMMANDS)]:
        with pytest.raises(SystemExit) as e:
            _parser().parse_args([*cmd, "--help"])
        assert e.value.code == 0
    assert "sample" in capsys.readouterr().out


def test_sample_writes_candidates_and_per_item_errors(items_file, tmp_path, tiny_lm_dir, capsys):
    out = tmp_path / "cands.jsonl"
    code = main(
        [
            "sample",
            "--items",
            str(items_file),
            "--out",
            str(out),
            "--n-per-temperature",
            "2",
            "--max-new-tokens",
            "5",
            "--lm",
            str(tiny_lm_dir),
            "--encoder",
            "tiny",
        ]
    )
    assert code == 0
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert set(rows) == {"a", "b", "c", "d", "broken", "missing", "nofield"}
    assert "lacks field(s): answer" in rows["nofield"]["error"]
    assert "file not found" in rows["missing"]["error"]
    assert all(rows[k]["candidates"] for k in "abcd")
    assert {"text", "temperature", "prompt", "logprob"} <= set(rows["a"]["candidates"][0])
    assert "4 items sampled, 3 failed" in capsys.readouterr().out


def test_evaluate_prints_table_and_writes_pycocoevalcap_names(items_file, tmp_path, capsys):
    preds = tmp_path / "preds.jsonl"
    write_jsonl(preds, [{"id": "a", "text": "it is red"}, {"id": "b", "text": "it is bright"}])
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                str(preds),
                "--items",
                str(items_file),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads(out.read_text())
    for key in ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr"):
        assert 0 <= metrics[key] <= 10
    assert metrics["ROUGE_L"] > 0.5
    assert "ROUGE" in capsys.readouterr().out


def test_missing_items_file_is_a_clear_error(tmp_path, capsys):
    code = main(
        [
            "critique",
            "--candidates",
            str(tmp_path / "x"),
            "--items",
            str(tmp_path / "y"),
            "--out",
            str(tmp_path / "z"),
        ]
    )
    assert code == 2
    assert "error" in capsys.readouterr().err


def test_the_backend_registers_its_commands_through_the_entry_point():
    from importlib import import_module
    from pathlib import Path

    from illume.cli import PLUGIN_GROUP

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    group = project["project"]["entry-points"][PLUGIN_GROUP]
    registers = []
    for target in group.values():
        module, name = target.split(":")
        registers.append(getattr(import_module(module), name))
    parser = build_parser(plugins=registers)
    assert parser.parse_args(["serve", "--port", "9"]).port == 9
    assert parser.parse_args(["export", "--project", "3", "--out", "x"]).format == "jsonl"
    with pytest.raises(SystemExit):
        build_parser(plugins=[]).parse_args(["serve"])  # the engine alone has no serve


def test_tune_with_a_hostfile_but_torchrun_is_a_clear_error(tmp_path, capsys):
    hosts = tmp_path / "hostfile"
    hosts.write_text("localhost slots=2\n")
    args = ["tune", "--items", str(tmp_path / "i"), "--rationales", str(tmp_path / "r")]
    code = main([*args, "--versions", str(tmp_path / "v"), "--hostfile", str(hosts)])
    assert code == 2
    assert "--hostfile needs --launcher deepspeed" in capsys.readouterr().err
