"""Precision, recall and Cohen's kappa against hand-computed values."""

import pytest

from illume_bench.critics.agreement import agreement, best_threshold


def test_kappa_matches_a_hand_computed_table():
    # 10 candidates: tp=4 fp=1 fn=2 tn=3
    critic = [True] * 4 + [True] + [False] * 2 + [False] * 3
    annot = [True] * 4 + [False] + [True] * 2 + [False] * 3
    a = agreement(critic, annot)
    assert (a["tp"], a["fp"], a["fn"], a["tn"]) == (4, 1, 2, 3)
    assert a["precision"] == pytest.approx(4 / 5)
    assert a["recall"] == pytest.approx(4 / 6)
    # p_o = 7/10; p_e = (5*6 + 5*4) / 100 = 0.5; kappa = 0.2 / 0.5
    assert a["kappa"] == pytest.approx(0.4)


def test_perfect_chance_and_degenerate_agreement():
    assert agreement([True, False], [True, False])["kappa"] == pytest.approx(1.0)
    assert agreement([True, False], [False, True])["kappa"] == pytest.approx(-1.0)
    none = agreement([False, False], [False, False])
    assert none["kappa"] is None and none["precision"] is None and none["recall"] is None
    assert agreement([], [])["n"] == 0
    with pytest.raises(ValueError):
        agreement([True], [])


def test_best_threshold_separates_and_prefers_the_stricter_tie():
    scores = [0.9, 0.8, 0.75, 0.4, 0.3]
    labels = [True, True, True, False, False]
    best = best_threshold(scores, labels)
    assert best["threshold"] == 0.75 and best["kappa"] == pytest.approx(1.0)
