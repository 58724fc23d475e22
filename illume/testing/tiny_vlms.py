"""Build small Hugging Face VLM folders from configs, offline.

The Hugging Face family loads any hub id or folder; tests and benchmarks need
such folders without a network. These are real architectures (Idefics3 /
SmolVLM, LLaVA, Qwen2-VL, BLIP-2, BLIP) with random weights, SmolLM2's tokenizer
(the packaged one) plus each architecture's image tokens, the PIL image
processors and a chat template shaped like the published model's.

    python -m illume.testing.tiny_vlms --arch llava --size mid --out models/llava-mid
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from illume.models.hf.inputs import QwenStillImageProcessor

ARCHS = ("idefics3", "llava", "qwen2_vl", "blip2", "blip")

SIZES = {
    # text width, layers, heads, kv heads, MLP width; vision width, layers
    "tiny": dict(hidden=64, layers=2, heads=4, kv=2, mlp=128, v_hidden=32, v_layers=1),
    "mid": dict(hidden=1024, layers=16, heads=16, kv=8, mlp=4096, v_hidden=768, v_layers=12),
}

CHAT_TEMPLATES = {
    # The user turn holds the image and the text; the generation prompt opens the reply.
    "idefics3": (
        "<|im_start|>{% for m in messages %}{{ m['role'] | capitalize }}:"
        "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>"
        "{% else %}{{ c['text'] }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
        "{% if add_generation_prompt %}Assistant:{% endif %}"
    ),
    "llava": (
        "{% for m in messages %}{{ m['role'] | upper }}: "
        "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>\n"
        "{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endfor %}"
        "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
    ),
    "qwen2_vl": (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{% for c in m['content'] %}{% if c['type'] == 'image' %}"
        "<|vision_start|><|image_pad|><|vision_end|>"
        "{% else %}{{ c['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}


def _tokenizer(extra: list[str]):
    from transformers import AutoTokenizer

    from illume.models.weights import smollm2_dir

    tok = AutoTokenizer.from_pretrained(smollm2_dir())
    tok.add_special_tokens({"additional_special_tokens": extra})
    tok.padding_side = "left"
    return tok


def _text_config(s: dict, vocab: int, tok) -> dict:
    return dict(
        vocab_size=vocab,
        hidden_size=s["hidden"],
        intermediate_size=s["mlp"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv"],
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )


def _vision(s: dict, **kw) -> dict:
    return dict(
        hidden_size=s["v_hidden"],
        intermediate_size=4 * s["v_hidden"],
        num_hidden_layers=s["v_layers"],
        num_attention_heads=max(2, s["v_hidden"] // 64),
        **kw,
    )


def _idefics3(s: dict):
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
    )

    tok = _tokenizer(["<fake_token_around_image>", "<image>", "<end_of_utterance>"])
    size = 64 if s["hidden"] < 256 else 384
    cfg = Idefics3Config(
        text_config={"model_type": "llama", **_text_config(s, len(tok), tok)},
        vision_config=_vision(s, image_size=size, patch_size=size // 8),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        scale_factor=2,
    )
    proc = Idefics3Processor(
        Idefics3ImageProcessorPil(
            size={"longest_edge": size},
            max_image_size={"longest_edge": size},
            do_image_splitting=False,
        ),
        tok,
        image_seq_len=16,
        chat_template=CHAT_TEMPLATES["idefics3"],
    )
    return Idefics3ForConditionalGeneration(cfg), proc


def _llava(s: dict):
    from transformers import (
        CLIPImageProcessorPil,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = _tokenizer(["<image>"])
    size, patch = (32, 8) if s["hidden"] < 256 else (336, 14)
    cfg = LlavaConfig(
        text_config={"model_type": "llama", **_text_config(s, len(tok), tok)},
        vision_config={"model_type": "clip_vision_model", **_vision(s)}
        | {"image_size": size, "patch_size": patch, "projection_dim": s["v_hidden"]},
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
    )
    proc = LlavaProcessor(
        CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size=size),
        tok,
        patch_size=patch,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATES["llava"],
    )
    return LlavaForConditionalGeneration(cfg), proc


def _qwen2_vl(s: dict):
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
        Qwen2VLProcessor,
    )

    tok = _tokenizer(["<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>"])
    text = _text_config(s, len(tok), tok)
    head_dim = s["hidden"] // s["heads"]
    text["rope_parameters"] = {
        "rope_type": "default",
        "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8],
        "rope_theta": 10000.0,
    }
    cfg = Qwen2VLConfig(
        text_config=text,
        vision_config=dict(
            depth=s["v_layers"],
            embed_dim=s["v_hidden"],
            hidden_size=s["hidden"],
            num_heads=max(2, s["v_hidden"] // 64),
            patch_size=14,
            spatial_merge_size=2,
        ),
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
    )
    pixels = 56 * 56 if s["hidden"] < 256 else 448 * 448
    image_processor = Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels)
    try:
        proc = Qwen2VLProcessor(image_processor, tok, chat_template=CHAT_TEMPLATES["qwen2_vl"])
    except (AttributeError, ImportError, TypeError, ValueError):  # no torchvision: no video
        proc = QwenStillImageProcessor(image_processor, tok, CHAT_TEMPLATES["qwen2_vl"])
    return Qwen2VLForConditionalGeneration(cfg), proc


def _blip2(s: dict):
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessorPil,
    )

    tok = _tokenizer(["<image>"])
    size = 32 if s["hidden"] < 256 else 224
    text = _text_config(s, len(tok), tok)
    text = dict(
        model_type="opt",
        vocab_size=text["vocab_size"],
        hidden_size=s["hidden"],
        ffn_dim=s["mlp"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        word_embed_proj_dim=s["hidden"],
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    queries = 8 if s["hidden"] < 256 else 32
    cfg = Blip2Config(
        vision_config=_vision(s, image_size=size, patch_size=size // 4),
        qformer_config=dict(
            hidden_size=s["v_hidden"],
            num_hidden_layers=max(1, s["v_layers"] // 4),
            num_attention_heads=max(2, s["v_hidden"] // 64),
            intermediate_size=4 * s["v_hidden"],
            encoder_hidden_size=s["v_hidden"],
            vocab_size=len(tok),
        ),
        text_config=text,
        num_query_tokens=queries,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
    )
    proc = Blip2Processor(
        BlipImageProcessorPil(size={"height": size, "width": size}),
        tok,
        num_query_tokens=queries,
    )
    return Blip2ForConditionalGeneration(cfg), proc


def _blip(s: dict):
    from transformers import (
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessorPil,
        BlipProcessor,
    )

    tok = _tokenizer([])
    size = 32 if s["hidden"] < 256 else 384
    cfg = BlipConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=s["hidden"],
            intermediate_size=s["mlp"],
            num_hidden_layers=s["layers"],
            num_attention_heads=s["heads"],
            encoder_hidden_size=s["v_hidden"],
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            sep_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        vision_config=_vision(s, image_size=size, patch_size=size // 4 if size < 64 else 16),
    )
    proc = BlipProcessor(BlipImageProcessorPil(size={"height": size, "width": size}), tok)
    return BlipForConditionalGeneration(cfg), proc


BUILDERS = {
    "idefics3": _idefics3,
    "llava": _llava,
    "qwen2_vl": _qwen2_vl,
    "blip2": _blip2,
    "blip": _blip,
}


def build(arch: str, out: str | Path, size: str = "tiny", seed: int = 0) -> Path:
    """Write a model folder (weights, config, processor, tokenizer) that `hf:<out>` loads."""
    if arch not in BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}: choose from {', '.join(ARCHS)}")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    torch.manual_seed(seed)
    model, processor = BUILDERS[arch](SIZES[size])
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--arch", choices=ARCHS, required=True)
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    print(build(args.arch, args.out, args.size))


if __name__ == "__main__":
    main()
