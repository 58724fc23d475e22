"""Worked examples: read before the image, cached once, and the same tokens when tuning."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from illume.models import examples
from illume.models.prompt import Prompt


def _photo(seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))


def _drawing():
    return Image.new("RGB", (32, 32), (200, 30, 30))


def test_auto_gives_photos_the_builtin_examples_and_drawings_none(tiny_model):
    photo, drawing = tiny_model.contextualize(
        [_photo(), _drawing()], [Prompt("what is it?", "cat"), Prompt("what is it?", "cat")]
    )
    assert photo.examples == examples.render(examples.PHOTO_EXAMPLES)
    assert photo.examples.startswith("Context: a photo of a golden retriever")
    assert drawing.examples == ""
    [vqa] = tiny_model.contextualize([_photo()], [Prompt("what is it?")])
    assert vqa.examples == ""  # asks for the answer, not a rationale


def test_a_project_file_replaces_them(tiny_model, tmp_path):
    path = tmp_path / "examples.jsonl"
    row = {"context": "a scan", "question": "is it broken?", "answer": "yes", "rationale": "a gap"}
    path.write_text(json.dumps(row) + "\n")
    assert examples.examples_for(str(path), "drawing") == (
        "Context: a scan Q: is it broken? A: yes, because a gap.\n"
    )
    assert examples.examples_for("none", "photo") == ""
    path.write_text(json.dumps({"context": "x"}) + "\n")
    with pytest.raises(ValueError, match="question"):
        examples.load(path)


def test_cached_examples_give_the_logits_of_one_full_forward(tiny_model):
    """A photo row (examples from the cache) and a drawing row (none) in one batch: each as if
    its whole text, examples included, had been read in one forward pass; then one step."""
    images = [_photo(), _drawing()]
    prompts = [Prompt("what is it?", "a cat"), Prompt("why?", "yes", "seeing that it")]
    logits, state = tiny_model.prefill(images, prompts)
    nxt = torch.tensor([11, 12])
    step_logits, _ = tiny_model.step(nxt, state)
    read = tiny_model.contextualize(images, prompts)
    assert read[0].examples and not read[1].examples
    for row in range(2):
        ids = tiny_model.prompt_ids([read[row]])[0] + [int(nxt[row])]
        lead = [tiny_model.examples_ids(read[row].examples)] if read[row].examples else None
        embeds, mask = tiny_model.embed([images[row]], [ids], lead_ids=lead)
        full = tiny_model.lm(inputs_embeds=embeds, attention_mask=mask).logits[0]
        assert torch.allclose(full[-2], logits[row], atol=1e-4)
        assert torch.allclose(full[-1], step_logits[row], atol=1e-4)
    # again: the cache was copied, not consumed by the first call's decoding
    again, _ = tiny_model.prefill(images, prompts)
    assert torch.allclose(again, logits, atol=1e-5)


def test_tuning_reads_the_examples_and_a_changed_adapter_renews_the_cache(tiny_model):
    image, prompt = _photo(), Prompt("what is it?", "a cat")
    target = [tiny_model.tokenizer(" it has fur", add_special_tokens=False).input_ids]
    [read] = tiny_model.contextualize([image], [prompt])
    _, _, labels = tiny_model.training_batch([image], [prompt], target)
    lead = len(tiny_model.examples_ids(read.examples))
    prompt_len = len(tiny_model.prompt_ids([read])[0])
    assert labels.shape[1] == lead + tiny_model.prefix_length + prompt_len + len(target[0])
    before, _ = tiny_model.prefill([image], [prompt])
    up = next(p for n, p in tiny_model.lm.named_parameters() if ".adapter.up." in n)
    saved = up.detach().clone()
    try:
        with torch.no_grad():
            up.add_(0.5)
        after, _ = tiny_model.prefill([image], [prompt])
        embeds, mask = tiny_model.embed(
            [image],
            tiny_model.prompt_ids([read]),
            lead_ids=[tiny_model.examples_ids(read.examples)],
        )
        full = tiny_model.lm(inputs_embeds=embeds, attention_mask=mask).logits[0, -1]
        assert not torch.allclose(before, after)
        assert torch.allclose(full, after[0], atol=1e-4)
    finally:
        with torch.no_grad():
            up.copy_(saved)


def test_no_examples_leaves_the_prompt_alone(tiny_model):
    tiny_model.config = replace(tiny_model.config, examples="none")
    try:
        [read] = tiny_model.contextualize([_photo()], [Prompt("what is it?", "a cat")])
        assert read.examples == ""
    finally:
        tiny_model.config = replace(tiny_model.config, examples="auto")
