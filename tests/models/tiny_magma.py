"""A tiny MAGMA and its checkpoint in MAGMA's own key layout, for the MAGMA and training tests."""

from __future__ import annotations

import torch

from illume.models.magma.clip_resnet import ClipResNetConfig
from illume.models.magma.keys import magma_key
from illume.models.magma.model import MagmaConfig, MagmaVLM

TINY = {
    "encoder": ClipResNetConfig(layers=(1, 1, 1, 1), width=8, image_size=64),
    "gptj": {"vocab_size": 49160, "n_positions": 512, "n_embd": 64, "n_layer": 2, "n_head": 4,
             "rotary_dim": 8, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
             "bos_token_id": 1, "eos_token_id": 2},
}  # fmt: skip


def _source(tokenizer, variant="v1") -> MagmaVLM:
    """A tiny MAGMA with trained-looking adapters and BatchNorm statistics."""
    model = MagmaVLM(MagmaConfig(variant=variant, **TINY), tokenizer)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if ".adapter." in name or "running_" in name:
                t.copy_(torch.rand(t.shape, generator=gen) * 0.2 + ("running_var" in name))
    return model


def _magma_checkpoint(model: MagmaVLM) -> dict[str, torch.Tensor]:
    """The model's weights as MAGMA's DeepSpeed module saves them, quirks included."""
    state = {magma_key(k): v.clone() for k, v in model.state_dict().items()}
    wte = state["lm.transformer.wte.weight"] = state["lm.transformer.wte.weight"][
        : len(model.tokenizer)
    ].clone()  # resize_token_embeddings(len(tokenizer)) shrank the input embedding
    state["word_embedding.weight"] = wte
    n = model.lm.config.n_positions
    for key in list(state):
        if key.startswith("lm.transformer.h."):
            state[key.replace("lm.transformer.h.", "transformer.", 1)] = state[key]
    for i in range(model.lm.config.n_layer):
        prefix = f"lm.transformer.h.{i}.attn.attention."
        state[prefix + "bias"] = torch.tril(torch.ones(1, 1, n, n, dtype=torch.bool))
        state[prefix + "masked_bias"] = torch.tensor(-1e9)
        state[prefix + "scale_attn"] = torch.tensor(4.0)
    return state
