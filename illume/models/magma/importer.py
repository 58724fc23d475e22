"""Import MAGMA's published checkpoint into a folder `--model magma:<folder>` loads.

The checkpoint (`mp_rank_00_model_states.pt`, about 12 GB, huggingface.co/Aleph-Alpha/
magma-research) is a DeepSpeed file whose "module" entry is the state dict of MAGMA's
`Magma` module. Its names differ from ours in ways a strict=False load would silently
skip, so every key goes through the explicit map in keys.py and the import reports
what it mapped, dropped (with why), could not place (unexpected) and did not find
(missing). A 12 GB file is memory-mapped, never read whole, and written back in shards.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from illume.models.magma.keys import map_key
from illume.models.magma.magma_vlm import (
    WEIGHTS_INDEX,
    MagmaConfig,
    MagmaVLM,
    magma_tokenizer,
)

log = logging.getLogger(__name__)


class MagmaImportError(ValueError):
    """The checkpoint does not fit the chosen architecture; `report` says how."""

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report


@dataclass
class ImportReport:
    """What an import did with every key of the checkpoint."""

    checkpoint: str
    variant: str
    out: str | None = None
    mapped: int = 0
    """Checkpoint tensors written under our names."""
    dropped: dict[str, list[str]] = field(default_factory=dict)
    """Reason -> checkpoint keys deliberately not imported."""
    unexpected: list[str] = field(default_factory=list)
    """Checkpoint keys with no place in the model (no rule, or a weight the model lacks)."""
    missing: list[str] = field(default_factory=list)
    """Model weights the checkpoint does not provide."""
    mismatched: list[str] = field(default_factory=list)
    """Weights whose shapes differ beyond the known vocabulary padding."""
    notes: list[str] = field(default_factory=list)
    """Conversions applied (vocabulary padding, dtype casts, filled-in adapters)."""

    def summary(self) -> str:
        n_dropped = sum(len(v) for v in self.dropped.values())
        lines = [
            f"{self.checkpoint} as MAGMA {self.variant}: {self.mapped} mapped, "
            f"{n_dropped} dropped, {len(self.unexpected)} unexpected, "
            f"{len(self.missing)} missing, {len(self.mismatched)} mismatched"
        ]
        lines += [f"  dropped {len(keys)}: {why}" for why, keys in self.dropped.items()]
        for label, keys in (("unexpected", self.unexpected), ("missing", self.missing)):
            lines += [f"  {label}: {k}" for k in keys[:20]]
            if len(keys) > 20:
                lines.append(f"  ... {len(keys) - 20} more {label}")
        lines += [f"  mismatched: {m}" for m in self.mismatched]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def read_checkpoint(path: str | Path, trust: bool = False) -> Mapping[str, torch.Tensor]:
    """The state dict inside a MAGMA checkpoint, memory-mapped rather than read into RAM.

    `weights_only` refuses pickled objects other than tensors and plain containers; a
    DeepSpeed file holding other objects only loads with trust=True (which runs the
    pickle's code: trusted sources only).
    """
    path = Path(path)
    log.info("reading %s (%.1f GB)", path, path.stat().st_size / 1e9)
    try:
        try:
            raw = torch.load(path, map_location="cpu", mmap=True, weights_only=not trust)
        except RuntimeError as e:  # a legacy (pre-zip) file cannot be memory-mapped
            if "mmap" not in str(e):
                raise
            log.warning("%s cannot be memory-mapped: reading it into memory", path)
            raw = torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as e:
        if trust:
            raise
        raise ValueError(
            f"{path} holds objects other than tensors; if you trust its source, import it "
            f"with trust_checkpoint=True (--trust-checkpoint): {str(e).splitlines()[0]}"
        ) from e
    state = raw.get("module", raw) if isinstance(raw, Mapping) else raw
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"{path}: no state dict found (expected a tensor dict or its 'module')")
    return state


def _fresh_adapter(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """An identity adapter's tensor: zero up-projection, seeded uniform down-projection.

    The up-projection being zero is what makes it the identity; the down-projection only
    needs to be non-degenerate so tuning can start (nn.Linear's bound, zero bias).
    """
    if ".adapter.up." in name or len(shape) == 1:
        return torch.zeros(shape)
    bound = shape[-1] ** -0.5
    return torch.empty(shape).uniform_(-bound, bound, generator=generator)


def import_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    variant: str = "v1",
    tokenizer: str | None = None,
    *,
    dtype: str | None = None,
    allow_missing: bool = False,
    allow_unexpected: bool = False,
    trust_checkpoint: bool = False,
    overwrite: bool = False,
    shard_bytes: int = 2 * 1024**3,
    **overrides,
) -> ImportReport:
    """Map MAGMA's checkpoint onto MagmaVLM and write an imported folder.

    variant picks the adapter layout ("v1": MLP only, factor 4, the published checkpoint;
    "v2": MLP + attention, factor 8); `overrides` are further MagmaConfig fields (tests
    build tiny ones). tokenizer is a folder or hub id with GPT-2's tokenizer (default
    "gpt2"). dtype casts floating weights (default: keep the checkpoint's, fp16).
    Missing weights fail the import unless allow_missing, which fills missing adapters with
    identity ones (any other missing weight has no sensible value and still fails);
    unexpected keys fail it unless allow_unexpected. Nothing is written when it fails.
    """
    config = MagmaConfig(variant=variant, **overrides)
    assert config.adapters is not None
    report = ImportReport(str(checkpoint), variant)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty (overwrite=True replaces it)")
    with torch.device("meta"):
        expected = {k: v.shape for k, v in MagmaVLM(config).state_dict().items()}
    source = read_checkpoint(checkpoint, trust_checkpoint)
    log.info("checkpoint holds %d tensors; the model expects %d", len(source), len(expected))

    tensors: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key in sorted(source):
        ours, reason = map_key(key, config.adapters)
        if reason is not None:
            report.dropped.setdefault(reason, []).append(key)
        elif ours is None or ours not in expected:
            report.unexpected.append(key if ours is None else f"{key} (-> {ours}, not in model)")
        elif ours in tensors:
            raise MagmaImportError(f"{key} and {origin[ours]} both map to {ours}", report)
        else:
            tensors[ours], origin[ours] = source[key], key
    report.mapped = len(tensors)
    n_dropped = sum(len(v) for v in report.dropped.values())
    log.info(
        "mapped %d tensors, dropped %d, %d unexpected",
        report.mapped,
        n_dropped,
        len(report.unexpected),
    )

    for name, tensor in tensors.items():
        want = expected[name]
        if tensor.shape == want:
            continue
        vocab_rows = name in ("lm.transformer.wte.weight", "lm.lm_head.weight", "lm.lm_head.bias")
        if vocab_rows and tensor.shape[1:] == want[1:] and tensor.shape[0] < want[0]:
            padded = tensor.new_zeros(want)
            padded[: tensor.shape[0]] = tensor
            tensors[name] = padded
            report.notes.append(f"{name}: zero-padded {tensor.shape[0]} -> {want[0]} rows")
        else:
            report.mismatched.append(
                f"{origin[name]} {tuple(tensor.shape)} -> {name} {tuple(want)}"
            )

    report.missing = sorted(set(expected) - set(tensors))
    if allow_missing:
        gen = torch.Generator().manual_seed(0)
        for name in [m for m in report.missing if ".adapter." in m]:
            tensors[name] = _fresh_adapter(name, expected[name], gen)
            report.notes.append(f"{name}: not in the checkpoint, identity adapter")
    _check(report, config, tensors, allow_missing, allow_unexpected)

    tok = magma_tokenizer(tokenizer, max_length=config.gptj.get("n_positions", 2048))
    if len(tok) > config.gptj["vocab_size"]:
        raise MagmaImportError(
            f"the tokenizer has {len(tok)} tokens, the model {config.gptj['vocab_size']}", report
        )
    report.out = str(out)
    _write_folder(out, tensors, config, tok, report, dtype, shard_bytes)
    log.info("%s", report.summary())
    return report


def _check(report, config, tensors, allow_missing, allow_unexpected) -> None:
    """Fail with a message that says what is wrong and what to try."""
    problems = []
    still_missing = [m for m in report.missing if m not in tensors]
    if still_missing and not allow_missing:
        problems.append(f"{len(still_missing)} missing, e.g. {still_missing[:5]}")
    elif still_missing:
        other = [m for m in still_missing if ".adapter." not in m]
        if other:
            problems.append(f"{len(other)} missing weights that are not adapters: {other[:5]}")
    if report.unexpected and not allow_unexpected:
        problems.append(f"{len(report.unexpected)} unexpected, e.g. {report.unexpected[:5]}")
    if report.mismatched:
        problems.append(f"shapes differ: {report.mismatched[:5]}")
    if not problems:
        return
    hints = []
    adapter_trouble = report.mismatched + report.unexpected + still_missing
    if any(".adapter." in k for k in adapter_trouble):
        other = "v2" if config.variant == "v1" else "v1"
        hints.append(f"the adapters do not fit variant {config.variant}: try variant={other!r}")
    message = f"{report.checkpoint} does not fit MAGMA {config.variant}: " + "; ".join(problems)
    raise MagmaImportError(message + "".join(f" ({h})" for h in hints), report)


def _write_folder(
    out: Path,
    tensors: dict[str, torch.Tensor],
    config: MagmaConfig,
    tokenizer: Any,
    report: ImportReport,
    dtype: str | None,
    shard_bytes: int,
) -> None:
    """Shards of at most `shard_bytes`, the index, model.json and the tokenizer, atomically.

    Each shard's tensors are cast and written, then released, so a dtype conversion of a
    12 GB checkpoint never holds more than one shard of converted copies.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    cast = getattr(torch, dtype) if dtype else None
    if cast is not None:
        report.notes.append(f"floating weights cast to {dtype}")
    weight_map: dict[str, str] = {}
    names = sorted(tensors)
    shards: list[list[str]] = [[]]
    size = 0
    for name in names:
        nbytes = tensors[name].numel() * (cast.itemsize if cast else tensors[name].element_size())
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    try:
        for i, shard in enumerate(shards, 1):
            file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            part = {}
            for name in shard:
                t = tensors[name]
                if cast is not None and t.is_floating_point():
                    t = t.to(cast)
                part[name] = t.contiguous()
                weight_map[name] = file
            save_file(part, str(tmp / file), metadata={"format": "pt"})
            log.info("wrote %s (%d tensors, %d/%d)", file, len(part), i, len(shards))
            del part
        index = {"metadata": {"source": report.checkpoint}, "weight_map": weight_map}
        (tmp / WEIGHTS_INDEX).write_text(json.dumps(index, indent=1))
        meta = {
            "family": "magma",
            "config": config.to_dict(),
            "import": {"checkpoint": report.checkpoint, "notes": report.notes,
                       "dropped": {k: len(v) for k, v in report.dropped.items()}},
        }  # fmt: skip
        (tmp / "model.json").write_text(json.dumps(meta, indent=2))
        tokenizer.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
