"""The Hugging Face family's loader: which class runs a model, picked from its config.

Its own module so that the general model (model.py) and the BLIP variant
(blip.py), which builds on it, do not import each other.
"""

from __future__ import annotations

from illume.models.hf.blip import BlipCaptioner
from illume.models.hf.hf_vlm import HFConfig, HFVisionLanguageModel
from illume.models.hf.tuners import TunerConfig


def build_hf(choice) -> HFVisionLanguageModel:
    """The HF model for a `ModelChoice` ("hf:<reference>", dtype, device, device map, peft)."""
    from transformers import AutoConfig

    hf_config = AutoConfig.from_pretrained(choice.reference)
    cls = HFVisionLanguageModel
    if hf_config.model_type == "blip":
        cls = BlipCaptioner
    config = HFConfig(
        reference=choice.reference,
        dtype=choice.resolved_dtype(),
        device=choice.resolved_device(),
        device_map=choice.device_map,
        tuner=TunerConfig(method=choice.peft),
    )
    return cls(config, hf_config)
