"""MAGMA's architecture once, for every family built from its parts.

image -> frozen encoder -> grid features [B, P, c] -> image prefix (linear + optional
LayerNorm) -> P embeddings that a frozen causal LM reads before the prompt, with bottleneck
adapters inside the LM as the only weights ILLUME tunes.

The embedded default (EfficientNet-Lite0 + SmolLM2) and MAGMA itself (CLIP RN50x16 +
GPT-J-6B) differ only in their parts and in where the weights come from, so everything the
ILLUME stages call (prefill, step, target_nll, versions) lives here and a family only
supplies the parts and a few hooks.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import DynamicCache

from illume.models.base import DecodeState
from illume.models.prompt import Prompt
from illume.models.wiring import adapter_parameters, adapter_state_dict


class PrefixVLM(nn.Module, ABC):
    """An image-prefix vision-language model behind the common model interface.

    A subclass sets `config`, `tokenizer`, `lm` (a Hugging Face causal LM with adapters
    already added), `encoder` (pixels -> [B, P, c], with `num_positions`), `prefix`
    (features -> LM embeddings) and `version`, and implements `pixels`.
    """

    family = ""
    """Written into a version's model.json, so a version names the family that reads it."""
    version_includes_prefix = True
    """Store the image prefix in every version (needed when it was never aligned)."""

    config: Any
    tokenizer: Any
    lm: Any
    encoder: nn.Module
    prefix: nn.Module
    version: str

    # ---- hooks ----------------------------------------------------------------------------

    @property
    def use_image_prefix(self) -> bool:
        """False gives the plain language model (the text-only baseline)."""
        return True

    @abstractmethod
    def pixels(self, images: list[Image.Image]) -> torch.Tensor:
        """The encoder's input for these images: [B, 3, H, W], normalised as it was trained."""

    def contextualize(
        self, images: list[Image.Image] | None, prompts: list[Prompt]
    ) -> list[Prompt]:
        """The prompts with any text the family derives from their images (default: none).

        Called by both `prefill` and `training_batch`, so sampling and tuning read one prompt.
        """
        return prompts

    def version_config(self) -> dict:
        """What model.json records to rebuild the model around a version."""
        return asdict(self.config)

    # ---- inputs -------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.lm.get_input_embeddings().weight.device

    @property
    def vocab_size(self) -> int:
        return self.lm.config.vocab_size

    @property
    def prefix_length(self) -> int:
        """Prefix embeddings before the prompt (0 without images)."""
        return self.encoder.num_positions if self.use_image_prefix else 0

    def image_embeddings(self, images: list[Image.Image]) -> torch.Tensor:
        """[B, P, d] prefix embeddings."""
        weight = self.lm.get_input_embeddings().weight
        pixels = self.pixels(images).to(self.device, weight.dtype)
        with torch.no_grad():
            feats = self.encoder(pixels)
        return self.prefix(feats)

    def embed(
        self,
        images: list[Image.Image] | None,
        token_ids: list[list[int]],
        pad_left: bool = True,
        lead_ids: list[list[int]] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenate [lead tokens] + [image prefix] + token embeddings per row, pad to one length.

        Returns (embeds [B, L, d], attention_mask [B, L]). Prompts are padded on
        the left for generation so every row's last position is its real end.
        `lead_ids` (start tokens, and when tuning the worked examples) come before the image.
        """
        emb_layer = self.lm.get_input_embeddings()
        use_image = self.use_image_prefix and images is not None
        prefix = self.image_embeddings(images) if use_image else None
        rows = []
        for i, ids in enumerate(token_ids):
            tok = emb_layer(torch.tensor(ids, dtype=torch.long, device=self.device))
            parts = [prefix[i], tok] if prefix is not None else [tok]
            if lead_ids and lead_ids[i]:
                lead = torch.tensor(lead_ids[i], dtype=torch.long, device=self.device)
                parts.insert(0, emb_layer(lead))
            rows.append(torch.cat(parts))
        length = max(r.shape[0] for r in rows)
        d = rows[0].shape[1]
        embeds = rows[0].new_zeros(len(rows), length, d)
        mask = torch.zeros(len(rows), length, dtype=torch.long, device=self.device)
        for i, r in enumerate(rows):
            span = slice(length - r.shape[0], length) if pad_left else slice(0, r.shape[0])
            embeds[i, span] = r
            mask[i, span] = 1
        return embeds, mask

    def start_ids(self) -> list[int]:
        """The tokens the tokenizer puts before any text (Gemma's `<bos>`; none for SmolLM2 or
        GPT-J): the LM always read them first in training and writes noise without them, so
        every row starts with them, before the examples or the image prefix. Found once per
        tokenizer: every prefill and training batch asks."""
        known = getattr(self, "_start_ids", None)
        if known is None or known[0] is not self.tokenizer:
            full = self.tokenizer("a").input_ids
            bare = self.tokenizer("a", add_special_tokens=False).input_ids
            starts = [i for i in range(len(full)) if full[i : i + len(bare)] == bare]
            known = self._start_ids = (self.tokenizer, full[: starts[0]] if starts else [])
        return list(known[1])

    def lead_ids(self, prompt: Prompt) -> list[int]:
        """What a row reads before its image: the start tokens, then any worked examples."""
        return self.examples_ids(prompt.examples) if prompt.examples else self.start_ids()

    def prompt_ids(self, prompts: list[Prompt]) -> list[list[int]]:
        """The paper's plain prompt after the image prefix: `Q: {question} A: {answer}, {...}`."""
        return [self.tokenizer(p.plain(), add_special_tokens=False).input_ids for p in prompts]

    def _real_vocab(self, logits: torch.Tensor) -> torch.Tensor:
        """Drop head rows no token maps to (GPT-J pads its 50,257 tokens to 50,400)."""
        return logits[..., : self.vocab_size] if logits.shape[-1] > self.vocab_size else logits

    # ---- the model interface ---------------------------------------------------------------

    @torch.no_grad()
    def prefill(
        self, images: list[Image.Image], prompts: list[Prompt]
    ) -> tuple[torch.Tensor, DecodeState]:
        """Encode each (image, prompt) once after the worked examples' shared cache, if any.

        Rows with examples attend to the cached examples (positions start after them);
        rows without mask them out, so one batch may hold both.
        """
        prompts = self.contextualize(images, prompts)
        ids = self.prompt_ids(prompts)
        starts = [[] if p.examples else self.start_ids() for p in prompts]  # else in the cache
        embeds, mask = self.embed(images, ids, pad_left=True, lead_ids=starts)
        shots = {p.examples for p in prompts if p.examples}
        if len(shots) > 1:
            raise ValueError("one prefill reads one set of worked examples")
        cache = DynamicCache(config=self.lm.config)
        offset = torch.zeros(len(prompts), dtype=torch.long, device=self.device)
        if shots:
            cache, lead = self._examples_cache(shots.pop(), len(prompts))
            has = torch.tensor([bool(p.examples) for p in prompts], device=self.device)
            offset = has.long() * lead
            lead_mask = has[:, None].long().expand(-1, lead)
            full_mask = torch.cat([lead_mask, mask], 1)
        else:
            full_mask = mask
        positions = offset[:, None] + (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.lm(
            inputs_embeds=embeds,
            attention_mask=full_mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        state = DecodeState(cache, full_mask, offset + mask.sum(-1))
        return self._real_vocab(out.logits[:, -1]).float(), state

    def examples_ids(self, examples: str) -> list[int]:
        """The worked examples' tokens after the start tokens (they come first in a row)."""
        return self.start_ids() + self.tokenizer(examples, add_special_tokens=False).input_ids

    def _examples_cache(self, examples: str, rows: int) -> tuple[DynamicCache, int]:
        """A fresh cache for `rows` rows holding the examples' keys and values, and their length.

        The examples are encoded once per tuned state (`_tuned_key`: the version's name and a
        checksum of its adapters, so a tuning step or another version never reads stale keys)
        and copied per call, since decoding appends to the cache in place.
        """
        key = (examples, self._tuned_key())
        saved = getattr(self, "_examples_kv", None)
        if saved is None or saved[0] != key:
            ids = torch.tensor([self.examples_ids(examples)], device=self.device)
            enc = DynamicCache(config=self.lm.config)
            self.lm(input_ids=ids, cache=enc, use_cache=True, logits_to_keep=1)
            layers = [(layer.keys, layer.values) for layer in enc.layers]
            saved = self._examples_kv = (key, layers, ids.shape[1])
        _, layers, length = saved
        cache = DynamicCache(config=self.lm.config)
        for i, (k, v) in enumerate(layers):
            cache.update(k.expand(rows, -1, -1, -1).clone(), v.expand(rows, -1, -1, -1).clone(), i)
        return cache, length

    def _tuned_key(self) -> tuple[str, float]:
        with torch.no_grad():
            total = sum(float(p.detach().float().abs().sum()) for p in self.trainable_parameters())
        return self.version, total

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
        logits = self._real_vocab(out.logits[:, -1]).float()
        return logits, DecodeState(state.cache, mask, state.next_position + 1)

    # ---- tuning ---------------------------------------------------------------------------

    def training_batch(
        self, images: list[Image.Image] | None, prompts: list[Prompt], targets: list[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Right-padded [examples][image prefix][prompt][target] rows and labels (-100 off the
        target): the tokens sampling reads, the examples paid for in full (their adapters are
        being tuned, so no cache of them holds)."""
        prompts = self.contextualize(images, prompts)
        prompt_ids = self.prompt_ids(prompts)
        lead = [self.lead_ids(p) for p in prompts]
        seqs = [p + t for p, t in zip(prompt_ids, targets, strict=True)]
        embeds, mask = self.embed(images, seqs, pad_left=False, lead_ids=lead)
        n_image = self.prefix_length if images is not None else 0
        labels = torch.full(mask.shape, -100, dtype=torch.long, device=mask.device)
        for r, (p, t) in enumerate(zip(prompt_ids, targets, strict=True)):
            start = len(lead[r]) + n_image + len(p)
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
        hidden = self.lm.base_model(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=positions
        ).last_hidden_state
        labels = labels[:, 1:]
        valid = labels != -100
        head = self.lm.get_output_embeddings()
        logits = self._real_vocab(head(hidden[:, :-1][valid])).float()
        ce = F.cross_entropy(logits, labels[valid], reduction="none")
        rows = torch.arange(len(labels), device=labels.device)[:, None].expand_as(labels)[valid]
        return torch.zeros(len(labels), device=ce.device).index_add(0, rows, ce)

    def target_nll(
        self, images: list[Image.Image], prompts: list[Prompt], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        embeds, mask, labels = self.training_batch(images, prompts, targets)
        return self.nll_rows(embeds, mask, labels), int(mask.sum())

    def trainable_parameters(self) -> list[nn.Parameter]:
        return adapter_parameters(self.lm)

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return adapter_state_dict(self.lm)

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        _, unexpected = self.lm.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"not tuned weights of this model: {unexpected[:3]}")

    # ---- versions -------------------------------------------------------------------------

    def save_version(self, path: str | Path) -> None:
        """Write the tuned parameters and the config that rebuilds the model around them."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {f"lm.{k}": v.contiguous() for k, v in adapter_state_dict(self.lm).items()}
        if self.version_includes_prefix:
            prefix = self.prefix.state_dict().items()
            tensors.update({f"prefix.{k}": v.contiguous() for k, v in prefix})
        save_file(tensors, str(path / "adapters.safetensors"))
        meta = {"family": self.family, "config": self.version_config()}
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
        meta_file = path / "model.json"
        if meta_file.exists():
            family = json.loads(meta_file.read_text()).get("family")
            if family and family != self.family:
                raise ValueError(f"{path}: a {family} version, not one of this {self.family} model")
        state = load_file(str(path / "adapters.safetensors"), device=str(self.device))
        missing, unexpected = self.load_state_dict(state, strict=False)
        with_prefix = self.version_includes_prefix
        tuned = [
            k for k in missing if ".adapter." in k or (with_prefix and k.startswith("prefix."))
        ]
        if unexpected or tuned:
            raise ValueError(
                f"{path}: weights do not match this model "
                f"(missing {tuned[:3]}, unexpected {unexpected[:3]})"
            )
        self.version = path.name
