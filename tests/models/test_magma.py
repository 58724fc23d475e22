"""MAGMA at tiny width: a synthetic checkpoint in MAGMA's key layout, imported and run."""

from __future__ import annotations

import argparse

import pytest
import torch
from PIL import Image

from illume.items import Item
from illume.models import ModelChoice
from illume.models.magma.clip_resnet import clip_preprocess
from illume.models.magma.import_command import add_arguments, main
from illume.models.magma.importer import MagmaImportError, import_checkpoint
from illume.models.magma.keys import map_key
from illume.models.magma.magma_vlm import (
    MagmaConfig,
    MagmaVLM,
    build_magma,
    load_magma,
    magma_tokenizer,
)
from illume.models.prompt import Prompt
from illume.sample import SampleConfig, Sampler
from illume.tune import TuneConfig, build_examples, combined_loss, loss_sums
from tests.models.tiny_magma import TINY, _magma_checkpoint, _source, magma_names

PROMPTS = [Prompt("what is it?", "a cat"), Prompt("why?", "yes", "seeing that")]


def _images(n=2):
    return [Image.new("RGB", (40 + 9 * i, 30), (60 * i, 120, 200)) for i in range(n)]


@pytest.fixture(scope="module")
def tokenizer(tiny_lm_dir):
    return magma_tokenizer(str(tiny_lm_dir))


@pytest.fixture(scope="module")
def source(tokenizer):
    return _source(tokenizer)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, source):
    path = tmp_path_factory.mktemp("magma") / "mp_rank_00_model_states.pt"
    torch.save(
        {"module": _magma_checkpoint(source), "global_step": 30000, "dp_world_size": 8}, path
    )
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory, checkpoint, tiny_lm_dir):
    out = tmp_path_factory.mktemp("imported") / "magma-tiny"
    report = import_checkpoint(
        checkpoint, out, "v1", str(tiny_lm_dir), shard_bytes=4_000_000, **TINY
    )
    return out, report


@pytest.fixture(scope="module")
def model(imported):
    return build_magma(ModelChoice(model=f"magma:{imported[0]}", device="cpu", dtype="float32"))


def test_import_maps_every_weight_and_reports_the_rest(imported, source):
    out, report = imported
    assert report.mapped == len(source.state_dict())
    assert report.missing == [] and report.unexpected == [] and report.mismatched == []

    def dropped(kind):
        return sum(len(keys) for why, keys in report.dropped.items() if why.startswith(kind))

    layer_keys = [k for k in source.state_dict() if k.startswith("lm.transformer.h.")]
    assert dropped("alias") == 1 + len(layer_keys)  # word_embedding, transformer.N.*
    assert dropped("attention buffer") == 5 * 2  # bias, masked_bias, scale_attn, sin, cos
    assert any("49153 -> 49160 rows" in n for n in report.notes)
    assert len(list(out.glob("model-*.safetensors"))) > 1  # sharded
    assert "missing" in report.summary()


def test_imported_logits_equal_the_source_model(model, source):
    images = _images()
    got, _ = model.prefill(images, PROMPTS)
    want, _ = source.prefill(images, PROMPTS)
    assert got.shape == (2, len(source.tokenizer)) == want.shape
    assert torch.allclose(got, want, atol=1e-5)
    targets = [[11, 12, 13], [14]]
    assert torch.allclose(
        model.target_nll(images, PROMPTS, targets)[0],
        source.target_nll(images, PROMPTS, targets)[0],
        atol=1e-4,
    )


def test_prefill_then_step_equals_one_full_forward(model):
    images = _images()
    logits, state = model.prefill(images, PROMPTS)
    nxt = torch.tensor([11, 12])
    step_logits, _ = model.step(nxt, state)
    for row in range(2):
        ids = model.tokenizer(PROMPTS[row].plain(), add_special_tokens=False).input_ids + [
            int(nxt[row])
        ]
        embeds, mask = model.embed([images[row]], [ids])
        full = model.lm(inputs_embeds=embeds, attention_mask=mask).logits[0, :, : model.vocab_size]
        assert torch.allclose(full[-2], logits[row], atol=1e-4)
        assert torch.allclose(full[-1], step_logits[row], atol=1e-4)


def test_sampling_through_the_sampler(model, tmp_path):
    _images(1)[0].save(tmp_path / "x.png")
    item = Item("x", str(tmp_path / "x.png"), "what is it?", "a box")
    cfg = SampleConfig(temperatures=(0.3, 0.9), n_per_temperature=2, max_new_tokens=4)
    sampler = Sampler(model, cfg)
    assert sampler.top_k == round(0.1 * len(model.tokenizer))
    rows = sampler.decode(_images(1), cfg.prompts_for(item), [0.3, 0.3, 0.9, 0.9])
    assert len(rows) == 4 and all(isinstance(text, str) for text, _ in rows)
    result = sampler.sample_items([item])[0]
    assert result.error is None
    assert all(c.model_version == "zero-shot" for c in result.candidates)


def test_a_tuning_step_changes_only_adapter_weights(imported):
    model = load_magma(imported[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    items = [Item(f"i{k}", "img", f"what is {k}?", "a box") for k in range(4)]
    config = TuneConfig(vqa_ratio=2)
    exp, vqa, b = build_examples([(items[0], "it has corners")], items, config)
    examples = exp + vqa
    images = {"img": _images(1)[0]}
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-2)
    vqa_sum, exp_sum, _ = loss_sums(model, examples, images, config)
    combined_loss(vqa_sum, exp_sum, 3, 3, b).backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".adapter." in k for k in changed)


def test_version_round_trip_and_reset_to_magmas_own_adapters(imported, model, tmp_path):
    tuned = load_magma(imported[0])
    torch.manual_seed(3)
    for p in tuned.trainable_parameters():
        torch.nn.init.normal_(p, std=0.05)
    tuned.save_version(tmp_path / "v0001")
    meta = (tmp_path / "v0001" / "model.json").read_text()
    assert '"family": "magma"' in meta
    fresh = load_magma(imported[0])
    fresh.load_version(tmp_path / "v0001")
    assert fresh.version == "v0001"
    want, _ = tuned.prefill(_images(), PROMPTS)
    got, _ = fresh.prefill(_images(), PROMPTS)
    assert torch.allclose(got, want, atol=1e-5)
    fresh.reset_version()
    zero_shot, _ = model.prefill(_images(), PROMPTS)
    assert fresh.version == "zero-shot"
    assert torch.allclose(fresh.prefill(_images(), PROMPTS)[0], zero_shot, atol=1e-5)


def test_missing_and_unexpected_keys_are_named(tmp_path, source, tiny_lm_dir):
    state = _magma_checkpoint(source)
    del state["lm.transformer.ln_f.weight"]
    state["lm.transformer.h.0.mlp.1.adapter.3.weight"] = torch.zeros(2)
    bare = tmp_path / "bare.pt"
    torch.save(state, bare)  # a bare state dict, no DeepSpeed wrapper
    with pytest.raises(MagmaImportError, match=r"lm\.transformer\.ln_f\.weight") as err:
        import_checkpoint(bare, tmp_path / "out", "v1", str(tiny_lm_dir), **TINY)
    assert err.value.report.missing == ["lm.transformer.ln_f.weight"]
    assert err.value.report.unexpected == ["lm.transformer.h.0.mlp.1.adapter.3.weight"]
    assert not (tmp_path / "out").exists()

    state = _magma_checkpoint(source)
    del state["lm.transformer.h.1.mlp.1.adapter.2.weight"]
    state["extra.thing"] = torch.zeros(1)
    torch.save({"module": state}, bare)
    with pytest.raises(MagmaImportError, match="missing"):
        import_checkpoint(bare, tmp_path / "out", "v1", str(tiny_lm_dir), **TINY)
    report = import_checkpoint(
        bare, tmp_path / "out", "v1", str(tiny_lm_dir),
        allow_missing=True, allow_unexpected=True, **TINY,
    )  # fmt: skip
    assert report.missing == ["lm.transformer.h.1.mlp.adapter.up.weight"]
    assert report.unexpected == ["extra.thing"]
    assert load_magma(tmp_path / "out").n_adapters == 2


def test_pickled_objects_need_trust_and_legacy_files_still_load(tmp_path, source, tiny_lm_dir):
    state = _magma_checkpoint(source)
    path = tmp_path / "with-args.pt"
    torch.save({"module": state, "args": argparse.Namespace(lr=1e-3)}, path)
    with pytest.raises(ValueError, match="trust-checkpoint"):
        import_checkpoint(path, tmp_path / "a", "v1", str(tiny_lm_dir), **TINY)
    import_checkpoint(path, tmp_path / "a", "v1", str(tiny_lm_dir), trust_checkpoint=True, **TINY)
    legacy = tmp_path / "legacy.pt"
    torch.save({"module": state}, legacy, _use_new_zipfile_serialization=False)
    report = import_checkpoint(legacy, tmp_path / "b", "v1", str(tiny_lm_dir), **TINY)
    assert report.missing == [] and report.unexpected == []


def test_a_v2_checkpoint_imported_as_v1_says_so(tmp_path, tokenizer, tiny_lm_dir):
    v2 = _source(tokenizer, "v2")
    path = tmp_path / "v2.pt"
    torch.save({"module": _magma_checkpoint(v2)}, path)
    with pytest.raises(MagmaImportError, match="try variant='v2'"):
        import_checkpoint(path, tmp_path / "out", "v1", str(tiny_lm_dir), **TINY)
    report = import_checkpoint(path, tmp_path / "out", "v2", str(tiny_lm_dir), **TINY)
    assert report.missing == [] and report.unexpected == []


def test_cli_import_fails_cleanly_on_a_checkpoint_of_another_size(checkpoint, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")])
    assert main(args) == 1
    assert "mismatched" in capsys.readouterr().err


def test_v1_and_v2_adapter_placement():
    with torch.device("meta"):
        v1, v2 = MagmaVLM(MagmaConfig(variant="v1")), MagmaVLM(MagmaConfig(variant="v2"))
    assert (v1.n_adapters, v2.n_adapters) == (28, 56)  # after the MLP; after MLP and attention
    names = [n for n, _ in v2.lm.named_parameters() if ".adapter.down.weight" in n]
    assert {n.split(".")[3] for n in names} == {"attn", "mlp"}
    assert v1.lm.transformer.h[0].mlp.adapter.down.weight.shape == (1024, 4096)  # 4096 / 4
    assert v2.lm.transformer.h[0].attn.adapter.down.weight.shape == (512, 4096)  # 4096 / 8
    tiny = MagmaVLM(MagmaConfig(variant="v2", **TINY))
    assert tiny.n_adapters == 4 and tiny.prefix_length == 4


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_key_map_round_trips_at_full_size(variant):
    with torch.device("meta"):
        model = MagmaVLM(MagmaConfig(variant=variant))
    names = magma_names(model)  # MAGMA's published names (the test's table) -> ours
    assert "lm.transformer.h.27.mlp.1.adapter.2.bias" in names.values()
    assert "image_prefix.enc.layer3.17.conv3.weight" in names.values()
    assert "image_prefix.enc.layer4.0.downsample.1.running_var" in names.values()
    assert ("lm.transformer.h.5.attn.attn_block.attention.q_proj.weight" in names.values()) == (
        variant == "v2"
    )
    assert {map_key(m, model.config.adapters)[0]: m for m in names.values()} == names


def test_full_size_parameter_count():
    with torch.device("meta"):
        model = MagmaVLM(MagmaConfig())

    def count(module):
        return sum(p.numel() for p in module.parameters())

    adapters = sum(p.numel() for p in model.trainable_parameters())
    assert count(model.encoder) == 136_202_640  # CLIP RN50x16 visual, 167.3M, minus its pool
    assert count(model.prefix) == 3072 * 4096 + 4096 + 2 * 4096
    assert adapters == 28 * (2 * 4096 * 1024 + 1024 + 4096)  # 235M
    assert 6.04e9 < count(model.lm) - adapters < 6.06e9  # GPT-J-6B
    assert 6.43e9 < count(model) < 6.44e9
    assert model.encoder.num_positions == 144 and model.encoder.out_dim == 3072


def test_clip_preprocess_crops_the_centre_and_normalises():
    img = Image.new("RGB", (120, 60), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 10, 60))  # a black strip the centre crop cuts away
    x = clip_preprocess([img], 64)
    assert x.shape == (1, 3, 64, 64)
    white = (1 - torch.tensor([0.4815, 0.4578, 0.4082])) / torch.tensor([0.2686, 0.2613, 0.2758])
    assert torch.allclose(x[0, :, 0, 0], white, atol=1e-2)
    squeezed = clip_preprocess([img], 64, center_crop=False)
    assert squeezed[0, 0, 32, 0] < 0 < x[0, 0, 32, 0]


def test_build_magma_needs_an_imported_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="magma-import"):
        build_magma(ModelChoice(model=f"magma:{tmp_path}", device="cpu", dtype="float32"))
