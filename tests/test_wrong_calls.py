"""Every `illume` subcommand given wrong calls: one line on stderr, exit 2, never a traceback,
never a silent success. The commands come from `illume --help` (the engine's own and those
the entry points register), so a new subcommand without wrong calls here fails the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from illume.cli import build_parser, main

PHOTO = "illume_bench/data/demo/images/chelsea.jpg"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("wrong")
    item = {"id": "a", "image": str(Path(PHOTO).resolve()),
            "question": "what animal?", "answer": "cat", "explanations": ["it has whiskers"],
            "split": "val"}  # fmt: skip
    (d / "items.jsonl").write_text(json.dumps(item) + "\n")
    (d / "empty.jsonl").write_text("")
    (d / "other-ids.jsonl").write_text(json.dumps({"id": "zzz", "text": "because"}) + "\n")
    (d / "bad.json").write_text("{not json")
    (d / "wrong-shape.json").write_text(json.dumps([1, 2, 3]))
    (d / "rationales.jsonl").write_text(json.dumps({"id": "a", "text": "whiskers"}) + "\n")
    return d


def calls(d) -> dict[str, list[list[str]]]:
    """Wrong calls per subcommand; {d} is the folder of the files fixture."""
    items, empty = str(d / "items.jsonl"), str(d / "empty.jsonl")
    nosuch = str(d / "nosuch.jsonl")
    out = str(d / "out")
    sample = ["sample", "--items", items, "--out", out + ".jsonl"]
    return {
        "sample": [
            ["sample", "--items", nosuch, "--out", out],
            ["sample", "--items", empty, "--out", out],
            [*sample, "--device", "gpu"],
            [*sample, "--device", "cuda"],  # a CPU build of torch here
            [*sample, "--model", "hf:./nosuchdir"],
            [*sample, "--model", "nosuchfamily"],
            [*sample, "--n", "-1"],
            [*sample, "--n", "0"],
            [*sample, "--batch-items", "0"],
            [*sample, "--max-new-tokens", "-5"],
            [*sample, "--limit", "-1"],
            [*sample, "--temperatures", "-1"],
        ],
        "tune": [
            ["tune"],
            ["tune", "--items", nosuch, "--rationales", nosuch, "--versions", out],
            [
                "tune",
                "--items",
                items,
                "--rationales",
                str(d / "rationales.jsonl"),
                "--versions",
                out,
                "--epochs",
                "-1",
            ],  # fmt: skip
        ],
        "magma-import": [["magma-import", "--checkpoint", nosuch, "--out", out]],
        "critique": [
            ["critique", "--candidates", nosuch, "--items", items, "--out", out],
            ["critique", "--candidates", empty, "--items", items, "--out", out],
            ["critique", "--candidates", items, "--items", items, "--out", out, "--critic", "x"],
        ],
        "calibrate": [["calibrate", "--items", nosuch], ["calibrate", "--items", empty]],
        "evaluate": [
            ["evaluate", "--predictions", nosuch, "--items", items],
            ["evaluate", "--predictions", empty, "--items", items],
            ["evaluate", "--predictions", str(d / "other-ids.jsonl"), "--items", items],
        ],
        "prompts": [["prompts", "--items", nosuch], ["prompts", "--items", empty]],
        "zeroshot": [
            ["zeroshot", "--models", "", "--items", items, "--out", out],
            ["zeroshot", "--models", "hf:./nosuchdir", "--items", items, "--out", out],
            ["zeroshot", "--models", "embedded", "--items", empty, "--out", out],
        ],
        "loop": [
            ["loop", "--items", nosuch, "--out", out],
            ["loop", "--items", empty, "--out", out],
            ["loop", "--items", items, "--out", out, "--rounds", "-1"],
        ],
        "data": [
            ["data", "vqa-x", "--out", out + ".jsonl"],
            ["data", "vqa-x", "--json", str(d / "bad.json"), "--out", out + ".jsonl"],
            ["data", "vqa-x", "--json", str(d / "wrong-shape.json"), "--out", out + ".jsonl"],
            ["data", "vqa-x", "--json", nosuch, "--out", out + ".jsonl"],
            ["data", "shapes-x", "--scenes", "-1", "--out", out],
            ["data", "shapes-x", "--scenes", "0", "--out", out],
            ["data", "easy-vqa-x", "--max-train", "-1", "--out", out],
        ],
        "serve": [
            ["serve", "--port", "-1"],
            ["serve", "--port", "70000"],
            ["serve", "--threads", "0"],
            ["serve", "--model", "hf:./nosuchdir"],
        ],
        "export": [
            ["export", "--project", "1", "--out", out],  # no LABEL_STUDIO_API_KEY
            ["export", "--project", "-1", "--out", out],
            ["export", "--project", "1", "--out", out, "--format", "hf", "--push-to-hub", ""],
        ],
        "worker": [
            ["worker"],  # no ILLUME_REDIS_URL
            ["worker", "--queues", "nosuch"],
            ["worker", "--model", "hf:./nosuchdir"],
        ],
        "selftalk": [
            ["selftalk", "--data", nosuch, "--format", "csqa"],
            ["selftalk", "--data", empty, "--format", "csqa"],
            ["selftalk", "--data", items, "--format", "nosuchformat"],
            ["selftalk", "--data", str(d / "bad.json"), "--format", "csqa"],
            ["selftalk", "--data", items, "--format", "csqa", "--limit", "-1"],
            ["selftalk", "--data", items, "--format", "copa"],  # not COPA's XML
        ],
        "import": [
            ["import"],
            ["import", "--items", nosuch],
            ["import", "--items", empty],
            ["import", "--items", items, "--images", str(d)],
        ],
    }


def subcommands() -> list[str]:
    ap = build_parser()
    action = next(a for a in ap._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_subcommand_has_wrong_calls(files):
    assert sorted(calls(files)) == subcommands()


UNSET = (
    "LABEL_STUDIO_API_KEY",
    "LABEL_STUDIO_ACCESS_TOKEN",
    "ILLUME_REDIS_URL",
    "ILLUME_MODEL",
    "ILLUME_DEVICE",
    "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
)


@pytest.fixture
def quiet_env(monkeypatch):
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("command", subcommands())
def test_wrong_calls_fail_in_one_line_with_exit_2(command, files, capsys, quiet_env, tmp_path):
    bad = []
    for argv in calls(files)[command]:
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's own usage errors
            rc = e.code
        except BaseException as e:  # noqa: BLE001 (the point: nothing escapes main)
            bad.append(f"{argv}: raised {type(e).__name__}: {e}")
            continue
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")]
        if rc != 2 or "Traceback" in err or not lines:
            bad.append(f"{argv}: exit {rc}, stderr {err[-300:]!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("command", ["serve", "worker", "import", "export"])
def test_every_backend_flag_has_help(command):
    ap = build_parser()
    sub = next(a for a in ap._actions if a.dest == "command").choices[command]
    bare = [a.option_strings for a in sub._actions if a.option_strings and not a.help]
    assert not bare


def test_serve_warns_without_an_api_key_and_refuses_a_malformed_port(monkeypatch, capsys):
    from ml_backend.commands import warn_without_key
    from ml_backend.config import Settings

    assert not warn_without_key(Settings())
    assert "LABEL_STUDIO_API_KEY is not set" in capsys.readouterr().err
    assert warn_without_key(Settings(api_key="x"))
    monkeypatch.setenv("ILLUME_PORT", "nine")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "ILLUME_PORT" in err and "Traceback" not in err
