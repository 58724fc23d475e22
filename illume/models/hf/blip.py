"""BLIP (v1) captioning models in the Hugging Face family: the paper's BLIP.

BLIP is not a decoder-only VLM: its BERT-style text decoder cross-attends to
the image encoder's output at every step and uses absolute position
embeddings. So the image features travel with the decode state (repeated and
dropped row by row like the cache), and positions are counted over attended
tokens, which keeps a left-padded row the same as the row alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from illume.models.base import DecodeState
from illume.models.hf.hf_vlm import HFVisionLanguageModel, span_nll
from illume.models.hf.inputs import extend_right, prepend_columns
from illume.models.hf.tuners import PromptTuner
from illume.models.prompt import Prompt


@dataclass
class BlipState(DecodeState):
    image_embeds: torch.Tensor = None  # [rows, patches, width]

    def repeat_interleave(self, n: int) -> BlipState:
        base = super().repeat_interleave(n)
        return BlipState(**vars(base), image_embeds=self.image_embeds.repeat_interleave(n, 0))

    def select(self, rows: torch.Tensor) -> BlipState:
        base = super().select(rows)
        return BlipState(**vars(base), image_embeds=self.image_embeds[rows])


class BlipCaptioner(HFVisionLanguageModel):
    """BlipForConditionalGeneration behind the common interface."""

    def _text_inputs(self, prompts: list[Prompt]) -> dict:
        """[DEC] + the plain prompt, left-padded (BLIP swaps its [CLS] for the decoder's BOS)."""
        bos = self.vlm.config.text_config.bos_token_id
        rows = [
            [bos, *self.tokenizer(p.plain(), add_special_tokens=False).input_ids] for p in prompts
        ]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        inputs = {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}
        if isinstance(self.tuner, PromptTuner):
            inputs = prepend_columns(inputs, self.tuner.slots, self.tokenizer.pad_token_id)
        return inputs

    def _image_embeds(self, images: list[Image.Image]) -> torch.Tensor:
        processor = self.inputs.processor.image_processor
        pixels = processor(images, return_tensors="pt")["pixel_values"]
        dtype = self.vlm.get_input_embeddings().weight.dtype
        return self.vlm.vision_model(pixel_values=pixels.to(self.device, dtype))[0]

    def _decode(self, ids, mask, positions, image_embeds, cache=None, use_cache=True, keep=0):
        with self.tuner.filling_slots(ids.shape[1] > 1):
            return self.vlm.text_decoder(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                encoder_hidden_states=image_embeds,
                cache=cache,
                use_cache=use_cache,
                logits_to_keep=keep,
                return_dict=True,
            )

    @torch.no_grad()
    def prefill(
        self, images: list[Image.Image], prompts: list[Prompt]
    ) -> tuple[torch.Tensor, BlipState]:
        inputs = self._text_inputs(prompts)
        mask = inputs["attention_mask"]
        embeds = self._image_embeds(images)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self._decode(inputs["input_ids"], mask, positions, embeds, keep=1)
        state = BlipState(out.cache, mask, mask.sum(-1), image_embeds=embeds)
        return out.logits[:, -1].float(), state

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: BlipState) -> tuple[torch.Tensor, BlipState]:
        mask = torch.cat([state.attention_mask, state.attention_mask.new_ones(len(tokens), 1)], 1)
        out = self._decode(
            tokens[:, None].to(self.device),
            mask,
            state.next_position[:, None],
            state.image_embeds,
            cache=state.cache,
        )
        new = BlipState(state.cache, mask, state.next_position + 1, image_embeds=state.image_embeds)
        return out.logits[:, -1].float(), new

    def target_nll(
        self, images: list[Image.Image], prompts: list[Prompt], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        inputs = self._text_inputs(prompts)
        width = inputs["input_ids"].shape[1]
        full = extend_right(inputs, targets, self.tokenizer.pad_token_id)
        mask = full["attention_mask"]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        keep = torch.arange(width - 1, mask.shape[1] - 1, device=self.device)
        out = self._decode(
            full["input_ids"],
            mask,
            positions,
            self._image_embeds(images),
            use_cache=False,
            keep=keep,
        )
        return span_nll(out.logits, targets), int(mask.sum())
