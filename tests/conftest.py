"""Shared fixtures: tiny models built from configs, so most tests take milliseconds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illume.items import write_jsonl
from illume.testing.tiny_lm import build_tiny_lm

# Tests never reach a model hub: everything they load is built locally or ships in packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """The tiny Llama (illume/testing/tiny_lm.py), once per session."""
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_model(tiny_lm_dir):
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

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
