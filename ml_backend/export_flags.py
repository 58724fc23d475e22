"""The flags of `illume export`, in a module of their own: the `illume` command line
registers them without importing the export (and its datasets/pyarrow) at start-up."""

from __future__ import annotations

import argparse


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `illume export`."""
    p.add_argument("--project", required=True, type=int, help="Label Studio project id")
    p.add_argument(
        "--format",
        choices=["jsonl", "vqax", "hf", "imagefolder"],
        default="jsonl",
        help="jsonl (one record per task), vqax (VQA-X's JSON), hf (a Hub dataset folder: "
        "Parquet with images + card) or imagefolder (images + metadata.jsonl); default jsonl",
    )
    p.add_argument("--out", required=True, help="output file (jsonl, vqax) or folder")
    p.add_argument(
        "--with-model",
        action="store_true",
        help="also copy the project's newest tuned version with a model card",
    )
    p.add_argument("--model-out", help="folder for --with-model (default: OUT-model)")
    p.add_argument(
        "--push-to-hub",
        metavar="REPO",
        help="upload the hf folder as dataset REPO (and the adapters as model REPO) "
        "through huggingface_hub; needs a token (HF_TOKEN or `hf auth login`)",
    )
    p.add_argument("--private", action="store_true", help="create the hub repositories private")
    p.add_argument(
        "--annotator-emails",
        action="store_true",
        help="name annotators by their Label Studio e-mail address (personal data: only for "
        "data that stays inside the team); default: stable pseudonyms annotator-<user id>",
    )
