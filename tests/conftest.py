"""Shared fixtures: tiny models built from configs, so most tests take milliseconds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illume.items import write_jsonl

# Tests never reach a model hub: everything they load is built locally or ships in packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama with SmolLM2's tokenizer, saved like a hub model folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from illume.models.weights import smollm2_dir

    src = smollm2_dir()
    out = tmp_path_factory.mktemp("tiny-lm")
    config = LlamaConfig(
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
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    for f in src.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")) or f.name == "chat_template.jinja":
            shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_lm_dir):
    from illume.models.embedded.model import EmbeddedConfig, EmbeddedVLM

    return EmbeddedVLM(EmbeddedConfig(lm=str(tiny_lm_dir), encoder="tiny", prefix_weights=None))


@pytest.fixture
def image_dir(tmp_path) -> Path:
    """Images in several modes and sizes, plus a broken one."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    Image.fromarray(rng.integers(0, 255, (300, 20), dtype=np.uint8)).convert("L").save(
        tmp_path / "gray.jpg"
    )
    Image.new("RGBA", (17, 33), (255, 0, 0, 0)).save(tmp_path / "rgba.png")
    Image.new("P", (64, 64)).save(tmp_path / "palette.gif")
    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    return tmp_path


@pytest.fixture
def items_file(image_dir) -> Path:
    rows = [
        {
            "id": "a",
            "image": "rgb.png",
            "question": "what colour is it?",
            "answer": "red",
            "explanations": ["it is red", "the shape is red"],
            "split": "val",
        },
        {
            "id": "b",
            "image": "gray.jpg",
            "question": "is it dark?",
            "answer": "no",
            "explanations": ["the picture is bright"],
            "split": "val",
        },
        {
            "id": "c",
            "image": "rgba.png",
            "question": "what is it?",
            "answer": "a square",
            "split": "val",
        },
        {
            "id": "d",
            "image": "palette.gif",
            "question": "what is it?",
            "answer": "nothing",
            "split": "val",
        },
        {"id": "broken", "image": "broken.png", "question": "q?", "answer": "a", "split": "val"},
        {"id": "missing", "image": "nope.png", "question": "q?", "answer": "a", "split": "val"},
        {"id": "nofield", "image": "rgb.png", "question": "q?", "split": "val"},
    ]
    path = image_dir / "items.jsonl"
    write_jsonl(path, rows)
    return path
