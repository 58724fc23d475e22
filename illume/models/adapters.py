"""Houlsby bottleneck adapters: the only weights ILLUME tunes by default.

An adapter is down-projection -> nonlinearity -> up-projection with a residual
around it. The up-projection starts at zero, so a freshly added adapter is the
identity and an untuned model behaves exactly like the frozen one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class AdapterConfig:
    """Where and how big the adapters are (MAGMA's defaults)."""

    downsample_factor: int = 8
    """Bottleneck width = hidden size / downsample_factor (MAGMA v1 uses 8 for the MLP)."""
    attention: bool = True
    """Put an adapter after every self-attention block."""
    mlp: bool = True
    """Put an adapter after every MLP block."""
    activation: str = "relu"
    """Nonlinearity in the bottleneck (MAGMA and Houlsby use ReLU)."""


class BottleneckAdapter(nn.Module):
    """x + up(act(down(x))), zero at initialisation."""

    def __init__(self, hidden_size: int, downsample_factor: int = 8, activation: str = "relu"):
        super().__init__()
        width = max(1, hidden_size // downsample_factor)
        self.down = nn.Linear(hidden_size, width)
        self.act = {"relu": nn.ReLU(), "gelu": nn.GELU(), "silu": nn.SiLU()}[activation]
        self.up = nn.Linear(width, hidden_size)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(self.down(x)))


class Adapted(nn.Module):
    """A frozen block followed by an adapter on its (first) output."""

    def __init__(self, block: nn.Module, adapter: BottleneckAdapter):
        super().__init__()
        self.block = block
        self.adapter = adapter

    def forward(self, *args, **kwargs):
        out = self.block(*args, **kwargs)
        if isinstance(out, tuple):
            return (self.adapter(out[0]), *out[1:])
        return self.adapter(out)
