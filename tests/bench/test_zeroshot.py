"""Table 2 across model families: metrics per prompt, best prompt, answer-repeat share."""

import json

import pytest

from illume.cli import main
from illume.items import Item
from illume_bench.zeroshot import fit_figures, repeats_answer


@pytest.mark.parametrize(
    ("text", "answer", "expected"),
    [
        ("red", "red", True),
        ("it is red", "red", True),
        ("It's red.", "red", True),
        ("the answer is yes", "yes", True),
        ("", "red", True),
        ("the shape is red", "red", False),
        ("it has three corners", "triangle", False),
        ("a red circle", "red", False),
    ],
)
def test_repeats_answer(text, answer, expected):
    assert repeats_answer(text, answer) is expected


def test_zeroshot_compares_two_families(items_file, tmp_path, tiny_lm_dir, monkeypatch, capsys):
    from illume.testing.tiny_vlms import build

    monkeypatch.setenv("ILLUME_LM", str(tiny_lm_dir))
    monkeypatch.setenv("ILLUME_ENCODER", "tiny")
    llava = build("llava", tmp_path / "llava")
    out = tmp_path / "zs"
    code = main(
        [
            "zeroshot",
            "--models",
            f"embedded,hf:{llava}",
            "--items",
            str(items_file),
            "--out",
            str(out),
            "--prompts",
            "because",
            "since",
            "--n-per-temperature",
            "1",
        ]
    )
    assert code == 0
    results = json.loads((out / "zeroshot.json").read_text())
    assert [r["model"] for r in results] == ["embedded", f"hf:{llava}"]
    for r in results:
        assert {row["prompt"] for row in r["prompts"]} == {"because", "since"}
        assert r["best_prompt"] == r["prompts"][0]["prompt"]
        assert r["prompts"][0]["ROUGE_L"] >= r["prompts"][1]["ROUGE_L"]
        assert r["n_candidates"] > 0 and 0 <= r["repeat_pct"] <= 100
        assert r["raw"]["items"] == r["shown"]["items"] > 0
        assert r["shown"]["mean_best_rouge"] <= r["raw"]["mean_best_rouge"]
    md = (out / "zeroshot.md").read_text()
    assert "**(best)**" in md and "repeat the answer %" in md and "mean best R-L" in md
    assert (out / "zeroshot.png").stat().st_size > 10_000
    assert "report:" in capsys.readouterr().out


def test_zeroshot_rejects_an_unknown_family_before_loading(items_file, tmp_path, capsys):
    args = ["zeroshot", "--models", "embedded,gpt4:x", "--items", str(items_file)]
    assert main([*args, "--out", str(tmp_path / "zs")]) == 2
    assert "unknown model 'gpt4:x'" in capsys.readouterr().err


def test_fit_figures_count_items_with_a_candidate_reaching_the_critic():
    ref = "it has whiskers, pointed ears and striped fur"
    items = {
        k: Item(id=k, image="x.png", question="what animal?", answer="cat", explanations=[ref])
        for k in ("a", "b")
    }
    figures = fit_figures(items, {"a": ["it is a dog", ref], "b": ["it is a cat", "a red car"]})
    assert figures["items"] == 2
    assert figures["fit_pct"] == 50.0
    assert 0.5 < figures["mean_best_rouge"] < 1.0
