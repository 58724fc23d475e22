"""Model families behind one interface (see base.py); `load_model` picks one from FAMILIES.

    embedded            the default: EfficientNet-Lite0 + image prefix + SmolLM2, offline
    hf:<hub id|folder>  any Hugging Face image-text-to-text model, tuned through PEFT
    magma:<folder>      MAGMA (CLIP RN50x16 + GPT-J + adapters) imported by `illume magma-import`

The choice comes from `--model` or $ILLUME_MODEL; device and precision
options from the matching flags or $ILLUME_DTYPE, $ILLUME_DEVICE,
$ILLUME_DEVICE_MAP and $ILLUME_PEFT.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

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


@dataclass
class ModelChoice:
    """Which model to build and where it runs."""

    model: str = "embedded"
    """"embedded", "hf:<hub id or folder>" or "magma:<imported folder>"."""
    lm: str | None = None
    """Embedded family only: its language model (folder or hub id; default SmolLM2-135M)."""
    encoder: str | None = None
    """Embedded family only: "efficientnet-lite0" (default) or "tiny" (random, tests)."""
    image_prefix: bool = True
    """Embedded family only: False gives the text-only baseline."""
    dtype: str | None = None
    """float32, bfloat16 or float16; default bfloat16 on a GPU, float32 on the CPU."""
    device: str | None = None
    """cpu, cuda or cuda:N; default the first GPU if there is one."""
    device_map: str | None = None
    """HF family: "auto" spreads a model too large for one GPU over all of them (sampling)."""
    peft: str = "lora"
    """HF family: lora (default), prompt (prompt tuning) or adapters (bottleneck, decoder)."""
    examples: str | None = None
    """Embedded family: worked examples before each rationale prompt: "auto" (default: the
    built-in ones for photos, none for drawings), "none" or a JSONL file (models/examples.py)."""

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
        env = os.environ
        choice = cls(
            model=env.get("ILLUME_MODEL") or "embedded",
            lm=env.get("ILLUME_LM") or None,
            encoder=env.get("ILLUME_ENCODER") or None,
            dtype=env.get("ILLUME_DTYPE") or None,
            device=env.get("ILLUME_DEVICE") or None,
            device_map=env.get("ILLUME_DEVICE_MAP") or None,
            peft=env.get("ILLUME_PEFT") or "lora",
            examples=env.get("ILLUME_EXAMPLES") or None,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(choice, key, value)
        return choice

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            help="embedded (default), hf:<hub id or folder>, magma:<folder> "
            "(default: $ILLUME_MODEL)",
        )
        p.add_argument("--lm", help="embedded model's LM: folder or hub id (default: SmolLM2)")
        p.add_argument("--encoder", help="embedded model's encoder: efficientnet-lite0 or tiny")
        p.add_argument("--no-image-prefix", action="store_true", help="text-only baseline")
        p.add_argument(
            "--examples",
            help='worked examples before each rationale prompt: "auto" (photos only), "none" '
            "or a JSONL file of context/question/answer/rationale (default: $ILLUME_EXAMPLES)",
        )
        ModelChoice.add_device_arguments(p)
        p.add_argument("--peft", choices=PEFT_METHODS, help="HF models: what to tune (lora)")

    @staticmethod
    def add_device_arguments(p: argparse.ArgumentParser) -> None:
        """Where and in what precision a model runs (also for commands that load several)."""
        p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"])
        p.add_argument("--device", help="cpu, cuda or cuda:N (default: a GPU if there is one)")
        p.add_argument("--device-map", help='"auto": spread a large HF model over the GPUs')

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelChoice:
        choice = cls.from_env(
            model=args.model,
            lm=args.lm,
            encoder=args.encoder,
            dtype=args.dtype,
            device=args.device,
            device_map=args.device_map,
            peft=args.peft,
            examples=getattr(args, "examples", None),
        )
        choice.image_prefix = not args.no_image_prefix
        return choice

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


def family_loader(family: str) -> Callable[[ModelChoice], VisionLanguageModel]:
    """The loader registered for a family; its module is imported only now (torch, transformers)."""
    module, name = FAMILIES[family].split(":")
    return getattr(importlib.import_module(module), name)


def load_model(
    choice: ModelChoice | None = None, version: str | Path | None = None
) -> VisionLanguageModel:
    """Build the chosen model (default: $ILLUME_MODEL, else the embedded one) and load a version."""
    choice = choice or ModelChoice.from_env()
    model = family_loader(choice.family)(choice)
    if version:
        model.load_version(version)
    return model
