"""Put adapters into a decoder-only language model and find them again.

Kept apart from the layer code (adapters.py), as PEFT does: this file knows
the shape of Hugging Face decoder stacks (`model.layers[i].self_attn / .mlp`),
the layer file knows nothing of models.
"""

from __future__ import annotations

from torch import nn

from illume.models.adapters import Adapted, AdapterConfig, BottleneckAdapter


def decoder_layers(lm: nn.Module) -> nn.ModuleList:
    """The list of transformer blocks of a causal LM (Llama, Mistral, Qwen, GPT-J style)."""
    for path in ("model.layers", "transformer.h", "model.decoder.layers", "layers"):
        obj = lm
        for name in path.split("."):
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList):
            return obj
    raise ValueError(f"cannot find the decoder blocks of {type(lm).__name__}")


def add_adapters(lm: nn.Module, config: AdapterConfig, hidden_size: int) -> int:
    """Wrap every attention and MLP block of `lm` with an adapter; return how many."""
    n = 0
    for layer in decoder_layers(lm):
        for flag, names in ((config.attention, ("self_attn", "attn")), (config.mlp, ("mlp",))):
            if not flag:
                continue
            for name in names:
                block = getattr(layer, name, None)
                if block is None or isinstance(block, Adapted):
                    continue
                adapter = BottleneckAdapter(
                    hidden_size, config.downsample_factor, config.activation
                )
                setattr(layer, name, Adapted(block, adapter))
                n += 1
                break
    return n


def adapter_state_dict(module: nn.Module) -> dict:
    """Only the adapter weights: what a model version stores."""
    return {k: v.detach().clone() for k, v in module.state_dict().items() if ".adapter." in k}


def adapter_parameters(module: nn.Module) -> list[nn.Parameter]:
    return [p for name, p in module.named_parameters() if ".adapter." in name]
