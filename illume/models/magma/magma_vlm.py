"""MAGMA itself, the paper's model: CLIP RN50x16 -> image prefix -> GPT-J-6B with adapters.

MAGMA (Eichenberg et al., "MAGMA -- Multimodal Augmentation of Generative Models through
Adapter-based Finetuning", 2022; github.com/Aleph-Alpha/magma) is the architecture the
embedded family copies at small scale, so it reuses the same code (prefix_vlm.py) with
full-size parts:

- image encoder: CLIP RN50x16's visual tower without its attention pool, 384 px input,
  12 x 12 = 144 grid vectors of 3,072 channels (clip_resnet.py);
- image prefix: one linear layer 3,072 -> 4,096 per grid vector, then a LayerNorm
  (MAGMA's `use_image_embed_layernorm: true`; its dropout of 0.1 only acts in training);
- language model: GPT-J-6B (28 layers, width 4,096, 16 heads, rotary dimension 64,
  vocabulary 50,400) with GPT-2's tokenizer plus MAGMA's `<|image|>` token;
- adapters: Houlsby bottlenecks with ReLU, on the output of blocks of every layer:
  v1 (configs/MAGMA_v1.yml, the published checkpoint): after the MLP only, factor 4;
  v2 (configs/MAGMA_v2.yml): after the MLP and after the attention, factor 8 each.

Its weights come from `illume magma-import` (importer.py), which writes a folder that
`build_magma` / `load_magma` read. ILLUME tunes MAGMA's own, pretrained adapters (as the
paper's code does), so "zero-shot" here means the imported adapters, not identity ones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from safetensors import safe_open
from transformers import AutoTokenizer, GPTJConfig, GPTJForCausalLM
from transformers.models.gptj.modeling_gptj import (
    GPTJRotaryEmbedding,
    create_sinusoidal_positions,
)

from illume.models.adapters import AdapterConfig
from illume.models.image_prefix import ImagePrefix
from illume.models.magma.clip_resnet import ClipResNetConfig, ClipResNetEncoder, clip_preprocess
from illume.models.prefix_vlm import PrefixVLM
from illume.models.wiring import add_adapters

log = logging.getLogger(__name__)

WEIGHTS_INDEX = "model.safetensors.index.json"
"""An imported folder's map from weight name to the safetensors shard holding it."""

GPTJ_6B = {
    "vocab_size": 50400,
    "n_positions": 2048,
    "n_embd": 4096,
    "n_layer": 28,
    "n_head": 16,
    "rotary_dim": 64,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "bos_token_id": 50256,
    "eos_token_id": 50256,
}
"""GPT-J-6B as MAGMA builds it (transformers' GPTJConfig names); 4 x 4,096 MLP width."""

VARIANTS = {
    "v1": AdapterConfig(downsample_factor=4, attention=False, mlp=True, activation="relu"),
    "v2": AdapterConfig(downsample_factor=8, attention=True, mlp=True, activation="relu"),
}
"""Adapter placement and bottleneck factor of MAGMA's two published configurations."""


@dataclass
class MagmaConfig:
    """The architecture of a MAGMA model; defaults are the published MAGMA (v1)."""

    variant: str = "v1"
    """"v1" or "v2": picks `adapters` when they are not given (see VARIANTS)."""
    encoder: ClipResNetConfig = field(default_factory=ClipResNetConfig)
    """The CLIP ResNet tower (RN50x16 by default)."""
    gptj: dict[str, Any] = field(default_factory=lambda: dict(GPTJ_6B))
    """transformers.GPTJConfig arguments of the language model (GPT-J-6B by default)."""
    prefix_layernorm: bool = True
    """LayerNorm after the prefix projection (MAGMA v1 and v2 both use it)."""
    adapters: AdapterConfig | None = None
    """Adapter placement and width; None takes the variant's."""
    center_crop: bool = True
    """CLIP's resize-and-centre-crop preprocessing (False: squeeze the whole image)."""

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown MAGMA variant {self.variant!r}: use v1 or v2")
        if self.adapters is None:
            self.adapters = AdapterConfig(**asdict(VARIANTS[self.variant]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> MagmaConfig:
        raw = dict(raw)
        raw["encoder"] = ClipResNetConfig(**raw.get("encoder", {}))
        if raw.get("adapters") is not None:
            raw["adapters"] = AdapterConfig(**raw["adapters"])
        return cls(**raw)


def magma_tokenizer(name_or_path: str | None = None, max_length: int = 2048):
    """MAGMA's tokenizer: GPT-2's, padding with end-of-text, plus the `<|image|>` token.

    MAGMA adds `<|image|>` as the CLS token (its id follows GPT-2's 50,257 tokens); the
    prompts here never use it, but the vocabulary must match the checkpoint's.
    """
    tok = AutoTokenizer.from_pretrained(name_or_path or "gpt2")
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    tok.model_max_length = max_length
    if tok.cls_token is None:
        tok.add_special_tokens({"cls_token": "<|image|>"})
    return tok


class MagmaVLM(PrefixVLM):
    """MAGMA behind the common model interface.

    Built from a config it has random weights (tests, shapes, parameter counts: build it
    under `torch.device("meta")` to allocate nothing); `load_magma` fills an imported folder's
    weights in without initialising 6B parameters first.
    """

    family = "magma"
    version_includes_prefix = False  # the prefix comes with the imported checkpoint

    def __init__(self, config: MagmaConfig | None = None, tokenizer: Any = None):
        super().__init__()
        self.config = config = config or MagmaConfig()
        self.tokenizer = tokenizer
        self.version = "zero-shot"
        self.source: Path | None = None
        """The imported folder the weights came from (None: built from the config)."""
        gptj = GPTJConfig(**{**config.gptj, "tie_word_embeddings": False})
        with torch.random.fork_rng():  # the same untrained weights in every process and run
            torch.manual_seed(0)
            self.encoder = ClipResNetEncoder(config.encoder)
            self.lm = GPTJForCausalLM(gptj)
            self.lm.requires_grad_(False)
            self.lm.eval()
            hidden = gptj.n_embd
            self.prefix = ImagePrefix(self.encoder.out_dim, hidden, config.prefix_layernorm)
            self.prefix.requires_grad_(False)
            assert config.adapters is not None
            self.n_adapters = add_adapters(self.lm, config.adapters, hidden)

    @property
    def vocab_size(self) -> int:
        """Tokens the tokenizer knows (50,258): GPT-J's head has 142 more rows no token uses."""
        n = self.lm.config.vocab_size
        return min(n, len(self.tokenizer)) if self.tokenizer is not None else n

    def pixels(self, images: list[Image.Image]) -> torch.Tensor:
        return clip_preprocess(images, self.config.encoder.image_size, self.config.center_crop)

    def version_config(self) -> dict:
        return {**self.config.to_dict(), "source": str(self.source) if self.source else None}

    def reset_version(self) -> None:
        """Back to zero-shot: MAGMA's own adapters (identity ones for a model from config)."""
        if self.source is None:
            super().reset_version()
            return
        state = {
            name.removeprefix("lm."): tensor
            for name, tensor in read_weights(self.source, lambda n: ".adapter." in n).items()
        }
        self.load_trainable_state(state)
        self.version = "zero-shot"


def read_weights(folder: str | Path, keep=lambda name: True) -> dict[str, torch.Tensor]:
    """The weights of an imported folder whose names pass `keep` (on the CPU)."""
    folder = Path(folder)
    index = json.loads((folder / WEIGHTS_INDEX).read_text())["weight_map"]
    out: dict[str, torch.Tensor] = {}
    for shard in sorted(set(index.values())):
        names = [n for n, s in index.items() if s == shard and keep(n)]
        if names:
            with safe_open(str(folder / shard), framework="pt", device="cpu") as f:
                for name in names:
                    out[name] = f.get_tensor(name)
    return out


def _restore_computed_buffers(model: MagmaVLM, device: torch.device | str) -> None:
    """Recompute the buffers a checkpoint does not carry (GPT-J's rotary sin/cos table).

    `to_empty` leaves every tensor uninitialised; the ones in the state dict are then
    overwritten, these are not in it. Any other such buffer would stay garbage, so an
    unknown one is an error rather than a silent wrong model.
    """
    for name, module in model.named_modules():
        for buf in module._non_persistent_buffers_set:
            if isinstance(module, GPTJRotaryEmbedding) and buf == "embed_positions":
                table = create_sinusoidal_positions(module.max_positions, module.pos_embd_dim)
                module.embed_positions = table.to(device)
            else:
                raise RuntimeError(f"cannot restore the computed buffer {name}.{buf}")


def load_magma(folder: str | Path, device: str = "cpu", dtype: str = "float32") -> MagmaVLM:
    """Build MAGMA from a folder `illume magma-import` wrote.

    The model is laid out on the meta device, given uninitialised storage of the target
    dtype on the target device, then filled shard by shard, tensor by tensor: peak memory
    is the model plus one tensor, and no time goes into random initialisation.
    """
    folder = Path(folder)
    meta_file = folder / "model.json"
    if not meta_file.exists() or not (folder / WEIGHTS_INDEX).exists():
        raise FileNotFoundError(
            f"{folder} is not an imported MAGMA folder (no model.json / {WEIGHTS_INDEX}); "
            "create it with `illume magma-import --checkpoint <mp_rank_00_model_states.pt> "
            f"--out {folder}`"
        )
    meta = json.loads(meta_file.read_text())
    if meta.get("family") != "magma":
        raise ValueError(f"{folder}: model.json says family {meta.get('family')!r}, not magma")
    config = MagmaConfig.from_dict(meta["config"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.device("meta"):
        model = MagmaVLM(config, tokenizer)
    model.to(getattr(torch, dtype))
    model.to_empty(device=device)
    _restore_computed_buffers(model, device)
    targets = model.state_dict(keep_vars=True)
    index = json.loads((folder / WEIGHTS_INDEX).read_text())["weight_map"]
    unexpected = sorted(set(index) - set(targets))
    missing = sorted(set(targets) - set(index))
    if missing or unexpected:
        raise ValueError(
            f"{folder}: weights do not match its model.json "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    log.info("loading MAGMA from %s: %d tensors onto %s as %s", folder, len(index), device, dtype)
    with torch.no_grad():
        for shard in sorted(set(index.values())):
            with safe_open(str(folder / shard), framework="pt", device="cpu") as f:
                for name in (n for n, s in index.items() if s == shard):
                    targets[name].copy_(f.get_tensor(name))
    model.source = folder
    model.eval()
    return model


def build_magma(choice) -> MagmaVLM:
    """MAGMA for a `ModelChoice` whose model is "magma:<imported folder>"."""
    return load_magma(choice.reference, choice.resolved_device(), choice.resolved_dtype())
