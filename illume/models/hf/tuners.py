"""What ILLUME tunes in a Hugging Face VLM: LoRA, a soft prompt, or bottleneck adapters.

Kept apart from the model class (model.py), as PEFT keeps tuner wiring apart
from models. All three touch only the language decoder; the vision tower and
the projector stay frozen, as in the paper.

- LoRA (default): PEFT's LoRA on the decoder's attention projections.
- Prompt tuning (the paper's Limitations section): a learned soft prompt of
  n token embeddings in front of every sequence, stored as PEFT's
  PROMPT_TUNING adapter. PEFT's own wrapper cannot place it in a VLM whose
  image tokens must stay in `input_ids`, so the slots are filled by a hook on
  the input embeddings instead.
- Bottleneck adapters (MAGMA's kind) after every attention and MLP block of
  the decoder, where the blocks look like Llama / GPT-J ones.
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from illume.models.adapters import AdapterConfig
from illume.models.wiring import adapter_parameters, adapter_state_dict, add_adapters


@dataclass
class TunerConfig:
    """PEFT settings for the Hugging Face family."""

    method: str = "lora"
    """lora, prompt or adapters."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "query", "value")
    """Linear layers of the language decoder that get LoRA (by their last name; the last two
    are BERT-style names, as in BLIP's text decoder)."""
    prompt_tokens: int = 20
    """Soft prompt length (virtual tokens)."""
    prompt_init_text: str = "Explain why the answer is right, because"
    """The soft prompt starts as these tokens' embeddings (PEFT's TEXT init), repeated."""
    adapters: AdapterConfig = field(default_factory=AdapterConfig)


def decoder_of(vlm: nn.Module) -> tuple[str, nn.Module]:
    """The language decoder of a VLM and its module name (where the tuner goes)."""
    decoder = vlm.get_decoder()
    for name, module in vlm.named_modules():
        if module is decoder:
            return name, decoder
    raise ValueError(f"cannot find the language decoder of {type(vlm).__name__}")


class Tuner(nn.Module, ABC):
    """The tuned parameters of one method, with PEFT-format save and load."""

    peft_type = ""
    """PEFT's name for the method (checked on load); empty where PEFT has none."""
    weights_name = "adapter_model.safetensors"

    @abstractmethod
    def parameters_to_tune(self) -> list[nn.Parameter]: ...

    @abstractmethod
    def state(self) -> dict[str, torch.Tensor]: ...

    @abstractmethod
    def load_state(self, state: dict[str, torch.Tensor]) -> None: ...

    @abstractmethod
    def reset(self) -> None:
        """The tuned weights back to their identity values (zero-shot)."""

    def save(self, path: Path, base: str) -> None:
        """The weights file; methods PEFT knows add their adapter_config.json."""
        state = {k: v.contiguous() for k, v in self.state().items()}
        save_file(state, str(path / self.weights_name))

    def filling_slots(self, on: bool = True) -> contextlib.AbstractContextManager:
        """Around a forward pass whose first columns are soft-prompt slots (prompt tuning)."""
        return contextlib.nullcontext()

    def load(self, path: Path) -> None:
        config = path / "adapter_config.json"
        if self.peft_type and config.exists():
            found = json.loads(config.read_text()).get("peft_type")
            if found != self.peft_type:
                raise ValueError(
                    f"{path} holds a {found} adapter; this model tunes {self.peft_type}"
                )
        weights = path / self.weights_name
        if not weights.exists():
            raise FileNotFoundError(f"{path}: no {self.weights_name} (not a version of this model)")
        self.load_state(load_file(str(weights)))


class LoraTuner(Tuner):
    peft_type = "LORA"

    def __init__(self, vlm: nn.Module, config: TunerConfig):
        super().__init__()
        from peft import LoraConfig, get_peft_model

        prefix, decoder = decoder_of(vlm)
        targets = [
            f"{prefix}.{name}"
            for name, module in decoder.named_modules()
            if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in config.lora_targets
        ]
        if not targets:
            raise ValueError(f"no {config.lora_targets} layers in the decoder for LoRA")
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
        )
        # PEFT puts the LoRA layers into `vlm` in place; the wrapper is kept for its state
        # dict helpers and save format, outside the module tree.
        self.__dict__["peft_model"] = get_peft_model(vlm, lora)

    def parameters_to_tune(self) -> list[nn.Parameter]:
        return [p for n, p in self.peft_model.named_parameters() if "lora_" in n]

    def state(self) -> dict[str, torch.Tensor]:
        from peft import get_peft_model_state_dict

        state = get_peft_model_state_dict(self.peft_model)
        return {k: v.detach().clone() for k, v in state.items()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(self.peft_model, state)
        if result.unexpected_keys:
            raise ValueError(f"LoRA weights do not fit this model: {result.unexpected_keys[:3]}")

    def reset(self) -> None:
        with torch.no_grad():
            for name, p in self.peft_model.named_parameters():
                if "lora_B" in name:
                    p.zero_()

    def save(self, path: Path, base: str) -> None:
        self.peft_model.peft_config["default"].base_model_name_or_path = base
        self.peft_model.save_pretrained(str(path))


class PromptTuner(Tuner):
    """A soft prompt written into the first n embedding slots of every sequence."""

    peft_type = "PROMPT_TUNING"

    def __init__(self, vlm: nn.Module, tokenizer, config: TunerConfig):
        super().__init__()
        self.config = config
        self.n = config.prompt_tokens
        embed = vlm.get_input_embeddings()
        init_ids = tokenizer(config.prompt_init_text, add_special_tokens=False).input_ids
        ids = torch.tensor([init_ids[i % len(init_ids)] for i in range(self.n)])
        self.init = embed.weight.detach()[ids].clone().float()
        self.prompt_embeddings = nn.Parameter(self.init.clone())
        self.active = False
        """Off at zero-shot; on while tuning and once a version is loaded."""
        self.filling = False
        """Set around a forward pass whose first n columns are the prompt's slots."""
        embed.register_forward_hook(self._fill)

    def _fill(self, module, args, output):
        if not (self.active and self.filling) or output.shape[1] < self.n:
            return output
        soft = self.prompt_embeddings.to(output.dtype)[None].expand(len(output), -1, -1)
        return torch.cat([soft, output[:, self.n :]], 1)

    @contextlib.contextmanager
    def filling_slots(self, on: bool = True) -> Iterator[None]:
        self.filling = on
        try:
            yield
        finally:
            self.filling = False

    @property
    def slots(self) -> int:
        return self.n if self.active else 0

    def parameters_to_tune(self) -> list[nn.Parameter]:
        self.active = True
        return [self.prompt_embeddings]

    def state(self) -> dict[str, torch.Tensor]:
        return {"prompt_embeddings": self.prompt_embeddings.detach().clone()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        weights = state["prompt_embeddings"]
        if weights.shape != self.prompt_embeddings.shape:
            raise ValueError(
                f"soft prompt of shape {tuple(weights.shape)}, "
                f"this model has {tuple(self.prompt_embeddings.shape)}"
            )
        with torch.no_grad():
            self.prompt_embeddings.copy_(weights)
        self.active = True

    def reset(self) -> None:
        with torch.no_grad():
            self.prompt_embeddings.copy_(self.init)
        self.active = False

    def save(self, path: Path, base: str) -> None:
        from peft import PromptTuningConfig

        PromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.n,
            token_dim=self.prompt_embeddings.shape[1],
            num_transformer_submodules=1,
            prompt_tuning_init="TEXT",
            prompt_tuning_init_text=self.config.prompt_init_text,
            tokenizer_name_or_path=base,
            base_model_name_or_path=base,
        ).save_pretrained(str(path))
        super().save(path, base)


class BottleneckTuner(Tuner):
    """MAGMA-style adapters in the decoder; PEFT has no such method, so our own file."""

    weights_name = "adapters.safetensors"

    def __init__(self, vlm: nn.Module, config: TunerConfig):
        super().__init__()
        _, decoder = decoder_of(vlm)
        self.__dict__["decoder"] = decoder
        with torch.random.fork_rng():
            torch.manual_seed(0)
            hidden = vlm.get_input_embeddings().weight.shape[1]
            if add_adapters(decoder, config.adapters, hidden) == 0:
                raise ValueError("the decoder's blocks have no attention/MLP to put adapters on")

    def parameters_to_tune(self) -> list[nn.Parameter]:
        return adapter_parameters(self.decoder)

    def state(self) -> dict[str, torch.Tensor]:
        return adapter_state_dict(self.decoder)

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.decoder.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if ".adapter." in k]:
            raise ValueError(f"adapter weights do not fit this model: {unexpected[:3]}")

    def reset(self) -> None:
        with torch.no_grad():
            for name, p in self.decoder.named_parameters():
                if ".adapter.up." in name:
                    p.zero_()


def make_tuner(vlm: nn.Module, tokenizer, config: TunerConfig) -> Tuner:
    if config.method == "lora":
        return LoraTuner(vlm, config)
    if config.method == "prompt":
        return PromptTuner(vlm, tokenizer, config)
    if config.method == "adapters":
        return BottleneckTuner(vlm, config)
    raise ValueError(f"unknown tuning method {config.method!r}: lora, prompt or adapters")
