"""A tiny Llama with SmolLM2's tokenizer, built from a config (no download): the LM of
the tests' tiny embedded model."""

from __future__ import annotations

import shutil
from pathlib import Path


def build_tiny_lm(out: Path, initializer_range: float = 0.02) -> Path:
    """A 2-layer Llama with SmolLM2's tokenizer, saved like a hub model folder."""
    import torch
    from transformers import LlamaForCausalLM

    config = tiny_llama_config(initializer_range=initializer_range)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    copy_tokenizer(out)
    return out


def tiny_llama_config(**overrides):
    """A 2-layer, 64-wide Llama config over SmolLM2's vocabulary and special tokens."""
    from transformers import LlamaConfig

    settings = dict(
        vocab_size=49152,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    return LlamaConfig(**{**settings, **overrides})


def copy_tokenizer(out: Path) -> None:
    """SmolLM2's tokenizer files into a model folder."""
    from illume.models.weights import smollm2_dir

    for f in smollm2_dir().iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")) or f.name == "chat_template.jinja":
            shutil.copy(f, out / f.name)
