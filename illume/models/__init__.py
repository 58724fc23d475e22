"""Model families behind one interface (see base.py); `load_model` picks one from FAMILIES.

    embedded            the default: EfficientNet-Lite0 + image prefix + SmolLM2, offline
    hf:<hub id|folder>  any Hugging Face image-text-to-text model, tuned through PEFT
    magma:<folder>      MAGMA (CLIP RN50x16 + GPT-J + adapters) imported by `illume magma-import`

The choice comes from `--model` or $ILLUME_MODEL; device and precision
options from the matching flags or $ILLUME_DTYPE, $ILLUME_DEVICE,
$ILLUME_DEVICE_MAP and $ILLUME_PEFT (all generated from `ModelChoice`'s fields).
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from illume.configargs import add_arguments, from_args
from illume.envconfig import from_env
from illume.models.base import DecodeState, VisionLanguageModel

__all__ = [
    "FAMILIES",
    "DecodeState",
    "ModelChoice",
    "VisionLanguageModel",
    "family_loader",
    "load_model",
]

FAMILIES: dict[str, str] = {
    "embedded": "illume.models.embedded.embedded_vlm:build_embedded",
    "hf": "illume.models.hf.loader:build_hf",
    "magma": "illume.models.magma.magma_vlm:build_magma",
}
"""The registry: family name (what `--model` starts with) -> "module:loader". A loader takes
a `ModelChoice` and returns the model; a new family is one subpackage and one line here."""
PEFT_METHODS = ("lora", "prompt", "adapters")
DTYPES = ("float32", "bfloat16", "float16")
NOT_DEVICE = ("model", "lm", "encoder", "image_prefix", "peft", "examples")


@dataclass
class ModelChoice:
    """Which model to build and where it runs: `--model` and the other flags, or the
    environment (ILLUME_MODEL, ...); both generated from these fields."""

    ENV_PREFIX = "ILLUME_"

    model: str = field(
        default="embedded",
        metadata={"help": "embedded, hf:<hub id or folder> or magma:<imported folder>"},
    )
    lm: str | None = field(
        default=None,
        metadata={"help": "embedded family: its language model, a folder or hub id (SmolLM2)"},
    )
    encoder: str | None = field(
        default=None,
        metadata={"help": "embedded family: efficientnet-lite0 (unset) or tiny (random, tests)"},
    )
    image_prefix: bool = field(
        default=True,
        metadata={
            "help": "embedded family: --no-image-prefix gives the text-only baseline",
            "env": False,
        },
    )
    dtype: str | None = field(
        default=None,
        metadata={
            "help": "float32, bfloat16 or float16 (unset: bfloat16 on a GPU, float32 on the CPU)",
            "choices": DTYPES,
        },
    )
    device: str | None = field(
        default=None, metadata={"help": "cpu, cuda or cuda:N (unset: a GPU if there is one)"}
    )
    device_map: str | None = field(
        default=None,
        metadata={"help": 'HF family: "auto" spreads a model too large for one GPU over all'},
    )
    peft: str = field(
        default="lora",
        metadata={
            "help": "HF family: what ILLUME tunes: lora, prompt (prompt tuning) or adapters "
            "(bottleneck, decoder)",
            "choices": PEFT_METHODS,
        },
    )
    examples: str | None = field(
        default=None,
        metadata={
            "help": 'embedded family: worked examples before each rationale prompt: "auto" '
            '(unset: the built-in ones for photos, none for drawings), "none" or a JSONL file '
            "of context/question/answer/rationale (illume/models/examples.py)"
        },
    )

    @property
    def family(self) -> str:
        family = self.model.split(":", 1)[0]
        if family not in FAMILIES:
            raise ValueError(
                f"unknown model {self.model!r}: use embedded, hf:<hub id or folder> "
                "or magma:<folder>"
            )
        if family != "embedded" and ":" not in self.model:
            raise ValueError(f"--model {family} needs a reference: {family}:<hub id or folder>")
        return family

    @property
    def reference(self) -> str:
        return self.model.split(":", 1)[1] if ":" in self.model else ""

    @classmethod
    def from_env(cls, **overrides) -> ModelChoice:
        """The environment's choice; `overrides` that are not None win."""
        choice = from_env(cls)
        return replace(choice, **{k: v for k, v in overrides.items() if v is not None})

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Every field as a flag, its default the environment's (`from_args` reads them)."""
        add_arguments(p, ModelChoice, defaults=ModelChoice.from_env())

    @staticmethod
    def add_device_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Where and in what precision a model runs (for commands that load several)."""
        add_arguments(p, ModelChoice, defaults=ModelChoice.from_env(), exclude=NOT_DEVICE)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelChoice:
        return from_args(cls, args, base=cls.from_env())

    def check(self) -> None:
        """Fail before anything loads, with ValueError in one line, on a family, device or
        model folder that is not there (`--device gpu`, `--device cuda` on a CPU build of
        torch, `hf:./nosuchdir`, a MAGMA folder never imported)."""
        family = self.family
        if self.device is not None:
            check_device(self.device)
        ref = self.reference
        if family == "magma" and not Path(ref).is_dir():
            raise ValueError(f"no MAGMA folder {ref}: make one with `illume magma-import`")
        if family == "hf" and looks_like_path(ref) and not Path(ref).expanduser().exists():
            raise ValueError(
                f"no model folder {ref} (a folder path; a hub id has the form owner/name)"
            )

    def resolved_device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def resolved_dtype(self) -> str:
        on_gpu = self.resolved_device().startswith("cuda")
        return self.dtype or ("bfloat16" if on_gpu else "float32")

    def to_args(self) -> list[str]:
        """The same choice as command-line flags, for the tuning job run as a subprocess."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "image_prefix":
                out += [] if value else ["--no-image-prefix"]
            elif value is not None:
                out += [f"--{f.name.replace('_', '-')}", str(value)]
        return out


DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def check_device(device: str) -> None:
    """ValueError naming why `device` cannot be used here (no GPU, a CPU build of torch)."""
    if not DEVICE.match(device):
        raise ValueError(f"--device {device!r}: use cpu, cuda or cuda:N")
    if not device.startswith("cuda"):
        return
    import torch

    if torch.version.cuda is None:
        raise ValueError(
            f"--device {device}: this torch ({torch.__version__}) is a CPU build; install the "
            "CUDA build (make install-gpu, docs/guide/gpu.md) or use --device cpu"
        )
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= count:
        raise ValueError(
            f"--device {device}: {count} GPU(s) visible to torch "
            "(check the driver with nvidia-smi, and CUDA_VISIBLE_DEVICES)"
        )


def looks_like_path(reference: str) -> bool:
    """Whether an hf: reference names a folder rather than a hub id (owner/name or name)."""
    return (
        reference.startswith((".", "/", "~"))
        or reference.count("/") > 1
        or "\\" in reference
        or Path(reference).exists()
    )


def family_loader(family: str) -> Callable[[ModelChoice], VisionLanguageModel]:
    """The loader registered for a family; its module is imported only now (torch, transformers)."""
    module, name = FAMILIES[family].split(":")
    return getattr(importlib.import_module(module), name)


def load_model(
    choice: ModelChoice | None = None, version: str | Path | None = None
) -> VisionLanguageModel:
    """Build the chosen model (default: $ILLUME_MODEL, else the embedded one) and load a version."""
    choice = choice or ModelChoice.from_env()
    choice.check()
    model = family_loader(choice.family)(choice)
    if version:
        model.load_version(version)
    return model
