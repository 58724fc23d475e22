"""The DPO loss: the formula by hand, then on a tiny model against log-probs taken by hand."""

import math

import pytest
import torch
from PIL import Image

from illume.dpo import dpo_losses, pair_examples, pair_logps, reference_logps, reward_accuracy
from illume.items import Item
from illume.pairs import Pair
from illume.tune import TuneConfig, target_ids


def test_dpo_loss_is_minus_log_sigmoid_of_the_scaled_margin():
    # policy gains 1 nat on the chosen text and loses 1 on the rejected one: margin 2
    losses = dpo_losses(
        torch.tensor([-1.0, -2.0]),
        torch.tensor([-3.0, -2.0]),
        torch.tensor([-2.0, -2.0]),
        torch.tensor([-2.0, -2.0]),
        beta=0.1,
    )
    assert losses.tolist() == pytest.approx([math.log1p(math.exp(-0.2)), math.log(2)])
    # the first pair's chosen text gained more than its rejected one; the second's did not
    zeros = torch.zeros(2)
    acc = reward_accuracy(torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -2.0]), zeros, zeros)
    assert acc == 0.5


def _by_hand(model, examples, image) -> list[float]:
    """Summed log-probs of each example's target tokens, from the LM's logits directly."""
    config = TuneConfig()
    embeds, mask, labels = model.training_batch(
        [image] * len(examples),
        [ex.prompt for ex in examples],
        target_ids(model.tokenizer, examples, config),
    )
    with torch.no_grad():
        logits = model.lm(inputs_embeds=embeds, attention_mask=mask).logits
    logp = torch.log_softmax(logits[:, :-1].double(), -1)
    out = []
    for row in range(len(examples)):
        total = 0.0
        for pos in range(labels.shape[1] - 1):
            token = int(labels[row, pos + 1])
            if token != -100:
                total += float(logp[row, pos, token])
        out.append(total)
    return out


def test_dpo_loss_on_a_tiny_model_matches_a_hand_computed_value(tiny_model):
    image = Image.new("RGB", (16, 16), "red")
    item = Item("a", "red.png", "what colour is it?", "red", ["it is red"])
    config = TuneConfig(beta=0.1)
    pairs = pair_examples([(item, Pair("a", "it is red", "it is a blue square"))], config)
    images = {"red.png": image}
    start = tiny_model.trainable_state()
    try:
        ref_c, ref_r = reference_logps(tiny_model, pairs, images, config)
        ref_by_hand = _by_hand(tiny_model, list(pairs[0]), image)
        assert [ref_c.item(), ref_r.item()] == pytest.approx(ref_by_hand, abs=1e-3)
        # the policy: the reference's adapters moved away from the identity
        gen = torch.Generator().manual_seed(0)
        moved = {k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in start.items()}
        tiny_model.load_trainable_state(moved)
        tiny_model.eval()
        with torch.no_grad():
            logp_c, logp_r, _ = pair_logps(tiny_model, pairs, images, config)
        loss = dpo_losses(logp_c, logp_r, ref_c, ref_r, config.beta).item()
        pol_c, pol_r = _by_hand(tiny_model, list(pairs[0]), image)
        margin = (pol_c - ref_by_hand[0]) - (pol_r - ref_by_hand[1])
        assert abs(margin) > 0.05  # the policy differs from the reference: a real check
        assert loss == pytest.approx(math.log1p(math.exp(-0.1 * margin)), abs=1e-4)
    finally:
        tiny_model.load_trainable_state(start)
