"""The trainer without DeepSpeed, for tests and benchmarks: a plain AdamW engine and a
two-rationale round run in-process (`fit` as the job runs it, minus the launcher)."""

from __future__ import annotations

import torch

from illume.items import Item
from illume.tune import TuneConfig, build_examples
from training import trainer


class AdamWEngine:
    """What `fit` needs of an engine, on a plain torch optimiser."""

    def __init__(self, model, lr: float):
        self.model = model
        self.optimizer = torch.optim.AdamW(model.trainable_parameters(), lr=lr)

    def train(self):
        self.model.train()

    def backward(self, loss):
        self.optimizer.zero_grad()
        loss.backward()

    def step(self):
        self.optimizer.step()


def tune_on_two(model, items: list[Item], config: TuneConfig):
    """The round: two near-identical rationales for the first item, in-process."""
    tuned_on = [(items[0], "it is a red circle"), (items[0], "it's a red circle")]
    exp, vqa, b = build_examples(tuned_on, items, config)
    return trainer.fit(
        AdamWEngine(model, config.lr), model, exp, vqa, b, [], config, progress=False
    )
