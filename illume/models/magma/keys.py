"""The explicit map between MAGMA's checkpoint names and MagmaVLM's, both ways.

Facts the map encodes (Aleph-Alpha/magma, magma/magma.py, adapters.py, image_prefix.py,
language_model.py; ml-research/ILLUME magma/gpt_neo_ours.py):
- GPT-J was built with finetuneanon's transformers fork as GPTNeoForCausalLM with
  `jax=True`: attention weights live under `attn.attention.{q,k,v,out}_proj`, the MLP is
  `mlp.c_fc` / `mlp.c_proj`, there is no `ln_2`, the head `lm_head` has a bias, and every
  attention layer stores buffers (`bias`, `masked_bias`, `scale_attn`, `sin`, `cos`) that
  transformers' GPT-J recomputes. Later MAGMA code loads HF GPT-J names (`attn.q_proj`,
  `mlp.fc_in`); both are accepted.
- Adapters wrap blocks: the MLP becomes `nn.Sequential(mlp, adapter)` (`mlp.0.*` is the
  MLP, `mlp.1.adapter.{0,2}` the down/up projections), the attention an `AdapterWrapper`
  (`attn.attn_block.*` is the attention, `attn.adapter.{0,2}` the projections).
- `Magma` also registers `word_embedding` (= lm.transformer.wte) and `transformer`
  (= lm.transformer.h), so those weights appear twice; the aliases are dropped.
- `resize_token_embeddings(len(tokenizer))` shrank the input embedding to 50,258 rows
  while the fork's unbound head kept 50,400: the embedding is zero-padded back to 50,400.
- The image prefix is `image_prefix.enc` (CLIP's visual tower, attention pool replaced by
  a parameter-free reshape), `image_prefix.proj` and `image_prefix.ln`.
"""

from __future__ import annotations

import re

from illume.models.adapters import AdapterConfig

L = r"lm\.transformer\.h\.(\d+)\."  # a GPT-J layer; its index is the first group

KEY_MAP: list[tuple[str, str]] = [
    # MAGMA name (regex)                                      -> our name, adapters unwrapped
    (r"lm\.transformer\.wte\.weight", r"lm.transformer.wte.weight"),
    (r"lm\.transformer\.ln_f\.(weight|bias)", r"lm.transformer.ln_f.\1"),
    (r"lm\.lm_head\.(weight|bias)", r"lm.lm_head.\1"),
    (L + r"ln_1\.(weight|bias)", r"lm.transformer.h.\1.ln_1.\2"),
    (L + r"attn\.(?:attn_block\.)?(?:attention\.)?([qkv]|out)_proj\.weight",
     r"lm.transformer.h.\1.attn.\2_proj.weight"),
    (L + r"attn\.adapter\.0\.(weight|bias)", r"lm.transformer.h.\1.attn.adapter.down.\2"),
    (L + r"attn\.adapter\.2\.(weight|bias)", r"lm.transformer.h.\1.attn.adapter.up.\2"),
    (L + r"mlp\.(?:0\.)?(?:c_fc|fc_in)\.(weight|bias)", r"lm.transformer.h.\1.mlp.fc_in.\2"),
    (L + r"mlp\.(?:0\.)?(?:c_proj|fc_out)\.(weight|bias)", r"lm.transformer.h.\1.mlp.fc_out.\2"),
    (L + r"mlp\.1\.adapter\.0\.(weight|bias)", r"lm.transformer.h.\1.mlp.adapter.down.\2"),
    (L + r"mlp\.1\.adapter\.2\.(weight|bias)", r"lm.transformer.h.\1.mlp.adapter.up.\2"),
    (r"image_prefix\.enc\.((?:conv|bn)[123]\..+|layer[1-4]\..+)", r"encoder.\1"),
    (r"image_prefix\.proj\.(weight|bias)", r"prefix.proj.\1"),
    (r"image_prefix\.ln\.(weight|bias)", r"prefix.norm.\1"),
]  # fmt: skip
"""MAGMA's checkpoint names -> ours, before adapter placement (see `place_adapters`)."""

DROPPED: list[tuple[str, str]] = [
    (r"word_embedding\.weight", "alias of lm.transformer.wte.weight (Magma.word_embedding)"),
    (r"transformer\.\d+\..+", "alias of lm.transformer.h.* (Magma.transformer)"),
    (L + r"attn\.(?:attn_block\.)?(?:attention\.)?(?:bias|masked_bias|scale_attn|sin|cos)",
     "attention buffer GPT-J recomputes (causal mask, rotary table, scale)"),
    (r"image_prefix\.enc\.attnpool\..+", "CLIP attention pool, which MAGMA removes"),
]  # fmt: skip
"""Keys left out on purpose, each with the reason the report gives."""


def place_adapters(name: str, adapters: AdapterConfig) -> str:
    """Our name for a weight inside an adapted block: `Adapted` keeps the block as `.block`."""
    m = re.fullmatch(L + r"(attn|mlp)\.(.+)", name)
    if not m or m.group(3).startswith("adapter."):
        return name
    wrapped = adapters.attention if m.group(2) == "attn" else adapters.mlp
    return f"lm.transformer.h.{m.group(1)}.{m.group(2)}.block.{m.group(3)}" if wrapped else name


def map_key(key: str, adapters: AdapterConfig) -> tuple[str | None, str | None]:
    """(our name, None) for a mapped key, (None, reason) for a dropped one, (None, None) else."""
    for pattern, reason in DROPPED:
        if re.fullmatch(pattern, key):
            return None, reason
    for pattern, target in KEY_MAP:
        m = re.fullmatch(pattern, key)
        if m:
            return place_adapters(m.expand(target), adapters), None
    return None, None
