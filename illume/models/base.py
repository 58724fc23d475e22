"""The small interface every model family offers the ILLUME stages.

A family turns (image, prompt) pairs into next-token logits and a decode
state (`prefill`), continues decoding from that state one token per row
(`step`), scores target tokens for tuning (`target_nll`), and stores its tuned
parameters as a named version. The sampler, the critic, the tuner and the loop
only ever talk to this interface, so every family runs the same round loop.
Prompts arrive as data (prompt.py) and each family renders them in its own
format (plain text after an image prefix, or a chat template).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from PIL import Image

from illume.models.prompt import Prompt


@dataclass
class DecodeState:
    """What decoding needs to carry between steps, row by row.

    Rows can be repeated (one prompt, many samples) and dropped (a sample hit
    the end of its sentence) without re-encoding anything.
    """

    cache: Any
    attention_mask: torch.Tensor  # [rows, length]
    next_position: torch.Tensor  # [rows]

    def repeat_interleave(self, n: int) -> DecodeState:
        self.cache.batch_repeat_interleave(n)
        return DecodeState(
            self.cache,
            self.attention_mask.repeat_interleave(n, dim=0),
            self.next_position.repeat_interleave(n, dim=0),
        )

    def select(self, rows: torch.Tensor) -> DecodeState:
        self.cache.batch_select_indices(rows)
        return DecodeState(self.cache, self.attention_mask[rows], self.next_position[rows])


class VisionLanguageModel(Protocol):
    """What the ILLUME stages need from a model."""

    tokenizer: Any
    version: str
    vocab_size: int

    def prefill(
        self, images: list[Image.Image], prompts: list[Prompt]
    ) -> tuple[torch.Tensor, DecodeState]:
        """Encode each (image, prompt) once, the prompt rendered in the family's own format;
        return last-position logits [B, V] and the state."""
        ...

    def step(self, tokens: torch.Tensor, state: DecodeState) -> tuple[torch.Tensor, DecodeState]:
        """Feed one token per row; return the next logits [R, V] and the advanced state."""
        ...

    def target_nll(
        self, images: list[Image.Image], prompts: list[Prompt], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        """Summed next-token cross-entropy of each row's target ids after its prompt [B].

        The only loss the tuner needs: L_vqa and L_exp are sums of these rows.
        Also returns how many positions (image, prompt, target) the forward pass
        processed, for the tokens/s figure.
        """
        ...

    def trainable_parameters(self) -> list[torch.nn.Parameter]: ...

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """A detached copy of the tuned weights (to keep the best epoch)."""
        ...

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None: ...

    def reset_version(self) -> None:
        """Back to zero-shot: the tuned weights at their initial, identity values."""
        ...

    def save_version(self, path: str | Path) -> None: ...

    def load_version(self, path: str | Path) -> None: ...
