"""The Hugging Face family on tiny models of four real architectures, offline."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from illume.items import Item
from illume.models import ModelChoice, load_model
from illume.models.hf.hf_vlm import HFConfig, ModelDoesNotFit, check_fits
from illume.models.prompt import Prompt
from illume.sample import SampleConfig, Sampler
from illume.testing.tiny_vlms import ARCHS, build
from illume.tune import TuneConfig, build_examples, loss_sums

PROMPTS = [
    Prompt("what colour is it?", "red"),
    Prompt("what is the shape of the thing in the middle?", "circle"),
]


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {arch: build(arch, root / arch) for arch in ARCHS}


def _model(hf_dirs, arch, peft="lora", version=None):
    choice = ModelChoice(model=f"hf:{hf_dirs[arch]}", peft=peft, device="cpu", dtype="float32")
    return load_model(choice, version)


def _images():
    return [Image.new("RGB", (40, 60), (200, 30, 30)), Image.new("RGB", (80, 30), (20, 40, 220))]


@pytest.mark.parametrize("arch", ARCHS)
def test_prefill_step_and_target_nll_agree_and_rows_do_not_mix(hf_dirs, arch):
    model = _model(hf_dirs, arch)
    images = _images()
    logits, state = model.prefill(images, PROMPTS)
    first, second = [11, 12], [13, 14]
    step_logits, _ = model.step(torch.tensor(first), state)
    one, _ = model.target_nll(images, PROMPTS, [[t] for t in first])
    two, _ = model.target_nll(images, PROMPTS, [[t, u] for t, u in zip(first, second, strict=True)])
    for row in range(2):
        expected_one = -torch.log_softmax(logits[row], -1)[first[row]]
        expected_two = -torch.log_softmax(step_logits[row], -1)[second[row]]
        assert torch.allclose(one[row], expected_one, atol=1e-4)
        assert torch.allclose(two[row] - one[row], expected_two, atol=1e-4)
        alone, _ = model.prefill([images[row]], [PROMPTS[row]])
        assert torch.allclose(alone[0], logits[row], atol=1e-4), "left padding changed a row"


@pytest.mark.parametrize("arch", ARCHS)
def test_samples_one_tuning_step_and_version_round_trip(hf_dirs, arch, tmp_path):
    model = _model(hf_dirs, arch)
    image = tmp_path / "red.png"
    Image.new("RGB", (48, 48), "red").save(image)
    items = [Item(f"i{k}", str(image), "what colour is it?", "red", ["it is red"]) for k in (0, 1)]
    cfg = SampleConfig(n_per_temperature=2, max_new_tokens=6, top_up_rounds=0)
    results = list(Sampler(model, cfg).sample(items, progress=False))
    assert all(r.error is None and r.candidates for r in results)
    assert {c.model_version for r in results for c in r.candidates} == {"zero-shot"}

    frozen = {k: v.clone() for k, v in model.vlm.state_dict().items() if "lora_" not in k}
    params = model.trainable_parameters()
    tcfg = TuneConfig()
    exp, vqa, b = build_examples([(items[0], "it is red")], items, tcfg)
    images = {str(image): Image.open(image).convert("RGB")}
    opt = torch.optim.AdamW(params, lr=1e-2)
    vqa_sum, exp_sum, n_positions = loss_sums(model, exp + vqa, images, tcfg)
    assert n_positions > 0 and exp_sum > 0 and vqa_sum > 0
    before = [p.detach().clone() for p in params]
    (vqa_sum + b * exp_sum).backward()
    opt.step()
    assert any(not torch.equal(p, q) for p, q in zip(params, before, strict=True))
    after = model.vlm.state_dict()
    assert all(torch.equal(after[k], v) for k, v in frozen.items()), "base weights moved"

    model.save_version(tmp_path / "v0001")
    saved = json.loads((tmp_path / "v0001" / "adapter_config.json").read_text())
    assert saved["peft_type"] == "LORA" and saved["base_model_name_or_path"] == str(hf_dirs[arch])
    expected, _ = model.prefill(_images(), PROMPTS)
    fresh = _model(hf_dirs, arch, version=tmp_path / "v0001")
    got, _ = fresh.prefill(_images(), PROMPTS)
    assert fresh.version == "v0001"
    assert torch.allclose(expected, got, atol=1e-5)
    fresh.reset_version()
    zero, _ = fresh.prefill(_images(), PROMPTS)
    assert not torch.allclose(zero, got, atol=1e-4)


@pytest.mark.parametrize("peft", ["prompt", "adapters"])
def test_other_tuners_round_trip_and_start_as_zero_shot(hf_dirs, peft, tmp_path):
    plain = _model(hf_dirs, "llava")
    model = _model(hf_dirs, "llava", peft=peft)
    zero_plain, _ = plain.prefill(_images(), PROMPTS)
    zero, _ = model.prefill(_images(), PROMPTS)
    assert torch.allclose(zero, zero_plain, atol=1e-5), "an untuned tuner must change nothing"
    params = model.trainable_parameters()
    nll, _ = model.target_nll(_images(), PROMPTS, [[11, 12], [13]])
    nll.sum().backward()
    torch.optim.AdamW(params, lr=5e-2).step()
    tuned, _ = model.prefill(_images(), PROMPTS)
    assert not torch.allclose(tuned, zero, atol=1e-4)
    alone, _ = model.prefill(_images()[:1], PROMPTS[:1])  # row 0 is left-padded in the batch
    assert torch.allclose(alone[0], tuned[0], atol=1e-4), "padding moved the soft prompt"
    model.save_version(tmp_path / "v0001")
    if peft == "prompt":
        cfg = json.loads((tmp_path / "v0001" / "adapter_config.json").read_text())
        assert cfg["peft_type"] == "PROMPT_TUNING" and cfg["num_virtual_tokens"] == 20
    fresh = _model(hf_dirs, "llava", peft=peft, version=tmp_path / "v0001")
    got, _ = fresh.prefill(_images(), PROMPTS)
    assert torch.allclose(tuned, got, atol=1e-5)
    with pytest.raises(ValueError, match="--peft"):
        _model(hf_dirs, "llava", peft="lora", version=tmp_path / "v0001")


def test_chat_models_get_a_user_turn_and_an_assistant_reply(hf_dirs):
    """The exact text each kind of HF model reads (pinned: sampling and tuning both use it)."""
    exp, vqa = Prompt("what colour is it?", "red"), Prompt("what colour is it?")
    qwen = _model(hf_dirs, "qwen2_vl").inputs
    user = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>what colour is it?"
    assert qwen.text(exp) == user + "<|im_end|>\n<|im_start|>assistant\nred, because"
    assert qwen.text(vqa) == user + "<|im_end|>\n<|im_start|>assistant\n"
    llava = _model(hf_dirs, "llava").inputs
    assert llava.text(exp) == "USER: <image>\nwhat colour is it? ASSISTANT: red, because"
    assert llava.text(vqa) == "USER: <image>\nwhat colour is it? ASSISTANT:"
    plain = _model(hf_dirs, "blip2").inputs  # no chat template: the paper's plain prompt
    assert (plain.text(exp), plain.text(vqa)) == (exp.plain(), "Q: what colour is it? A:")


def test_a_model_too_large_is_refused_before_loading(tmp_path):
    from transformers import LlavaConfig

    LlavaConfig(
        text_config={
            "model_type": "llama",
            "hidden_size": 16384,
            "num_hidden_layers": 400,
            "intermediate_size": 65536,
        }
    ).save_pretrained(tmp_path)
    with pytest.raises(ModelDoesNotFit, match="does not fit on cpu"):
        check_fits(HFConfig(reference=str(tmp_path)))


def test_model_choice_parses_and_forwards():
    with pytest.raises(ValueError, match="unknown model"):
        _ = ModelChoice(model="gpt:x").family
    with pytest.raises(ValueError, match="needs a reference"):
        _ = ModelChoice(model="hf").family
    choice = ModelChoice(model="hf:org/name", peft="prompt", dtype="bfloat16")
    assert (choice.family, choice.reference) == ("hf", "org/name")
    args = choice.to_args()
    assert args[:2] == ["--model", "hf:org/name"] and "--peft" in args and "--lm" not in args


@pytest.mark.parametrize("arch", ARCHS)
def test_bfloat16_runs_prefill_step_and_a_backward_pass(hf_dirs, arch):
    choice = ModelChoice(model=f"hf:{hf_dirs[arch]}", device="cpu", dtype="bfloat16")
    model = load_model(choice)
    assert model.vlm.dtype == torch.bfloat16
    logits, state = model.prefill(_images()[:1], PROMPTS[:1])
    step_logits, _ = model.step(torch.tensor([11]), state)
    assert logits.dtype == step_logits.dtype == torch.float32  # the sampler's precision
    params = model.trainable_parameters()
    nll, _ = model.target_nll(_images()[:1], PROMPTS[:1], [[11, 12]])
    nll.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params[:2])


def test_a_lora_version_loads_in_peft_itself(hf_dirs, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    model = _model(hf_dirs, "llava")
    params = model.trainable_parameters()
    nll, _ = model.target_nll(_images(), PROMPTS, [[11, 12], [13]])
    nll.sum().backward()
    torch.optim.AdamW(params, lr=5e-2).step()
    model.save_version(tmp_path / "v0001")
    inputs = model._encode(_images(), PROMPTS)
    positions = (inputs["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    ours = model.vlm(**inputs, position_ids=positions).logits[:, -1]

    plain = AutoModelForImageTextToText.from_pretrained(hf_dirs["llava"])
    untuned = plain(**inputs, position_ids=positions).logits[:, -1]
    assert not torch.allclose(ours, untuned, atol=1e-4)
    peft = PeftModel.from_pretrained(plain, tmp_path / "v0001").eval()
    theirs = peft(**inputs, position_ids=positions).logits[:, -1]
    assert torch.allclose(ours, theirs, atol=1e-5)
