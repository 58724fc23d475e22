"""The image prefix: grid features of a frozen image encoder -> LM input embeddings.

MAGMA turns a CLIP grid of image features into prefix embeddings the language
model reads before the prompt: one linear layer per grid position and a
LayerNorm. The embedded model and MAGMA share it; their encoders live with
their families (embedded/encoders.py, magma/clip_resnet.py).
"""

from __future__ import annotations

import torch
from torch import nn


class ImagePrefix(nn.Module):
    """Grid features -> LM input embeddings (linear projection + optional LayerNorm).

    `embed_scale` starts the LayerNorm gain at the RMS of the LM's token
    embeddings, so even an untrained prefix lives on the scale the LM expects.
    """

    def __init__(self, in_dim: int, lm_dim: int, layernorm: bool = True, embed_scale: float = 1.0):
        super().__init__()
        self.proj = nn.Linear(in_dim, lm_dim)
        self.norm = nn.LayerNorm(lm_dim) if layernorm else nn.Identity()
        if layernorm:
            nn.init.constant_(self.norm.weight, embed_scale)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(features))
