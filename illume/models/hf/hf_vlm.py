"""The Hugging Face family: any image-text-to-text model behind the common interface.

    --model hf:HuggingFaceTB/SmolVLM-256M-Instruct     (hub id; needs a network once)
    --model hf:models/my-vlm                            (a local folder)

Prefill runs the whole model (vision tower, projector, decoder) once per
(image, prompt); decoding steps then run only the language decoder on the
key/value cache, so the sampler's row repeat/select tricks work unchanged.
Tuning goes through PEFT (see tuners.py); versions are PEFT adapter folders
plus a model.json.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from illume.models.base import DecodeState
from illume.models.hf.inputs import InputBuilder, extend_right, load_processor, prepend_columns
from illume.models.hf.tuners import PromptTuner, TunerConfig, make_tuner
from illume.models.prompt import Prompt

log = logging.getLogger(__name__)

MROPE_TYPES = {"qwen2_vl", "qwen2_5_vl"}


@dataclass
class HFConfig:
    """How to load a Hugging Face VLM and what to tune in it."""

    reference: str = "HuggingFaceTB/SmolVLM-256M-Instruct"
    """Hub id or local folder of an image-text-to-text model with its processor."""
    dtype: str = "float32"
    device: str = "cpu"
    device_map: str | None = None
    """"auto" lets accelerate spread the model over the GPUs (then `device` is ignored)."""
    use_chat_template: bool = True
    """Ask chat models in their own turn format (see inputs.py)."""
    tuner: TunerConfig = field(default_factory=TunerConfig)

    @classmethod
    def from_dict(cls, raw: dict) -> HFConfig:
        raw = dict(raw)
        tuner = dict(raw.get("tuner", {}))
        from illume.models.adapters import AdapterConfig

        tuner["adapters"] = AdapterConfig(**tuner.get("adapters", {}))
        tuner["lora_targets"] = tuple(tuner.get("lora_targets", TunerConfig.lora_targets))
        raw["tuner"] = TunerConfig(**tuner)
        return cls(**raw)


class ModelDoesNotFit(ValueError):
    """The model's weights need more memory than the chosen device has.

    A ValueError, so every command reports it in one line (a bad choice of
    model, dtype or device) instead of a traceback.
    """


class HFVisionLanguageModel(nn.Module):
    """A Hugging Face VLM and its processor behind the common interface, with one PEFT tuner.

    The VLM itself stays frozen; `tuner` holds what ILLUME trains (see tuners.py).
    """

    def __init__(self, config: HFConfig, hf_config=None):
        super().__init__()
        from transformers import AutoConfig

        self.config = config
        self.version = "zero-shot"
        hf_config = hf_config or AutoConfig.from_pretrained(config.reference)
        self.model_type = hf_config.model_type
        processor = load_processor(config.reference, self.model_type)
        self.inputs = InputBuilder(processor, self.model_type, config.use_chat_template)
        self.tokenizer = self.inputs.tokenizer
        self.vlm = _load_vlm(config, hf_config)
        self.vlm.requires_grad_(False)
        self.vlm.eval()
        self.tuner = make_tuner(self.vlm, self.tokenizer, config.tuner)
        if config.device_map is None:
            self.tuner.to(config.device)
        self._decoder, self._head = _decoder_and_head(self.vlm)
        self._prefill_kwargs = set(inspect.signature(self.vlm.forward).parameters)
        self.vocab_size = self._head.weight.shape[0]
        self.eval()  # the tuner's fresh modules (LoRA dropout) too

    @property
    def device(self) -> torch.device:
        return self.vlm.get_input_embeddings().weight.device

    # ---- inputs -------------------------------------------------------------------------

    def _encode(self, images: list[Image.Image], prompts: list[Prompt]) -> dict:
        dtype = self.vlm.get_input_embeddings().weight.dtype
        inputs = self.inputs(images, prompts, self.device, dtype)
        if isinstance(self.tuner, PromptTuner):
            inputs = prepend_columns(inputs, self.tuner.slots, self.tokenizer.pad_token_id)
        return inputs

    def _forward(self, inputs: dict, **kwargs):
        """The whole model on processor inputs, with positions counted over attended tokens."""
        if "position_ids" in self._prefill_kwargs and self.model_type not in MROPE_TYPES:
            mask = inputs["attention_mask"]
            kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
        if "logits_to_keep" not in self._prefill_kwargs:
            kwargs.pop("logits_to_keep", None)
        with self.tuner.filling_slots():
            return self.vlm(**inputs, **kwargs)

    # ---- the model interface ---------------------------------------------------------------

    @torch.no_grad()
    def prefill(
        self, images: list[Image.Image], prompts: list[Prompt]
    ) -> tuple[torch.Tensor, DecodeState]:
        inputs = self._encode(images, prompts)
        out = self._forward(inputs, use_cache=True, logits_to_keep=1)
        cache = getattr(out, "cache", None)
        if cache is None:  # BLIP-2 keeps its language model's outputs apart
            cache = out.language_model_outputs.cache
        mask = inputs["attention_mask"]
        next_position = mask.sum(-1)
        if self.model_type in MROPE_TYPES:
            next_position = next_position + self.vlm.model.rope_deltas[:, 0].to(mask.device)
        return out.logits[:, -1].float(), DecodeState(cache, mask, next_position)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: DecodeState) -> tuple[torch.Tensor, DecodeState]:
        mask = torch.cat([state.attention_mask, state.attention_mask.new_ones(len(tokens), 1)], 1)
        positions = state.next_position[:, None]
        if self.model_type in MROPE_TYPES:
            positions = positions[None].expand(3, -1, -1)
        out = self._decoder(
            input_ids=tokens[:, None].to(self.device),
            attention_mask=mask,
            position_ids=positions,
            cache=state.cache,
            use_cache=True,
        )
        # a decoder with its own head (BLIP-2's OPT) returns logits, a bare one hidden states
        has_head = "logits" in out
        logits = out.logits[:, -1] if has_head else self._head(out.last_hidden_state[:, -1])
        return logits.float(), DecodeState(state.cache, mask, state.next_position + 1)

    def target_nll(
        self, images: list[Image.Image], prompts: list[Prompt], targets: list[list[int]]
    ) -> tuple[torch.Tensor, int]:
        inputs = self._encode(images, prompts)
        width = inputs["input_ids"].shape[1]
        full = extend_right(inputs, targets, self.tokenizer.pad_token_id)
        total = full["input_ids"].shape[1]
        # the LM head runs only where a target token is predicted
        keep = torch.arange(width - 1, total - 1, device=self.device)
        logits = self._forward(full, use_cache=False, logits_to_keep=keep).logits
        if "logits_to_keep" not in self._prefill_kwargs:  # the model returned every position
            logits = logits[:, keep]
        return span_nll(logits, targets), int(full["attention_mask"].sum())

    # ---- tuned weights and versions --------------------------------------------------------

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = self.tuner.parameters_to_tune()
        for p in params:
            p.requires_grad_(True)
        return params

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return self.tuner.state()

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        self.tuner.load_state(state)

    def reset_version(self) -> None:
        self.tuner.reset()
        self.version = "zero-shot"

    def save_version(self, path: str | Path) -> None:
        """PEFT's adapter folder (adapter_config.json + weights) and our model.json."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tuner.save(path, self.config.reference)
        meta = {"family": "hf", "config": asdict(self.config)}
        (path / "model.json").write_text(json.dumps(meta, indent=2))

    def load_version(self, path: str | Path) -> None:
        path = Path(path)
        meta_path = path / "model.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("family") != "hf":
                raise ValueError(f"{path} is a version of a {meta.get('family')} model, not hf")
            method = meta["config"]["tuner"]["method"]
            if method != self.config.tuner.method:
                raise ValueError(
                    f"{path} was tuned with --peft {method}; "
                    f"this model tunes {self.config.tuner.method}"
                )
        self.tuner.load(path)
        self.version = path.name


def span_nll(logits: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    """Summed cross-entropy per row of the logits [B, T, V] that predict each row's targets
    (right-padded: a row's logits past its own targets carry no loss)."""
    labels = torch.full(logits.shape[:2], -100, dtype=torch.long)
    for r, t in enumerate(targets):
        labels[r, : len(t)] = torch.tensor(t)
    ce = F.cross_entropy(logits.float().transpose(1, 2), labels.to(logits.device), reduction="none")
    return ce.sum(-1)


def _load_vlm(config: HFConfig, hf_config) -> nn.Module:
    """The model in the chosen precision and place; a clear error when it does not fit."""
    from transformers import AutoModelForImageTextToText

    check_fits(config, hf_config)
    kwargs = {"dtype": getattr(torch, config.dtype), "config": hf_config}
    if config.device_map:
        kwargs["device_map"] = config.device_map
    try:
        vlm = AutoModelForImageTextToText.from_pretrained(config.reference, **kwargs)
        if not config.device_map:
            vlm.to(config.device)
    except torch.OutOfMemoryError as e:
        raise ModelDoesNotFit(_does_not_fit(config)) from e
    except RuntimeError as e:
        if "out of memory" not in str(e).lower() and "can't allocate" not in str(e).lower():
            raise
        raise ModelDoesNotFit(_does_not_fit(config)) from e
    return vlm


def _does_not_fit(config: HFConfig, detail: str = "") -> str:
    return (
        f"{config.reference} does not fit on {config.device} in {config.dtype}{detail}: "
        "try --dtype bfloat16, --device-map auto (several GPUs) or a smaller model"
    )


def weight_bytes(config: HFConfig, hf_config=None) -> int:
    """The model's weight size in the chosen dtype, from its config alone (no weights read)."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    hf_config = hf_config or AutoConfig.from_pretrained(config.reference)
    with torch.device("meta"):
        shell = AutoModelForImageTextToText.from_config(hf_config)
    size = torch.empty(0, dtype=getattr(torch, config.dtype)).element_size()
    return sum(p.numel() for p in shell.parameters()) * size


def free_bytes(device: str, device_map: str | None) -> int:
    """Memory the weights may take: free GPU memory (all GPUs under a device map) or free RAM."""
    if device.startswith("cuda") and torch.cuda.is_available():
        gpus = range(torch.cuda.device_count()) if device_map else [torch.device(device).index or 0]
        return sum(torch.cuda.mem_get_info(i)[0] for i in gpus)
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(config: HFConfig, hf_config=None) -> None:
    """Fail before loading when the weights alone exceed the free memory (an OOM kill on a
    CPU gives no message at all)."""
    need = weight_bytes(config, hf_config)
    have = free_bytes(config.device, config.device_map)
    if need > have:
        raise ModelDoesNotFit(
            _does_not_fit(config, f" (weights {need / 2**30:.1f} GiB, free {have / 2**30:.1f} GiB)")
        )


def _decoder_and_head(vlm: nn.Module) -> tuple[nn.Module, nn.Module]:
    """What a decoding step runs: the language decoder, and the LM head (the decoder's own
    where it has one, as BLIP's and BLIP-2's do)."""
    decoder = vlm.get_decoder()
    return decoder, decoder.get_output_embeddings() or vlm.get_output_embeddings()
