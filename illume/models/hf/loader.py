"""The Hugging Face family's loader: which class runs a model, picked from its config.

Its own module so that the general model (model.py) and the BLIP variant
(blip.py), which builds on it, do not import each other.
"""

from __future__ import annotations

from illume.models.hf.blip import BlipCaptioner
from illume.models.hf.hf_vlm import HFConfig, HFVisionLanguageModel
from illume.models.hf.tuners import TunerConfig


def why_not_loaded(reference: str, error: BaseException) -> str:
    """One line telling apart a model not in the cache while offline, a hub id that does not
    exist (or is private), a gated model and a repository that is not a transformers model."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    chain, e = [], error
    while e is not None and len(chain) < 20:
        chain.append(e)
        e = e.__cause__ or e.__context__
    kinds = tuple(type(c) for c in chain)
    if any(issubclass(k, GatedRepoError) for k in kinds):
        return (
            f"hf:{reference} is gated: accept its terms on the hub, then log in "
            "(`hf auth login` or HF_TOKEN)"
        )
    if any(issubclass(k, RepositoryNotFoundError) for k in kinds):
        return (
            f"no model hf:{reference} on the hub (check the id; a private one needs "
            "`hf auth login` or HF_TOKEN; a folder path starts with ./ or /)"
        )
    if any(issubclass(k, LocalEntryNotFoundError) for k in kinds):
        return (
            f"hf:{reference} is not in the local cache and the hub cannot be reached "
            "(HF_HUB_OFFLINE=1 or no network): download it once with a network "
            f"(`hf download {reference}`), or give its folder"
        )
    if any(issubclass(k, EntryNotFoundError) for k in kinds):
        return f"hf:{reference} has no config.json: not a transformers model"
    return f"cannot load hf:{reference}: {' '.join(str(error).split())[:300]}"


def build_hf(choice) -> HFVisionLanguageModel:
    """The HF model for a `ModelChoice` ("hf:<reference>", dtype, device, device map, peft)."""
    from transformers import AutoConfig

    try:
        hf_config = AutoConfig.from_pretrained(choice.reference)
    except OSError as e:  # transformers wraps every hub failure in OSError: say which it is
        raise ValueError(why_not_loaded(choice.reference, e)) from e
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
