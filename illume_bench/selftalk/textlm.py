"""A VLM's language model without its image, behind the same prefill/step/target_nll interface.

Self-talk tests the LM before any image is involved (the paper's Sec. 3.2). Rather than a
second decoder, this wraps the LM inside a loaded model (the embedded model's SmolLM2, an
HF VLM's text decoder, MAGMA's GPT-J, with whatever adapters it carries) so that the
project's `Sampler` draws from it exactly as it draws rationales. Prompts are plain strings
here: there is no image and no question/answer template to render.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from illume.models.base import DecodeState


def start_token(tokenizer) -> int:
    """The token every row starts with, so even an empty prompt has a first position.

    `<|endoftext|>` where the vocabulary has it: GPT-2, GPT-J and SmolLM2 separate their
    training documents with it (SmolLM2's own BOS is a chat-turn marker); else BOS, else EOS.
    """
    tid = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
        return tid
    for tid in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return tid
    raise ValueError("the tokenizer has no start, BOS or EOS token")


def language_model(model) -> Any:
    """The causal LM (or text decoder) inside a model of any family."""
    if hasattr(model, "lm"):  # the embedded model and MAGMA (prefix_vlm.py)
        return model.lm
    if hasattr(model, "vlm"):  # the Hugging Face family
        return model.vlm
    raise ValueError(f"cannot find the language model inside {type(model).__name__}")


class TextLM:
    """Text-only prefill/step/target_nll over the LM of a loaded model (see module doc)."""

    def __init__(self, model, batch_rows: int = 64):
        lm = language_model(model)
        self.tokenizer = model.tokenizer
        self.version = getattr(model, "version", "zero-shot")
        self.decoder = lm.get_decoder()
        head = getattr(self.decoder, "get_output_embeddings", lambda: None)()
        self.own_head = head is not None  # BLIP-2's OPT decoder returns logits itself
        self.head = head or lm.get_output_embeddings()
        self.vocab_size = int(getattr(model, "vocab_size", self.head.weight.shape[0]))
        self.start = start_token(self.tokenizer)
        self.batch_rows = batch_rows
        """Rows scored per forward pass in `target_nll` (bounds memory, not results)."""

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def _logits(self, out, last_only: bool) -> torch.Tensor:
        logits = out.logits if self.own_head else None
        if logits is None:
            hidden = out.last_hidden_state
            logits = self.head(hidden[:, -1:] if last_only else hidden)
        elif last_only:
            logits = logits[:, -1:]
        return logits[..., : self.vocab_size].float()

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache):
        return self.decoder(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            cache=cache,
            use_cache=cache is not None,
        )

    @torch.no_grad()
    def prefill(self, images: list, prompts: list[str]) -> tuple[torch.Tensor, DecodeState]:
        """Encode each prompt once (left-padded); `images` is ignored: there are none."""
        rows = [[self.start, *self.encode(p)] for p in prompts]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.start, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.decoder.config)
        out = self._run(ids, mask, positions, cache)
        mask = mask.to(self.device)
        return self._logits(out, True)[:, -1], DecodeState(cache, mask, mask.sum(-1))

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: DecodeState) -> tuple[torch.Tensor, DecodeState]:
        mask = torch.cat([state.attention_mask, state.attention_mask.new_ones(len(tokens), 1)], 1)
        out = self._run(tokens[:, None], mask, state.next_position[:, None], state.cache)
        logits = self._logits(out, True)[:, -1]
        return logits, DecodeState(state.cache, mask, state.next_position + 1)

    @torch.no_grad()
    def target_nll(
        self, images: list, prompts: list[str], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy of each target after [start] + its prompt, and the positions
        processed; rows go through in chunks of `batch_rows`."""
        sums, seen = [], 0
        for lo in range(0, len(prompts), self.batch_rows):
            part, tgt = prompts[lo : lo + self.batch_rows], targets[lo : lo + self.batch_rows]
            heads = [[self.start, *self.encode(p)] for p in part]
            rows = [h + t for h, t in zip(heads, tgt, strict=True)]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), self.start, dtype=torch.long)
            labels = torch.full((len(rows), width), -100, dtype=torch.long)
            mask = torch.zeros(len(rows), width, dtype=torch.long)
            for i, (h, r) in enumerate(zip(heads, rows, strict=True)):
                ids[i, : len(r)] = torch.tensor(r)
                mask[i, : len(r)] = 1
                labels[i, len(h) : len(r)] = torch.tensor(r[len(h) :])
            out = self._run(ids, mask, (mask.cumsum(-1) - 1).clamp(min=0), None)
            labels = labels[:, 1:].to(self.device)
            valid = labels != -100
            if self.own_head:
                logits = out.logits[:, :-1][valid]
            else:  # the head (a fifth of a small LM's compute) only where a target is predicted
                logits = self.head(out.last_hidden_state[:, :-1][valid])
            logits = logits[..., : self.vocab_size].float()
            ce = F.cross_entropy(logits, labels[valid], reduction="none")
            row = torch.arange(len(rows), device=self.device)[:, None].expand_as(labels)[valid]
            sums.append(torch.zeros(len(rows), device=self.device).index_add(0, row, ce).cpu())
            seen += int(mask.sum())
        return torch.cat(sums), seen
