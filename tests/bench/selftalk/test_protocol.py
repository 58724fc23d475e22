"""Scoring, accuracy and the text-only LM: checked on cases whose answer is known."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from illume.sample import SampleConfig, draw
from illume_bench.selftalk.accuracy import summarize, table, wilson
from illume_bench.selftalk.formats import Instance, load
from illume_bench.selftalk.protocol import Clarification, Result, SelfTalk, SelfTalkConfig
from illume_bench.selftalk.textlm import TextLM

DATA = Path(__file__).parent / "data"


class KnowsTheAnswers(TextLM):
    """An LM whose likelihood is high only for texts it was told are right, and higher still
    after a clarification that mentions them: no weights, exact expectations."""

    def __init__(self, right: set[str], helpful: str = ""):
        self.right, self.helpful = right, helpful
        self.vocab: list[str] = []

    def encode(self, text: str) -> list[int]:
        if text not in self.vocab:
            self.vocab.append(text)
        return [self.vocab.index(text)]

    def target_nll(self, images, prompts, targets):
        out = []
        for prompt, target in zip(prompts, targets, strict=True):
            text = self.vocab[target[0]].strip()
            nll = 1.0 if text in self.right else 3.0
            if self.helpful and self.helpful in prompt and text == self.helpful:
                nll = 0.1
            out.append(nll)
        return torch.tensor(out), len(prompts)


def instance(label: int = 1) -> Instance:
    return Instance("q", "The vase fell.", "As a result,", ("it flew away.", "it broke."), label)


def test_the_baseline_picks_the_likeliest_choice():
    st = SelfTalk(KnowsTheAnswers({"it broke."}), "copa")
    result = st.run_one(instance(), baseline_only=True)
    assert result.baseline == 1 and result.baseline_scores == [3.0, 1.0]
    assert result.prediction is None


def test_self_talk_takes_each_choice_at_its_best_clarification(monkeypatch):
    # the LM prefers the wrong choice alone, but one clarification makes the right one likelier
    st = SelfTalk(KnowsTheAnswers({"it flew away."}, helpful="it broke."), "copa")
    clars = [Clarification("q1", "Vases are fragile."), Clarification("q2", "So it broke.")]
    monkeypatch.setattr(st, "clarifications", lambda inst: clars)
    result = st.run_one(instance())
    assert result.baseline == 0
    assert result.prediction == 1
    assert result.scores == pytest.approx([1.0, 0.1])
    assert result.clarification == "So it broke."
    assert result.n_clarifications == 2


def test_accuracy_chance_and_intervals_on_known_results():
    results = [
        Result("a", 0, 2, baseline=0, baseline_scores=[], prediction=0),
        Result("b", 1, 2, baseline=0, baseline_scores=[], prediction=1),
        Result("c", 2, 4, baseline=2, baseline_scores=[], prediction=0),
        Result("d", 0, 4, baseline=1, baseline_scores=[], prediction=0),
    ]
    s = summarize(results, "copa", "m")
    assert s["chance"] == pytest.approx((0.5 + 0.5 + 0.25 + 0.25) / 4)
    assert s["baseline"]["correct"] == 2 and s["baseline"]["accuracy"] == 0.5
    assert s["selftalk"]["correct"] == 3 and s["selftalk"]["accuracy"] == 0.75
    lo, hi = s["selftalk"]["ci95"]
    assert lo < 0.75 < hi
    text = table([s])
    assert "| *Chance* | 37.5 |" in text
    assert "| m (self-talk) | 75.0 [" in text and "n=4" in text


def test_wilson_interval():
    lo, hi = wilson(3, 24)  # NOTES.md: 95% interval for 3/24 is 4-31%
    assert round(lo, 2) == 0.04 and round(hi, 2) == 0.31
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(10, 10)[1] == 1.0


def test_top_p_keeps_the_nucleus_and_is_off_by_default():
    assert SampleConfig().top_p == 1.0
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[3.0, 2.9, 0.0, -1.0]]).repeat(200, 1)
    temps = torch.ones(200)
    # p(0) ~ 0.50, p(1) ~ 0.45: a nucleus of 0.3 holds the first token only
    assert set(draw(logits, temps, 4, g, top_p=0.3).tolist()) == {0}
    assert set(draw(logits, temps, 4, g, top_p=0.9).tolist()) == {0, 1}
    assert len(set(draw(logits, temps, 4, g).tolist())) > 2


@pytest.fixture(scope="module")
def tiny_text_lm(tiny_model):
    return TextLM(tiny_model)


def test_decoding_and_scoring_agree_on_the_tiny_lm(tiny_text_lm):
    """The log-probability the sampler sums token by token equals what target_nll scores,
    for a prompt padded beside a longer one."""
    lm = tiny_text_lm
    prompts = ["The vase fell.", "A much longer premise that needs left padding here."]
    logits, state = lm.prefill([None, None], prompts)
    tokens = lm.encode(" it broke")
    total = torch.zeros(2)
    for tok in tokens:
        total += torch.log_softmax(logits, -1)[:, tok]
        logits, state = lm.step(torch.tensor([tok, tok]), state)
    nll, _ = lm.target_nll([None, None], prompts, [tokens, tokens])
    assert torch.allclose(-total, nll, atol=1e-4)


def test_clarifications_on_the_tiny_lm_are_well_formed(tiny_model):
    cfg = SelfTalkConfig(
        questions_per_prefix=2,
        answers_per_question=2,
        question_top_p=0.9,
        max_question_tokens=3,
        max_answer_tokens=4,
    )
    st = SelfTalk(tiny_model, "copa", cfg)
    glass = load(DATA / "copa/copa-dev.xml", "copa")[0]
    clars = st.clarifications(glass)
    assert st.sampler("answer") is st.sampler("question")  # one sampler, two settings
    assert st.sampler("answer").config.top_p == 0.5
    for c in clars:  # a random LM rarely ends a sentence: whatever it kept is well-formed
        assert c.question.endswith("?") and c.text.endswith(".")
