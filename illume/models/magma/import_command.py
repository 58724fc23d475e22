"""`illume magma-import`: options and entry point, kept free of torch/transformers imports.

The import itself (importer.py) loads transformers; `illume --help` should not.
"""

from __future__ import annotations

import argparse
import sys

VARIANTS = ("v1", "v2")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `illume magma-import`."""
    p.add_argument(
        "--checkpoint",
        required=True,
        help="MAGMA's mp_rank_00_model_states.pt (a DeepSpeed file) or a bare state dict",
    )
    p.add_argument("--out", required=True, help="folder to write; then --model magma:<folder>")
    p.add_argument(
        "--variant",
        choices=VARIANTS,
        default="v1",
        help="adapter layout: v1 = after each MLP, factor 4 (the published checkpoint); "
        "v2 = after each MLP and attention, factor 8",
    )
    p.add_argument("--tokenizer", help="folder or hub id with GPT-2's tokenizer (default: gpt2)")
    p.add_argument(
        "--dtype",
        choices=["float16", "bfloat16", "float32"],
        help="cast the weights (default: keep the checkpoint's float16)",
    )
    p.add_argument(
        "--allow-missing", action="store_true", help="give missing adapters identity weights"
    )
    p.add_argument(
        "--allow-unexpected", action="store_true", help="import despite keys with no place"
    )
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="unpickle non-tensor objects in the file (runs code: trusted sources only)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")


def main(args: argparse.Namespace) -> int:
    """Run an import from parsed options and print its report: 2 for a wrong call (no such
    checkpoint, --out in the way), 1 when the checkpoint does not fit (the report says why)."""
    from pathlib import Path

    from illume.models.magma.importer import MagmaImportError, import_checkpoint

    if not Path(args.checkpoint).is_file():
        print(f"illume magma-import: error: no checkpoint file {args.checkpoint}", file=sys.stderr)
        return 2

    try:
        report = import_checkpoint(
            args.checkpoint,
            args.out,
            args.variant,
            args.tokenizer,
            dtype=args.dtype,
            allow_missing=args.allow_missing,
            allow_unexpected=args.allow_unexpected,
            trust_checkpoint=args.trust_checkpoint,
            overwrite=args.overwrite,
        )
    except MagmaImportError as e:
        print(e.report.summary(), file=sys.stderr)
        print(f"error: {e}", file=sys.stderr)
        return 1
    except FileExistsError as e:
        print(f"illume magma-import: error: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"use it with: --model magma:{report.out}")
    return 0
