import torch
from PIL import Image

from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM
from illume.models.prompt import Prompt


def _images(n):
    return [Image.new("RGB", (20 + 7 * i, 30), (40 * i, 100, 200)) for i in range(n)]


def test_prefill_then_step_equals_one_full_forward(tiny_model):
    prompts = [Prompt("what is it?", "a cat"), Prompt("why?", "yes", "seeing that it")]
    images = _images(2)
    logits, state = tiny_model.prefill(images, prompts)
    nxt = torch.tensor([11, 12])
    step_logits, _ = tiny_model.step(nxt, state)
    tok = tiny_model.tokenizer
    read = tiny_model.contextualize(images, prompts)  # what prefill reads: the image context too
    for row in range(2):
        ids = tok(read[row].plain(), add_special_tokens=False).input_ids + [int(nxt[row])]
        embeds, mask = tiny_model.embed([images[row]], [ids])
        full = tiny_model.lm(inputs_embeds=embeds, attention_mask=mask).logits[0]
        assert torch.allclose(full[-2], logits[row], atol=1e-4)
        assert torch.allclose(full[-1], step_logits[row], atol=1e-4)


def test_left_padding_does_not_change_logits(tiny_model):
    short, long = Prompt("a?", "b"), Prompt("a much longer question here?", "b")
    images = _images(2)
    alone, _ = tiny_model.prefill(images[:1], [short])
    batched, _ = tiny_model.prefill(images, [short, long])
    assert torch.allclose(alone[0], batched[0], atol=1e-4)


def test_image_changes_logits_and_can_be_switched_off(tiny_lm_dir, tiny_model):
    a, _ = tiny_model.prefill(_images(1), [Prompt("x?", "y")])
    b, _ = tiny_model.prefill([Image.new("RGB", (20, 30), (255, 255, 0))], [Prompt("x?", "y")])
    assert not torch.allclose(a, b)
    text_only = _tiny(tiny_lm_dir, image_prefix=False, image_context=False)
    c, _ = text_only.prefill(_images(1), [Prompt("x?", "y")])
    d, _ = text_only.prefill([Image.new("RGB", (5, 5))], [Prompt("x?", "y")])
    assert torch.allclose(c, d)


def _tiny(lm_dir, **kw):
    return EmbeddedVLM(EmbeddedConfig(lm=str(lm_dir), encoder="tiny", prefix_weights=None, **kw))


def test_version_round_trip(tmp_path, tiny_lm_dir):
    tuned = _tiny(tiny_lm_dir)
    torch.manual_seed(1)
    for p in tuned.trainable_parameters():
        torch.nn.init.normal_(p, std=0.02)
    tuned.save_version(tmp_path / "v0001")
    assert (tmp_path / "v0001" / "adapters.safetensors").exists()
    fresh = _tiny(tiny_lm_dir)
    prompt = [Prompt("x?", "y")]
    before, _ = fresh.prefill(_images(1), prompt)
    fresh.load_version(tmp_path / "v0001")
    after, _ = fresh.prefill(_images(1), prompt)
    expected, _ = tuned.prefill(_images(1), prompt)
    assert fresh.version == "v0001"
    assert not torch.allclose(before, after)
    assert torch.allclose(after, expected, atol=1e-5)


def test_sampling_and_tuning_read_the_same_image_context(tiny_model):
    from dataclasses import replace as _replace

    from PIL import Image

    from illume.models.prompt import Prompt

    image = Image.new("RGB", (32, 32), (200, 30, 30))
    prompt = Prompt("what colour is it?", "red")
    (with_context,) = tiny_model.contextualize([image], [prompt])
    assert with_context.context == "a drawing; mostly red."
    target = [tiny_model.tokenizer(" it is red", add_special_tokens=False).input_ids]
    _, _, labels = tiny_model.training_batch([image], [prompt], target)
    ids = tiny_model.prompt_ids([with_context])[0]
    assert labels.shape[1] == tiny_model.prefix_length + len(ids) + len(target[0])
    tiny_model.config = _replace(tiny_model.config, image_context=False)
    try:
        assert tiny_model.contextualize([image], [prompt]) == [prompt]
    finally:
        tiny_model.config = _replace(tiny_model.config, image_context=True)
