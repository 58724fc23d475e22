"""Tuning learns: a few steps on a handful of targets lower their loss and move the greedy
output toward them, DPO prefers the fitting text, and the best epoch's weights are kept.

These run the trainer's epoch loop (`fit`) in-process with a plain AdamW engine, so they take
seconds; tests/training/test_train.py runs the same loop on the DeepSpeed engine.
"""

import math

import pytest
import torch
from PIL import Image

from illume.api import greedy_rationales
from illume.critique import RougeCritic
from illume.dpo import pair_examples, pair_logps
from illume.items import Item
from illume.pairs import Pair
from illume.testing.tiny_lm import build_tiny_lm
from illume.tune import TuneConfig, build_examples, count_target_tokens, loss_sums
from training import trainer
from training.testing import AdamWEngine

TARGETS = ["it is red", "the circle is big", "there are two shapes", "the square is blue"]


@pytest.fixture(scope="module")
def sharp_lm_dir(tmp_path_factory):
    """The tests' tiny Llama (illume/testing/tiny_lm.py), initialised 10x wider (std 0.2).

    With the default std 0.02 a 64-wide random model's logits are nearly uniform, and its
    adapters cannot sharpen them much (the final RMSNorm caps the hidden state's norm), so
    no tuning could show on the greedy output; at 0.2 there is room to learn.
    """
    return build_tiny_lm(tmp_path_factory.mktemp("sharp-lm"), initializer_range=0.2)


@pytest.fixture
def model(sharp_lm_dir):
    """A fresh model per test: tuning changes its adapters.

    The image's text context is off: these tests are about the tuning step alone
    (the margins below were measured on the bare prompt).
    """
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

    torch.manual_seed(0)
    config = EmbeddedConfig(
        lm=str(sharp_lm_dir), encoder="tiny", prefix_weights=None, image_context=False
    )
    return EmbeddedVLM(config)


@pytest.fixture
def items(tmp_path):
    Image.new("RGB", (16, 16), "red").save(tmp_path / "red.png")
    image = str(tmp_path / "red.png")
    return [Item(f"i{k}", image, f"what is {k}?", "yes", [t]) for k, t in enumerate(TARGETS)]


def _target_nll(model, exp, items, config) -> float:
    """Mean per-token cross-entropy of the targets."""
    images = {items[0].image: Image.open(items[0].image)}
    with torch.no_grad():
        _, exp_sum, _ = loss_sums(model, exp, images, config)
    return exp_sum.item() / count_target_tokens(model, exp, config)[1]


def _greedy_rouge(model, items) -> float:
    critic = RougeCritic()
    greedy = greedy_rationales(model, items, "because")
    return sum(critic.score_text(greedy.get(it.id, ""), it.explanations) for it in items) / 4


def test_a_few_steps_lower_the_targets_loss_and_move_greedy_output_toward_them(model, items):
    config = TuneConfig(
        steps=0, epochs=20, batch_size=4, lr=3e-2, vqa_ratio=0, min_rationales_per_epoch=0
    )
    exp, vqa, b = build_examples([(it, it.explanations[0]) for it in items], items, config)
    nll_before, rouge_before = _target_nll(model, exp, items, config), _greedy_rouge(model, items)
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config)
    nll_after, rouge_after = _target_nll(model, exp, items, config), _greedy_rouge(model, items)
    assert len(result.losses) == 20
    assert nll_after < 0.5 * nll_before  # measured: 12.4 -> 3.9 nats per token
    assert rouge_after >= rouge_before + 0.2  # measured: 0.0 -> 0.33
    greedy = greedy_rationales(model, items, "because")
    assert sum(greedy[it.id].startswith(it.explanations[0]) for it in items) >= 3


def test_dpo_steps_prefer_the_fitting_text_over_the_rejected_one(model, items):
    config = TuneConfig(steps=0, epochs=10, objective="dpo", lr=3e-2, dpo_batch_size=4)
    rejected = ["it is blue", "the circle is small", "there is one shape", "the square is red"]
    pairs = pair_examples(
        [(it, Pair(it.id, it.explanations[0], r)) for it, r in zip(items, rejected, strict=True)],
        config,
    )
    images = {items[0].image: Image.open(items[0].image)}
    with torch.no_grad():
        c0, r0, _ = pair_logps(model, pairs, images, config)
    result = trainer.fit(AdamWEngine(model, config.lr), model, [], [], 1.0, [], config, pairs)
    with torch.no_grad():
        c1, r1, _ = pair_logps(model, pairs, images, config)
    assert result.dpo_losses[0] == pytest.approx(math.log(2), abs=1e-4)  # policy = reference
    assert result.dpo_losses[-1] < 0.5 * math.log(2)
    assert result.reward_accuracy[-1] == 1.0
    assert bool(((c1 - c0) > (r1 - r0)).all())  # every chosen text gained on its rejected one


def test_the_best_epoch_rule_keeps_the_better_weights(model, items, monkeypatch):
    """Val ROUGE-L (scripted) peaks after epoch 2 of 3: the model ends with epoch 2's weights."""
    scores = iter([0.1, 0.3, 0.5, 0.2])  # before training, then after each epoch
    states = []

    def scripted_val_rouge(model, val_items, config):
        states.append(model.trainable_state())
        return next(scores)

    monkeypatch.setattr(trainer, "val_rouge", scripted_val_rouge)
    config = TuneConfig(
        steps=0, epochs=3, batch_size=4, lr=3e-2, vqa_ratio=0, min_rationales_per_epoch=0
    )
    exp, vqa, b = build_examples([(it, it.explanations[0]) for it in items], items, config)
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config)
    assert result.best_epoch == 1 and result.val_rouge == [0.3, 0.5, 0.2]
    final = model.trainable_state()
    assert all(torch.equal(final[k], states[2][k]) for k in final)  # epoch 2's weights
    assert not all(torch.equal(final[k], states[3][k]) for k in final)  # not the last ones


def test_no_better_epoch_keeps_the_starting_weights(model, items, monkeypatch):
    scores = iter([0.5, 0.2, 0.4])
    monkeypatch.setattr(trainer, "val_rouge", lambda *a: next(scores))
    start = model.trainable_state()
    config = TuneConfig(
        steps=0, epochs=2, batch_size=4, lr=3e-2, vqa_ratio=0, min_rationales_per_epoch=0
    )
    exp, vqa, b = build_examples([(it, it.explanations[0]) for it in items], items, config)
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config)
    assert result.best_epoch == -1
    final = model.trainable_state()
    assert all(torch.equal(final[k], start[k]) for k in final)


def test_a_step_budget_runs_that_many_steps_with_evenly_spaced_checkpoints(model, items):
    config = TuneConfig(steps=7, epochs=2, batch_size=4, lr=1e-3, vqa_ratio=0)
    exp, vqa, b = build_examples([(it, it.explanations[0]) for it in items], items, config)
    dev = exp[:2]
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config, dev=dev)
    assert len(result.losses) == 7 and result.steps_run == 7  # 1 batch per pass: 7 passes
    assert result.select_by == "nll" and len(result.dev_scores) == 2
    assert result.changed and result.best_epoch >= 0  # tuned on dev's own texts: NLL falls
    assert max(result.dev_scores) > result.dev_start


@pytest.mark.parametrize(("start", "best", "changed"), [(0.50, 0.40, False), (0.405, 0.40, True)])
def test_the_starting_weights_win_only_by_the_margin(
    model, items, monkeypatch, start, best, changed
):
    scores = iter([start, 0.1, best])
    monkeypatch.setattr(trainer, "val_rouge", lambda *a: next(scores))
    before = model.trainable_state()
    config = TuneConfig(steps=0, epochs=2, batch_size=4, lr=3e-2, vqa_ratio=0, keep_margin=0.02)
    exp, vqa, b = build_examples([(it, it.explanations[0]) for it in items], items, config)
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config)
    assert result.changed is changed
    final = model.trainable_state()
    assert all(torch.equal(final[k], before[k]) for k in final) is not changed
