"""A tiny MAGMA and its checkpoint in MAGMA's own key layout, for the MAGMA and training tests.

The checkpoint's names are data, written down from MAGMA's published model definition,
not produced by the importer's key map (magma/keys.py), so the test checks the map
against MAGMA rather than against its own inverse:
- github.com/Aleph-Alpha/magma, magma/magma.py: `Magma` holds `lm` (the language model),
  `image_prefix`, and the aliases `word_embedding` (= lm.transformer.wte) and
  `transformer` (= lm.transformer.h); `add_adapters` wraps each MLP as
  `nn.Sequential(mlp, Adapter)` and each attention as `AdapterWrapper(attn_block=attn)`.
- magma/adapters.py: an `Adapter` keeps its layers in `self.adapter = nn.Sequential(
  Linear down, activation, Linear up)`, so the projections are `adapter.0` and `adapter.2`.
- magma/image_prefix.py: `ImagePrefix` has `enc` (CLIP's visual tower, whose attention pool
  magma/image_encoders.py replaces by a parameter-free reshape), `proj` and `ln`.
- magma/language_model.py: GPT-J built as GPT-Neo with `jax=True`, `rotary=True` from
  finetuneanon's transformers fork (its GPT-Neo code as ml-research/ILLUME keeps it in
  magma/gpt_neo_ours.py): a block has `ln_1` (no `ln_2`), `attn.attention.{q,k,v,out}_proj`
  without biases and the buffers `bias`, `masked_bias`, `scale_attn`, `sin`, `cos`, and
  `mlp.c_fc` / `mlp.c_proj`; the causal LM's head `lm_head` has a bias.
"""

from __future__ import annotations

import torch

from illume.models.magma.clip_resnet import ClipResNetConfig
from illume.models.magma.magma_vlm import MagmaConfig, MagmaVLM

TINY = {
    "encoder": ClipResNetConfig(layers=(1, 1, 1, 1), width=8, image_size=64),
    "gptj": {"vocab_size": 49160, "n_positions": 512, "n_embd": 64, "n_layer": 2, "n_head": 4,
             "rotary_dim": 8, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
             "bos_token_id": 1, "eos_token_id": 2},
}  # fmt: skip

# MAGMA's checkpoint name -> the MagmaVLM weight that holds the same tensor ({i}: a layer).
MAGMA_KEYS = [
    ("lm.transformer.wte.weight", "lm.transformer.wte.weight"),
    ("lm.transformer.ln_f.weight", "lm.transformer.ln_f.weight"),
    ("lm.transformer.ln_f.bias", "lm.transformer.ln_f.bias"),
    ("lm.lm_head.weight", "lm.lm_head.weight"),
    ("lm.lm_head.bias", "lm.lm_head.bias"),
    ("lm.transformer.h.{i}.ln_1.weight", "lm.transformer.h.{i}.ln_1.weight"),
    ("lm.transformer.h.{i}.ln_1.bias", "lm.transformer.h.{i}.ln_1.bias"),
    ("lm.transformer.h.{i}.mlp.0.c_fc.weight", "lm.transformer.h.{i}.mlp.block.fc_in.weight"),
    ("lm.transformer.h.{i}.mlp.0.c_fc.bias", "lm.transformer.h.{i}.mlp.block.fc_in.bias"),
    ("lm.transformer.h.{i}.mlp.0.c_proj.weight", "lm.transformer.h.{i}.mlp.block.fc_out.weight"),
    ("lm.transformer.h.{i}.mlp.0.c_proj.bias", "lm.transformer.h.{i}.mlp.block.fc_out.bias"),
    ("lm.transformer.h.{i}.mlp.1.adapter.0.weight", "lm.transformer.h.{i}.mlp.adapter.down.weight"),
    ("lm.transformer.h.{i}.mlp.1.adapter.0.bias", "lm.transformer.h.{i}.mlp.adapter.down.bias"),
    ("lm.transformer.h.{i}.mlp.1.adapter.2.weight", "lm.transformer.h.{i}.mlp.adapter.up.weight"),
    ("lm.transformer.h.{i}.mlp.1.adapter.2.bias", "lm.transformer.h.{i}.mlp.adapter.up.bias"),
    ("image_prefix.proj.weight", "prefix.proj.weight"),
    ("image_prefix.proj.bias", "prefix.proj.bias"),
    ("image_prefix.ln.weight", "prefix.norm.weight"),
    ("image_prefix.ln.bias", "prefix.norm.bias"),
]  # fmt: skip
L = "lm.transformer.h.{i}."  # one transformer block, as both models name it
ATTENTION_KEYS = {
    # v1: the attention as GPT-Neo has it; v2: inside MAGMA's AdapterWrapper, with its adapter
    "v1": [
        (L + "attn.attention.q_proj.weight", L + "attn.q_proj.weight"),
        (L + "attn.attention.k_proj.weight", L + "attn.k_proj.weight"),
        (L + "attn.attention.v_proj.weight", L + "attn.v_proj.weight"),
        (L + "attn.attention.out_proj.weight", L + "attn.out_proj.weight"),
    ],
    "v2": [
        (L + "attn.attn_block.attention.q_proj.weight", L + "attn.block.q_proj.weight"),
        (L + "attn.attn_block.attention.k_proj.weight", L + "attn.block.k_proj.weight"),
        (L + "attn.attn_block.attention.v_proj.weight", L + "attn.block.v_proj.weight"),
        (L + "attn.attn_block.attention.out_proj.weight", L + "attn.block.out_proj.weight"),
        (L + "attn.adapter.0.weight", L + "attn.adapter.down.weight"),
        (L + "attn.adapter.0.bias", L + "attn.adapter.down.bias"),
        (L + "attn.adapter.2.weight", L + "attn.adapter.up.weight"),
        (L + "attn.adapter.2.bias", L + "attn.adapter.up.bias"),
    ],
}
ATTENTION_BUFFERS = {
    "v1": "lm.transformer.h.{i}.attn.attention.",
    "v2": "lm.transformer.h.{i}.attn.attn_block.attention.",
}
"""Where GPT-Neo's attention keeps `bias`, `masked_bias`, `scale_attn`, `sin`, `cos`."""
ENCODER = ("image_prefix.enc.", "encoder.")
"""CLIP's visual tower keeps CLIP's own names (conv1, bn1, layer1.0.conv1, ...) under `enc`;
MagmaVLM's encoder (clip_resnet.py) uses the same names under `encoder`."""


def magma_names(model: MagmaVLM) -> dict[str, str]:
    """MAGMA's name for each of the model's weights, from the tables above."""
    variant = model.config.variant
    rows = MAGMA_KEYS + ATTENTION_KEYS[variant]
    names = {}
    for magma, ours in rows:
        layers = range(model.lm.config.n_layer) if "{i}" in magma else [None]
        for i in layers:
            names[ours.format(i=i)] = magma.format(i=i)
    for ours in model.state_dict():
        if ours.startswith(ENCODER[1]):
            names[ours] = ENCODER[0] + ours.removeprefix(ENCODER[1])
    unnamed = sorted(set(model.state_dict()) - set(names))
    assert not unnamed, f"the MAGMA key table misses {unnamed[:5]}"
    return names


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
    own = model.state_dict()
    state = {magma: own[ours].clone() for ours, magma in magma_names(model).items()}
    wte = state["lm.transformer.wte.weight"] = state["lm.transformer.wte.weight"][
        : len(model.tokenizer)
    ].clone()  # resize_token_embeddings(len(tokenizer)) shrank the input embedding
    state["word_embedding.weight"] = wte
    n = model.lm.config.n_positions
    for key in list(state):
        if key.startswith("lm.transformer.h."):
            state[key.replace("lm.transformer.h.", "transformer.", 1)] = state[key]
    rotary = model.lm.config.rotary_dim
    for i in range(model.lm.config.n_layer):
        prefix = ATTENTION_BUFFERS[model.config.variant].format(i=i)
        state[prefix + "bias"] = torch.tril(torch.ones(1, 1, n, n, dtype=torch.bool))
        state[prefix + "masked_bias"] = torch.tensor(-1e9)
        state[prefix + "scale_attn"] = torch.tensor(4.0)
        state[prefix + "sin"] = state[prefix + "cos"] = torch.zeros(n, rotary // 2)
    return state
