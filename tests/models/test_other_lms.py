"""Another LM in the embedded family: a folder holding a GGUF file, a tokenizer with a <bos>.

Gemma 3's weights are not installed by the README, so these tests stand in for them: a
fake conversion for the folder, SmolLM2's tokenizer made to put a <bos> first for the start.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from illume.models import weights
from illume.models.prompt import Prompt

BOS = 1


def test_a_folder_with_one_gguf_is_converted_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ILLUME_CACHE", str(tmp_path / "cache"))
    calls = []

    def convert(gguf: Path, target: Path) -> Path:
        calls.append(gguf.name)
        target.mkdir(parents=True)
        (target / "model.safetensors").write_bytes(b"")
        return target

    monkeypatch.setattr(weights, "_convert_gguf", convert)
    folder = tmp_path / "gemma"
    folder.mkdir()
    (folder / "gemma-3-270m-q4_k_m.gguf").write_bytes(b"1234")
    first = weights.lm_dir(str(folder))
    assert first == tmp_path / "cache" / "gemma-3-270m-q4_k_m-4"
    assert weights.lm_dir(str(folder)) == first and calls == ["gemma-3-270m-q4_k_m.gguf"]
    (folder / "other.gguf").write_bytes(b"")
    with pytest.raises(ValueError, match="several GGUF files"):
        weights.lm_dir(str(folder))


def test_a_model_folder_or_a_hub_id_is_read_as_given(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "stray.gguf").write_bytes(b"")
    assert weights.lm_dir(str(tmp_path)) == str(tmp_path)
    assert weights.lm_dir("org/name") == "org/name"


class _BosTokenizer:
    """SmolLM2's tokenizer as if it put a <bos> before any text, as Gemma's does."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, text, add_special_tokens=True, **kwargs):
        enc = self.inner(text, add_special_tokens=False, **kwargs)
        if add_special_tokens:
            enc["input_ids"] = [BOS, *enc["input_ids"]]
        return enc

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _photo():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))


def test_smollm2s_prompt_has_no_start_tokens(tiny_model):
    assert tiny_model.start_ids() == []


def test_every_row_starts_with_the_tokenizers_bos(tiny_model, monkeypatch):
    """A row with worked examples (bos in their cache) and one without (bos before its
    image): each as if [bos][examples][image][prompt] had been read in one pass; tuning
    reads the same tokens."""
    monkeypatch.setattr(tiny_model, "tokenizer", _BosTokenizer(tiny_model.tokenizer))
    monkeypatch.setattr(tiny_model, "_examples_kv", None, raising=False)  # cached without bos
    assert tiny_model.start_ids() == [BOS]
    images = [_photo(), Image.new("RGB", (32, 32), (200, 30, 30))]
    prompts = [Prompt("what is it?", "a cat"), Prompt("why?", "yes")]
    logits, _ = tiny_model.prefill(images, prompts)
    read = tiny_model.contextualize(images, prompts)
    assert read[0].examples and not read[1].examples
    for row in range(2):
        shots = read[row].examples
        lead = [BOS, *tiny_model.tokenizer(shots, add_special_tokens=False).input_ids]
        assert tiny_model.lead_ids(read[row]) == (lead if shots else [BOS])
        ids = tiny_model.prompt_ids([read[row]])
        embeds, mask = tiny_model.embed([images[row]], ids, lead_ids=[lead if shots else [BOS]])
        full = tiny_model.lm(inputs_embeds=embeds, attention_mask=mask).logits[0, -1]
        assert torch.allclose(full, logits[row], atol=1e-4)
    target = [[11, 12]]
    _, _, labels = tiny_model.training_batch(images[1:], prompts[1:], target)
    prompt_len = len(tiny_model.prompt_ids(read[1:])[0])
    assert labels.shape[1] == 1 + tiny_model.prefix_length + prompt_len + 2
    assert labels[0, -2:].tolist() == target[0]


def test_an_lm_without_an_aligned_prefix_reads_the_image_as_text_only(tiny_lm_dir):
    """The shipped prefix fits SmolLM2 only and stays frozen while tuning: another LM with
    the ImageNet encoder gets the context, not a random prefix."""
    from illume.models import ModelChoice
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, build_embedded, prefix_aligned

    assert prefix_aligned(EmbeddedConfig())  # SmolLM2 + EfficientNet: the packaged weights
    assert not prefix_aligned(EmbeddedConfig(lm=str(tiny_lm_dir)))
    assert prefix_aligned(EmbeddedConfig(lm=str(tiny_lm_dir), prefix_weights="own.safetensors"))
    assert prefix_aligned(EmbeddedConfig(lm=str(tiny_lm_dir), encoder="tiny"))  # tests' model
    model = build_embedded(ModelChoice(lm=str(tiny_lm_dir)))
    assert not model.use_image_prefix and model.config.image_context
    assert model.prefix_length == 0
