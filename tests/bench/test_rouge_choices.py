"""The top-candidate diagnostics of bench/rouge_top.py on cases with known answers."""

import pytest

from illume.critique import RougeCritic
from illume.items import Item
from illume_bench.rouge_choices import (
    arm_choices,
    consensus_index,
    item_choices,
    reference_rewording,
)

ITEM = Item(
    "t1",
    "t.png",
    "what shape is this?",
    "triangle",
    ["it has three corners and three straight sides", "it has three straight sides"],
)


def cands(*texts_ticks: tuple[str, bool]) -> list[dict]:
    return [{"text": t, "fitting": ok} for t, ok in texts_ticks]


def test_consensus_picks_the_text_most_like_the_others():
    texts = ["the sky is green today", "it has three sides", "it has three straight sides"]
    assert consensus_index(texts, RougeCritic()) in (1, 2)
    assert consensus_index(texts[:2], RougeCritic()) == 0  # too few to mean anything


def test_choices_score_first_best_accepted_and_best_shown():
    rows = cands(("the shape is a triangle", False), ("it has three straight sides", True))
    c = item_choices(ITEM, rows, RougeCritic())
    assert c["best_shown"] == c["best_accepted"] == 1.0
    assert c["first"] < 0.7
    unticked = item_choices(ITEM, cands(("it has three straight sides", False)), RougeCritic())
    assert unticked["best_accepted"] == 0.0 and unticked["best_shown"] == 1.0
    assert item_choices(ITEM, [], RougeCritic())["first"] == 0.0


def test_arm_means_and_accepted_length():
    rows = [{"id": "t1", "candidates": cands(("it has three straight sides", True))}]
    rows.append({"id": "t1", "candidates": []})
    f = arm_choices({"t1": ITEM}, rows, RougeCritic())
    assert f["first"] == 0.5 and f["accepted_words"] == 5.0
    assert f["ci"]["first"][0] <= 0.5 <= f["ci"]["first"][1]
    assert f["first_accepted"] == 1.0 and f["n_first_accepted"] == 1


def test_first_candidates_naming_a_wrong_fact_are_scored_apart():
    facts = {"colour": "blue", "shape": "circle"}
    item = Item("b", "b.png", "what colour?", "blue", ["the shape is blue"], facts=facts)
    rows = [{"id": "b", "candidates": cands(("the shape is red", False))}]
    f = arm_choices({"b": item}, rows, RougeCritic())
    assert f["n_first_wrong_fact"] == 1 and f["first_wrong_fact"] > 0.5  # ROUGE-L can't see it
    assert f["n_first_accepted"] == 0


def test_mean_interval_is_a_point_for_equal_values_and_brackets_the_mean():
    from illume_bench.rouge_choices import mean_ci

    assert mean_ci([0.4] * 20) == pytest.approx([0.4, 0.4])
    lo, hi = mean_ci([0.0, 1.0] * 50)
    assert lo < 0.5 < hi and hi - lo < 0.3


def test_references_scored_against_each_other():
    same = Item("s", "s.png", "q?", "a", ["it is round", "it is round"])
    assert reference_rewording([same], RougeCritic()) == {"rouge": 1.0, "words": 3.0, "n": 2}
    r = reference_rewording([ITEM], RougeCritic())
    assert 0.0 < r["rouge"] < 1.0 and r["n"] == 2
