"""The settings of `illume export` as a dataclass, its flags generated from the fields
(`illume.configargs`), in a module of their own: the `illume` command line registers them
without importing the export (and its datasets/pyarrow) at start-up."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from illume.configargs import add_arguments

FORMATS = ("jsonl", "vqax", "hf", "imagefolder")


@dataclass
class ExportConfig:
    """What to export from which project, where, and what to publish with it."""

    project: int = field(metadata={"help": "Label Studio project id"})
    out: str = field(metadata={"help": "output file (jsonl, vqax) or folder"})
    format: str = field(
        default="jsonl",
        metadata={
            "help": "jsonl (one record per task), vqax (VQA-X's JSON), hf (a Hub dataset "
            "folder: Parquet with images + card) or imagefolder (images + metadata.jsonl)",
            "choices": FORMATS,
        },
    )
    with_model: bool = field(
        default=False,
        metadata={"help": "also copy the project's newest tuned version with a model card"},
    )
    model_out: str | None = field(
        default=None, metadata={"help": "folder for --with-model (default: OUT-model)"}
    )
    push_to_hub: str | None = field(
        default=None,
        metadata={
            "help": "upload the hf folder as dataset REPO (and the adapters as model REPO) "
            "through huggingface_hub; needs a token (HF_TOKEN or `hf auth login`)"
        },
    )
    private: bool = field(default=False, metadata={"help": "create the hub repositories private"})
    annotator_emails: bool = field(
        default=False,
        metadata={
            "help": "name annotators by their Label Studio e-mail address (personal data: only "
            "for data that stays inside the team); default: stable pseudonyms "
            "annotator-<user id>"
        },
    )


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `illume export`, one per `ExportConfig` field."""
    add_arguments(p, ExportConfig)
