"""Tuning the real embedded model (SmolLM2 + its image encoder) at the engine's learning rate
moves the candidates it samples on *held-out* items toward what it was fed.

Eight rationales of one distinctive pattern ("... with zebra stripes") on eight shapes;
a few optimiser steps; then four other shapes' sampled candidates are counted for the
pattern. Zero-shot the model never writes "zebra" about a plain coloured shape, so the
share moving from 0 is the model learning, not chance. The toy memorisation check stays
in test_learning.py (fast); this one loads the real weights (slow).
"""

import pytest
import torch
from PIL import Image, ImageDraw

from illume import api
from illume.items import Item
from illume.sample import SampleConfig
from illume.tune import TuneConfig, build_examples
from training import trainer
from training.testing import AdamWEngine

pytestmark = pytest.mark.slow

SHAPES = [("red", "circle"), ("blue", "triangle"), ("green", "rectangle"), ("yellow", "circle")]
PATTERN = "zebra"
STEPS = 6
MIN_SHARE = 0.3
"""The share of held-out candidates with the pattern must rise by this much (0 before)."""


def _image(path, colour: str, shape: str, shift: int):
    img = Image.new("RGB", (64, 64), "white")
    d = ImageDraw.Draw(img)
    box = (10 + shift, 10, 50 + shift // 2, 50)
    if shape == "circle":
        d.ellipse(box, fill=colour)
    elif shape == "rectangle":
        d.rectangle(box, fill=colour)
    else:
        d.polygon(
            [(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=colour
        )
    img.save(path)
    return str(path)


def _items(tmp_path, n: int, offset: int) -> list[Item]:
    out = []
    for k in range(n):
        colour, shape = SHAPES[(k + offset) % len(SHAPES)]
        image = _image(tmp_path / f"s{offset}-{k}.png", colour, shape, k % 6)
        out.append(Item(f"s{offset}-{k}", image, "what color is the shape?", colour))
    return out


def _share(model, items) -> float:
    config = SampleConfig(n_per_temperature=2, top_up_rounds=0, rank=False, max_new_tokens=16)
    rows = list(api.sampler(model, config).sample(items, progress=False))
    texts = [c.text.lower() for r in rows for c in r.candidates]
    return sum(PATTERN in t for t in texts) / max(1, len(texts))


def test_a_few_steps_move_held_out_candidates_toward_the_pattern(tmp_path):
    from illume.models import ModelChoice, load_model

    torch.manual_seed(0)
    model = load_model(ModelChoice.from_env(model="embedded"))
    train, held_out = _items(tmp_path, 8, 0), _items(tmp_path, 4, 1)
    explained = [(it, f"the {it.answer} shape is covered with {PATTERN} stripes") for it in train]
    config = TuneConfig(steps=STEPS, epochs=1, batch_size=8, vqa_ratio=0)  # the default lr
    exp, vqa, b = build_examples(explained, train, config)
    before = _share(model, held_out)
    result = trainer.fit(AdamWEngine(model, config.lr), model, exp, vqa, b, [], config)
    after = _share(model, held_out)
    print(f"share of held-out candidates with {PATTERN!r}: {before:.2f} -> {after:.2f}")
    assert result.steps_run == STEPS
    assert before == 0.0
    assert after >= before + MIN_SHARE, (before, after)
