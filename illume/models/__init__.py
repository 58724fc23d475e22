"""Model families behind one interface (see base.py). The embedded default is offline."""

from __future__ import annotations

import os
from pathlib import Path

from illume.models.base import DecodeState, VisionLanguageModel

__all__ = ["DecodeState", "VisionLanguageModel", "load_model"]


def load_model(
    lm: str | None = None,
    encoder: str | None = None,
    image_prefix: bool = True,
    version: str | Path | None = None,
):
    """Build the embedded model, optionally with a tuned version's adapters.

    `lm` and `encoder` default to $ILLUME_LM and $ILLUME_ENCODER, else the
    packaged SmolLM2-135M-Instruct and EfficientNet-Lite0.
    """
    from illume.models.embedded import EmbeddedConfig, EmbeddedVLM

    cfg = EmbeddedConfig(image_prefix=image_prefix)
    cfg.lm = lm or os.environ.get("ILLUME_LM") or cfg.lm
    cfg.encoder = encoder or os.environ.get("ILLUME_ENCODER") or cfg.encoder
    model = EmbeddedVLM(cfg)
    if version:
        model.load_version(version)
    return model
