"""The task order rules: the prediction score ranks tasks by the value of annotating them."""

from __future__ import annotations

import math

import pytest

from ml_backend import order
from ml_backend.labels import prediction

SURE = [{"text": "a", "logprob": math.log(0.9)}, {"text": "b", "logprob": math.log(0.2)}]
TORN = [{"text": "c", "logprob": math.log(0.5)}]
HOPELESS = [{"text": "d", "logprob": math.log(0.05)}]


def test_fit_probability_prefers_the_rankers_score():
    assert order.fit_probability({"logprob": math.log(0.3), "score": 0.8}) == 0.8
    assert order.fit_probability({"logprob": math.log(0.3)}) == pytest.approx(0.3)
    # out-of-range or non-numeric scores fall back to the log-probability, then to nothing
    assert order.fit_probability({"logprob": math.log(0.3), "score": 7}) == pytest.approx(0.3)
    assert order.fit_probability({"score": True, "logprob": "x"}) is None
    assert order.fit_chance([]) == 0.0


def test_likely_puts_the_task_most_likely_to_fit_first():
    scores = {
        n: order.task_score(c, "likely")
        for n, c in [("sure", SURE), ("torn", TORN), ("hopeless", HOPELESS)]
    }
    assert sorted(scores, key=scores.get, reverse=True) == ["sure", "torn", "hopeless"]
    assert scores["sure"] == pytest.approx(0.9)


def test_uncertain_puts_the_coin_flip_first():
    scores = {
        n: order.task_score(c, "uncertain")
        for n, c in [("sure", SURE), ("torn", TORN), ("hopeless", HOPELESS)]
    }
    assert max(scores, key=scores.get) == "torn" and scores["torn"] == pytest.approx(1.0)
    assert scores["sure"] == pytest.approx(0.2) and scores["hopeless"] == pytest.approx(0.1)


def test_none_keeps_import_order():
    assert order.task_score(SURE, "none") == order.task_score(HOPELESS, "none") == 0.0


def test_the_rule_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("ILLUME_ORDER", raising=False)
    assert order.rule_from_env() == "likely"
    monkeypatch.setenv("ILLUME_ORDER", "uncertain")
    assert prediction(TORN, "v1", 1)["score"] == pytest.approx(1.0)
    monkeypatch.setenv("ILLUME_ORDER", "sideways")
    with pytest.raises(ValueError, match="likely, uncertain, none"):
        order.rule_from_env()


def test_prediction_scores_with_the_rankers_scores_when_present(monkeypatch):
    monkeypatch.setenv("ILLUME_ORDER", "likely")
    ranked = [{**c, "score": 0.1} for c in SURE]
    assert prediction(SURE, "v1", 1)["score"] == pytest.approx(0.9)
    assert prediction(ranked, "v1", 1)["score"] == pytest.approx(0.1)


def test_small_chances_keep_their_order():
    weak = [[{"text": "a", "logprob": lp}] for lp in (-9.21, -9.22, -9.23)]
    scores = [order.task_score(c, "likely") for c in weak]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3
