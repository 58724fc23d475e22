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


N_WORDS = 3000


def build_wordy_lm(out: Path) -> Path:
    """A 2-layer Llama with SmolLM2's tokenizer whose output layer knows only words."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    copy_tokenizer(out)
    vocab = AutoTokenizer.from_pretrained(out).get_vocab()
    words = sorted(  # "Ġword": a lower-case word of 4+ letters after a space
        i
        for t, i in vocab.items()
        if t[0] == "\u0120" and t[1:].isalpha() and t[1:].islower()
        if len(t) >= 5
    )[:N_WORDS]
    config = tiny_llama_config(tie_word_embeddings=False)
    torch.manual_seed(0)
    lm = LlamaForCausalLM(config)
    with torch.no_grad():
        head = torch.zeros_like(lm.lm_head.weight)
        head[words] = 0.5 * torch.randn(len(words), config.hidden_size)
        lm.lm_head.weight.copy_(head)
    lm.save_pretrained(out)
    return out
