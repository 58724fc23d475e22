"""The embedded default: MAGMA's architecture at small scale, offline, on a CPU.

image -> EfficientNet-Lite0 (frozen) -> 49 grid features -> image prefix
(linear + LayerNorm) -> SmolLM2-135M-Instruct (frozen) with Houlsby adapters
after every attention and MLP block. Only the adapters are tuned by ILLUME;
the prefix is aligned once (scripts/pretrain_prefix.py) and shipped.

Everything the ILLUME stages call is shared with MAGMA itself (../prefix_vlm.py);
this file only says which parts the embedded model is made of.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from illume.models.adapters import AdapterConfig
from illume.models.embedded.context import image_facts, render
from illume.models.embedded.encoders import EfficientNetEncoder, TinyEncoder, preprocess
from illume.models.examples import examples_for
from illume.models.image_prefix import ImagePrefix
from illume.models.prefix_vlm import PrefixVLM
from illume.models.prompt import Prompt
from illume.models.weights import SMOLLM2_NAME, lm_dir
from illume.models.wiring import add_adapters

log = logging.getLogger(__name__)

DEFAULT_PREFIX_WEIGHTS = (
    Path(__file__).parent / "weights" / "prefix-efficientnet-lite0-smollm2-135m.safetensors"
)
"""The image prefix aligned once for the default encoder + LM (scripts/pretrain_prefix.py)."""


@dataclass
class EmbeddedConfig:
    """How to build the embedded model."""

    lm: str = SMOLLM2_NAME
    """The language model: the packaged SmolLM2 name, a local folder (a model folder, or one
    holding a single GGUF file: converted once, weights.lm_dir) or a hub id."""
    encoder: str = "efficientnet-lite0"
    """Image encoder: "efficientnet-lite0" (ImageNet weights) or "tiny" (random, tests)."""
    image_prefix: bool = True
    """Feed the image prefix; False gives the plain language model (text-only baseline)."""
    image_context: bool = True
    """Say what the frozen encoder sees (ImageNet labels, colours, photo or drawing) as the
    prompt's text context (context.py); False gives the paper's prompt."""
    examples: str = "auto"
    """Worked examples before each rationale prompt (illume/models/examples.py): "auto" (the
    built-in photo examples for photos, none for drawings), "none", or a JSONL file."""
    prefix_weights: str | None = "packaged"
    """Aligned prefix weights: "packaged" (shipped for the default encoder + LM), a path, None."""
    prefix_layernorm: bool = True
    adapters: AdapterConfig = field(default_factory=AdapterConfig)
    dtype: str = "float32"
    device: str = "cpu"

    @classmethod
    def from_dict(cls, raw: dict) -> EmbeddedConfig:
        raw = dict(raw)
        raw["adapters"] = AdapterConfig(**raw.get("adapters", {}))
        return cls(**raw)


def build_embedded(choice) -> EmbeddedVLM:
    """The embedded model for a `ModelChoice` (its lm, encoder, prefix, device and dtype)."""
    # --no-image-prefix is the text-only baseline: no image context either
    cfg = EmbeddedConfig(image_prefix=choice.image_prefix, image_context=choice.image_prefix)
    cfg.lm = choice.lm or cfg.lm
    cfg.examples = choice.examples or cfg.examples
    cfg.encoder = choice.encoder or cfg.encoder
    cfg.device = choice.resolved_device()
    cfg.dtype = choice.resolved_dtype()
    if cfg.image_prefix and not prefix_aligned(cfg):
        log.warning(
            "no image prefix is aligned for lm %s: it reads the image as text (the context) only",
            cfg.lm,
        )
        cfg.image_prefix = False
    return EmbeddedVLM(cfg)


def prefix_aligned(cfg: EmbeddedConfig) -> bool:
    """Whether `cfg` gets trained prefix weights (or the test encoder, whose prefix is random
    by design). The prefix stays frozen while tuning, so an unaligned one would feed every
    prompt the same noise for good: another LM (Gemma) reads the context alone."""
    if cfg.encoder == "tiny" or cfg.prefix_weights not in ("packaged", None):
        return True
    return cfg.prefix_weights == "packaged" and _packaged_prefix(cfg) is not None


def _packaged_prefix(cfg: EmbeddedConfig) -> Path | None:
    """The shipped prefix weights when they fit `cfg`'s encoder and LM, else None."""
    default = cfg.lm == SMOLLM2_NAME and cfg.encoder == "efficientnet-lite0"
    return DEFAULT_PREFIX_WEIGHTS if default and DEFAULT_PREFIX_WEIGHTS.exists() else None


class EmbeddedVLM(PrefixVLM):
    """The embedded vision-language model behind the common model interface.

    A version stores the image prefix (0.7M parameters) next to the adapters, so it
    is self-contained even for a model whose prefix was never aligned.
    """

    family = "embedded"
    version_includes_prefix = True

    def __init__(self, config: EmbeddedConfig | None = None):
        super().__init__()
        self.config = config = config or EmbeddedConfig()
        self.version = "zero-shot"
        lm_path = lm_dir(config.lm)
        dtype = getattr(torch, config.dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(lm_path)
        self.lm = AutoModelForCausalLM.from_pretrained(lm_path, dtype=dtype)
        self.lm.requires_grad_(False)
        self.lm.eval()
        hidden = self.lm.config.hidden_size
        self.encoder = TinyEncoder() if config.encoder == "tiny" else EfficientNetEncoder()
        token_rms = self.lm.get_input_embeddings().weight.detach().pow(2).mean().sqrt().item()
        with torch.random.fork_rng():  # the same untrained weights in every process and run
            torch.manual_seed(0)
            self.prefix = ImagePrefix(
                self.encoder.out_dim, hidden, config.prefix_layernorm, embed_scale=token_rms
            )
            self.n_adapters = add_adapters(self.lm, config.adapters, hidden)
        self._load_prefix()
        self.prefix.requires_grad_(False)
        self.to(device=config.device, dtype=dtype)

    def _load_prefix(self) -> None:
        cfg = self.config
        path = cfg.prefix_weights
        if path == "packaged":
            packaged = _packaged_prefix(cfg)
            path = str(packaged) if packaged is not None else None
        if path is None:
            if cfg.image_prefix and cfg.encoder != "tiny":
                log.warning(
                    "image prefix is not aligned (no prefix weights): rationales may suffer"
                )
            return
        self.prefix.load_state_dict(load_file(path))

    @property
    def use_image_prefix(self) -> bool:
        return self.config.image_prefix

    def contextualize(
        self, images: list[Image.Image] | None, prompts: list[Prompt]
    ) -> list[Prompt]:
        """Each prompt with its image's facts as context (a context it already has wins) and,
        when it asks for a rationale, the worked examples for its kind of image."""
        if not self.config.image_context or not images or all(p.context for p in prompts):
            return prompts
        distinct = list({id(img): img for img in images}.values())
        weight = self.lm.get_input_embeddings().weight
        with torch.no_grad():
            probs = self.encoder.classify(self.pixels(distinct).to(self.device, weight.dtype))
        facts = {
            id(img): image_facts(img, None if probs is None else probs[i].cpu())
            for i, img in enumerate(distinct)
        }
        out = []
        for img, p in zip(images, prompts, strict=True):
            if not p.context:
                f = facts[id(img)]
                shots = examples_for(self.config.examples, f.kind) if p.answer is not None else ""
                p = replace(p, context=render(f), examples=shots)
            out.append(p)
        return out

    def pixels(self, images: list[Image.Image]) -> torch.Tensor:
        return preprocess(images, self.encoder.image_size)

    @property
    def prefix_length(self) -> int:
        """Prefix embeddings before the prompt (49 for EfficientNet-Lite0; 0 without images)."""
        return super().prefix_length
