"""Turn (image, prompt) pairs into a Hugging Face VLM's inputs.

A prompt arrives as data (question, answer, explanation prompt; prompt.py). A
chat model gets it as a conversation: the user turn holds the image and the
question, and the assistant's reply starts with "<answer>, because" for the
model to continue. A model without a chat template gets the image placeholder
(where its processor wants one) followed by the plain prompt,
"Q: <question> A: <answer>, because".
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from PIL import Image

from illume.models.prompt import Prompt

log = logging.getLogger(__name__)

# Architectures whose processor expects its image placeholder in the text.
PLACEHOLDER_TYPES = {
    "llava",
    "llava_next",
    "idefics2",
    "idefics3",
    "smolvlm",
    "qwen2_vl",
    "qwen2_5_vl",
    "mllama",
}
# Architectures whose processor takes one list of images per text.
NESTED_IMAGE_TYPES = {"idefics2", "idefics3", "smolvlm", "mllama"}
QWEN_TYPES = {"qwen2_vl", "qwen2_5_vl"}


def load_processor(reference: str, model_type: str):
    """The model's processor; for Qwen2-VL without torchvision, a small stand-in.

    transformers builds Qwen2-VL's processor only with a video processor,
    which needs torchvision; this project's CPU install has none (NOTES), so
    the stand-in expands the image placeholder the same way for still images.
    """
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(reference)
    except (AttributeError, ImportError, TypeError, ValueError) as e:
        if model_type not in QWEN_TYPES:
            raise
        log.info("using the still-image Qwen2-VL processor (%s)", type(e).__name__)
        return QwenStillImageProcessor.from_pretrained(reference)


class QwenStillImageProcessor:
    """Qwen2-VL's processor for images only: the image processor plus the tokenizer."""

    image_token = "<|image_pad|>"

    def __init__(self, image_processor, tokenizer, chat_template: str | None):
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.chat_template = chat_template or getattr(tokenizer, "chat_template", None)

    @classmethod
    def from_pretrained(cls, reference: str) -> QwenStillImageProcessor:
        from transformers import AutoImageProcessor, AutoTokenizer

        template = None
        folder = Path(reference)
        for name in ("chat_template.jinja", "chat_template.json"):
            if (folder / name).exists():
                text = (folder / name).read_text()
                template = json.loads(text)["chat_template"] if name.endswith("json") else text
                break
        return cls(
            AutoImageProcessor.from_pretrained(reference),
            AutoTokenizer.from_pretrained(reference),
            template,
        )

    def save_pretrained(self, folder: str | Path) -> None:
        """The files a hub Qwen2-VL folder has for images: image processor, tokenizer, template."""
        self.image_processor.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        if self.chat_template:
            (Path(folder) / "chat_template.jinja").write_text(self.chat_template)

    def apply_chat_template(self, messages, add_generation_prompt: bool = True) -> str:
        return self.tokenizer.apply_chat_template(
            messages,
            chat_template=self.chat_template,
            add_generation_prompt=add_generation_prompt,
            tokenize=False,
        )

    def __call__(self, images, text: list[str], return_tensors="pt", padding=True):
        vision = self.image_processor(images=images, return_tensors="pt")
        merge = self.image_processor.merge_size**2
        counts = (vision["image_grid_thw"].prod(-1) // merge).tolist()
        slot = "<|placeholder|>"
        expanded = [
            t.replace(self.image_token, slot * n).replace(slot, self.image_token)
            for t, n in zip(text, counts, strict=True)
        ]
        enc = self.tokenizer(expanded, return_tensors="pt", padding=True)
        image_id = self.tokenizer.convert_tokens_to_ids(self.image_token)
        enc["mm_token_type_ids"] = (enc["input_ids"] == image_id).long()
        return {**enc, **vision}


class InputBuilder:
    """Formats prompts for one model and runs its processor (left-padded, on its device)."""

    def __init__(self, processor, model_type: str, use_chat: bool = True):
        self.processor = processor
        self.model_type = model_type
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        template = getattr(processor, "chat_template", None)
        self.use_chat = bool(use_chat and template)

    def text(self, prompt: Prompt) -> str:
        """One prompt in the model's own format (chat turn or plain text with placeholder)."""
        if self.use_chat:
            content = [{"type": "image"}, {"type": "text", "text": prompt.user_text()}]
            messages = [{"role": "user", "content": content}]
            head = self.processor.apply_chat_template(messages, add_generation_prompt=True)
            reply = prompt.reply().strip()
            return head + (" " + reply if reply and not head.endswith("\n") else reply)
        if self.model_type in PLACEHOLDER_TYPES:
            return self.processor.image_token + prompt.plain()
        return prompt.plain()

    def __call__(
        self, images: list[Image.Image], prompts: list[Prompt], device, dtype: torch.dtype
    ) -> dict:
        """Processor outputs on `device`; pixel values in the model's dtype (bf16 on a GPU)."""
        texts = [self.text(p) for p in prompts]
        imgs = [[im] for im in images] if self.model_type in NESTED_IMAGE_TYPES else images
        enc = self.processor(images=imgs, text=texts, return_tensors="pt", padding=True)
        out = {}
        for key, value in enc.items():
            if isinstance(value, torch.Tensor):
                value = value.to(device, dtype) if value.is_floating_point() else value.to(device)
            out[key] = value
        return out


def per_token_keys(inputs: dict) -> list[str]:
    """Inputs laid out per token like input_ids (attention mask, token type ids, ...)."""
    shape = inputs["input_ids"].shape
    return [
        k
        for k, v in inputs.items()
        if isinstance(v, torch.Tensor) and v.shape == shape and k != "input_ids"
    ]


def extend_right(inputs: dict, ids: list[list[int]], pad_id: int) -> dict:
    """Append each row's ids after its (left-padded) prompt; new columns are right-padded.

    The attention mask is 1 on the appended ids; other per-token inputs get 0
    there (text, not image: what Qwen2-VL's mm_token_type_ids and PaliGemma's
    token_type_ids mean for a reply).
    """
    out = dict(inputs)
    rows, width = len(ids), max((len(t) for t in ids), default=0)
    new = torch.full((rows, width), pad_id, dtype=torch.long)
    mask = torch.zeros(rows, width, dtype=torch.long)
    for r, t in enumerate(ids):
        new[r, : len(t)] = torch.tensor(t, dtype=torch.long)
        mask[r, : len(t)] = 1
    device = inputs["input_ids"].device
    out["input_ids"] = torch.cat([inputs["input_ids"], new.to(device)], 1)
    for key in per_token_keys(inputs):
        extra = mask if key == "attention_mask" else torch.zeros_like(mask)
        out[key] = torch.cat([inputs[key], extra.to(device, inputs[key].dtype)], 1)
    return out


def prepend_columns(inputs: dict, n: int, filler_id: int) -> dict:
    """Put n attended filler tokens in front of every row (the soft prompt's slots).

    They go before the left padding; with positions counted over attended
    tokens only, every row sees [soft prompt][its own tokens] contiguously.
    """
    if n == 0:
        return inputs
    out = dict(inputs)
    ids = inputs["input_ids"]
    out["input_ids"] = torch.cat([ids.new_full((len(ids), n), filler_id), ids], 1)
    for key in per_token_keys(inputs):
        fill = 1 if key == "attention_mask" else 0
        out[key] = torch.cat([inputs[key].new_full((len(ids), n), fill), inputs[key]], 1)
    return out
