"""The embedded default: MAGMA's architecture at small scale, offline, on a CPU.

image -> EfficientNet-Lite0 (frozen) -> 49 grid features -> image prefix
(linear + LayerNorm) -> SmolLM2-135M-Instruct (frozen) with Houlsby adapters
after every attention and MLP block. Only the adapters are tuned by ILLUME;
the prefix is aligned once (scripts/pretrain_prefix.py) and shipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from illume.models.adapters import AdapterConfig
from illume.models.base import DecodeState
from illume.models.image_prefix import (
    EfficientNetEncoder,
    ImagePrefix,
    TinyEncoder,
    preprocess,
)
from illume.models.weights import PACKAGED, SMOLLM2_NAME, smollm2_dir
from illume.models.wiring import adapter_parameters, adapter_state_dict, add_adapters

log = logging.getLogger(__name__)

DEFAULT_PREFIX_WEIGHTS = PACKAGED / "prefix-efficientnet-lite0-smollm2-135m.safetensors"


@dataclass
class EmbeddedConfig:
    """How to build the embedded model."""

    lm: str = SMOLLM2_NAME
    """The language model: the packaged SmolLM2 name, a local folder or a hub id."""
    encoder: str = "efficientnet-lite0"
    """Image encoder: "efficientnet-lite0" (ImageNet weights) or "tiny" (random, tests)."""
    image_prefix: bool = True
    """Feed the image prefix; False gives the plain language model (text-only baseline)."""
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
    cfg = EmbeddedConfig(image_prefix=choice.image_prefix)
    cfg.lm = choice.lm or cfg.lm
    cfg.encoder = choice.encoder or cfg.encoder
    cfg.device = choice.resolved_device()
    cfg.dtype = choice.resolved_dtype()
    return EmbeddedVLM(cfg)


class EmbeddedVLM(nn.Module):
    """The embedded vision-language model behind the common model interface."""

    def __init__(self, config: EmbeddedConfig | None = None):
        super().__init__()
        self.config = config = config or EmbeddedConfig()
        self.version = "zero-shot"
        lm_path = smollm2_dir() if config.lm == SMOLLM2_NAME else config.lm
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
            default = cfg.lm == SMOLLM2_NAME and cfg.encoder == "efficientnet-lite0"
            path = (
                str(DEFAULT_PREFIX_WEIGHTS) if default and DEFAULT_PREFIX_WEIGHTS.exists() else None
            )
        if path is None:
            if cfg.image_prefix and cfg.encoder != "tiny":
                log.warning(
                    "image prefix is not aligned (no prefix weights): rationales may suffer"
                )
            return
        self.prefix.load_state_dict(load_file(path))

    # ---- inputs -------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.lm.get_input_embeddings().weight.device

    def image_embeddings(self, images: list[Image.Image]) -> torch.Tensor:
        """[B, P, d] prefix embeddings (P = 49 for EfficientNet-Lite0)."""
        pixels = preprocess(images, self.encoder.image_size).to(self.device, self.lm.dtype)
        with torch.no_grad():
            feats = self.encoder(pixels)
        return self.prefix(feats)

    def embed(
        self,
        images: list[Image.Image] | None,
        token_ids: list[list[int]],
        pad_left: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenate [image prefix] + token embeddings per row and pad to one length.

        Returns (embeds [B, L, d], attention_mask [B, L]). Prompts are padded on
        the left for generation so every row's last position is its real end.
        """
        emb_layer = self.lm.get_input_embeddings()
        use_image = self.config.image_prefix and images is not None
        prefix = self.image_embeddings(images) if use_image else None
        rows = []
        for i, ids in enumerate(token_ids):
            tok = emb_layer(torch.tensor(ids, dtype=torch.long, device=self.device))
            rows.append(torch.cat([prefix[i], tok]) if prefix is not None else tok)
        length = max(r.shape[0] for r in rows)
        d = rows[0].shape[1]
        embeds = rows[0].new_zeros(len(rows), length, d)
        mask = torch.zeros(len(rows), length, dtype=torch.long, device=self.device)
        for i, r in enumerate(rows):
            span = slice(length - r.shape[0], length) if pad_left else slice(0, r.shape[0])
            embeds[i, span] = r
            mask[i, span] = 1
        return embeds, mask

    @property
    def vocab_size(self) -> int:
        return self.lm.config.vocab_size

    @property
    def prefix_length(self) -> int:
        """Prefix embeddings before the prompt (49 for EfficientNet-Lite0; 0 without images)."""
        return self.encoder.num_positions if self.config.image_prefix else 0

    # ---- the model interface ---------------------------------------------------------------

    @torch.no_grad()
    def prefill(
        self, images: list[Image.Image], prompts: list[str]
    ) -> tuple[torch.Tensor, DecodeState]:
        ids = [self.tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
        embeds, mask = self.embed(images, ids, pad_left=True)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.lm.config)
        out = self.lm(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        state = DecodeState(cache, mask, mask.sum(-1))
        return out.logits[:, -1].float(), state

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: DecodeState) -> tuple[torch.Tensor, DecodeState]:
        mask = torch.cat([state.attention_mask, state.attention_mask.new_ones(len(tokens), 1)], 1)
        out = self.lm(
            input_ids=tokens[:, None],
            attention_mask=mask,
            position_ids=state.next_position[:, None],
            cache=state.cache,
            use_cache=True,
        )
        return out.logits[:, -1].float(), DecodeState(state.cache, mask, state.next_position + 1)

    # ---- tuning ---------------------------------------------------------------------------

    def training_batch(
        self, images: list[Image.Image] | None, prompts: list[str], targets: list[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Right-padded [image prefix][prompt][target] rows and labels (-100 off the target)."""
        prompt_ids = [self.tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
        seqs = [p + t for p, t in zip(prompt_ids, targets, strict=True)]
        embeds, mask = self.embed(images, seqs, pad_left=False)
        prefix = embeds.shape[1] - max(len(s) for s in seqs)
        labels = torch.full(mask.shape, -100, dtype=torch.long, device=mask.device)
        for r, (p, t) in enumerate(zip(prompt_ids, targets, strict=True)):
            start = prefix + len(p)
            labels[r, start : start + len(t)] = torch.tensor(t)
        return embeds, mask, labels

    def nll_rows(
        self, embeds: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Per-row summed cross-entropy on labelled positions [B].

        The LM head (576 x 49k for SmolLM2, a fifth of the model's compute)
        runs only on the positions that predict a target token.
        """
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        hidden = self.lm.model(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=positions
        ).last_hidden_state
        labels = labels[:, 1:]
        valid = labels != -100
        logits = self.lm.lm_head(hidden[:, :-1][valid]).float()
        ce = F.cross_entropy(logits, labels[valid], reduction="none")
        rows = torch.arange(len(labels), device=labels.device)[:, None].expand_as(labels)[valid]
        return torch.zeros(len(labels), device=ce.device).index_add(0, rows, ce)

    def target_nll(
        self, images: list[Image.Image], prompts: list[str], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        embeds, mask, labels = self.training_batch(images, prompts, targets)
        return self.nll_rows(embeds, mask, labels), int(mask.sum())

    def trainable_parameters(self) -> list[nn.Parameter]:
        return adapter_parameters(self.lm)

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return adapter_state_dict(self.lm)

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        self.lm.load_state_dict(state, strict=False)

    # ---- versions -------------------------------------------------------------------------

    def save_version(self, path: str | Path) -> None:
        """Write the tuned parameters and the config that rebuilds the model around them.

        The image prefix (0.7M parameters) is stored too, so a version is
        self-contained even for a model whose prefix was never aligned.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {f"lm.{k}": v.contiguous() for k, v in adapter_state_dict(self.lm).items()}
        tensors.update({f"prefix.{k}": v.contiguous() for k, v in self.prefix.state_dict().items()})
        save_file(tensors, str(path / "adapters.safetensors"))
        meta = {"family": "embedded", "config": asdict(self.config)}
        (path / "model.json").write_text(json.dumps(meta, indent=2))

    def reset_version(self) -> None:
        """Back to zero-shot: every adapter the identity again (the prefix is frozen)."""
        with torch.no_grad():
            for name, p in self.lm.named_parameters():
                if ".adapter.up." in name:
                    p.zero_()
        self.version = "zero-shot"

    def load_version(self, path: str | Path) -> None:
        path = Path(path)
        state = load_file(str(path / "adapters.safetensors"), device=str(self.device))
        missing, unexpected = self.load_state_dict(state, strict=False)
        tuned = [k for k in missing if ".adapter." in k or k.startswith("prefix.")]
        if unexpected or tuned:
            raise ValueError(
                f"{path}: weights do not match this model "
                f"(missing {tuned[:3]}, unexpected {unexpected[:3]})"
            )
        self.version = path.name
