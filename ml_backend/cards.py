"""Dataset and model cards: the README.md a team publishes with an export.

The Hugging Face Hub reads a card's YAML header (configs, features, splits,
licence) to show and load the dataset; the Markdown below it tells people how
the data was made. Both are written from plain dicts here, so the cards can be
checked without a hub and without the `datasets` package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from illume.versions import version_round

CITATION = """@article{brack2022illume,
  title   = {{ILLUME}: Rationalizing Vision-Language Models by Interacting with their Jabber},
  author  = {Brack, Manuel and Schramowski, Patrick and Deiseroth, Bj{\\"o}rn and
             Kersting, Kristian},
  journal = {arXiv preprint arXiv:2208.08241},
  year    = {2022}
}"""
"""The ILLUME paper, which the method and this dataset's making follow."""

SOFTWARE_LICENCE = "Apache-2.0"
"""The licence of this software (LICENSE); a dataset's licence is its owners' choice."""


def personal_data_section(emails: bool) -> str:
    """What the card says about the people in the data: who annotated, how they are named."""
    who = (
        "**This export names annotators by their Label Studio e-mail address (personal "
        "data).** It was made with `--annotator-emails`; do not publish it without the "
        "annotators' consent, and prefer the default export for anything shared."
        if emails
        else "Annotators appear as stable pseudonyms (`annotator-<Label Studio user id>`): the "
        "same person has the same id in every export of the project, and only someone with "
        "access to that Label Studio can link an id to a person. No e-mail address or name "
        "is in the data."
    )
    return (
        "The rationales were ticked or typed by the project's annotators in Label Studio. "
        + who
        + " Typed rationales are free text: check them for personal information before "
        "publishing. The images and questions come from the project's owners, who are "
        "responsible for their rights and for any person shown in them.\n"
    )


LICENCE_PLACEHOLDER = (
    "No licence is set yet. Before publishing, choose one that the images, the "
    "questions and the annotators' agreements allow, and put it in the `license:` "
    "field above (now `other`)."
)


@dataclass
class Provenance:
    """How an export came about: the project, its rounds and the models behind it."""

    project: int
    title: str = ""
    label_config: str = ""
    """The project's labeling config (XML), quoted in the dataset card."""
    base_model: str = ""
    """The model family and its parts (`describe_model`)."""
    rounds: list[dict[str, Any]] = field(default_factory=list)
    """One dict per published version: version, round, and its metrics.json figures."""
    annotator_emails: bool = False
    """Whether the export names annotators by e-mail (`--annotator-emails`) or by pseudonym."""


def describe_model(meta: dict[str, Any] | None, fallback: str) -> str:
    """`family (part=..., ...)` from a version's model.json; `fallback` without one."""
    if not meta:
        return fallback
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    parts = [
        f"{k}={v}"
        for k, v in config.items()
        if k in ("lm", "encoder", "reference", "model", "source") and isinstance(v, str) and v
    ]
    family = str(meta.get("family") or "model")
    return f"{family} ({', '.join(parts)})" if parts else family


def _header(fields: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True) + "---\n"


def _table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M"


def _round_rows(rounds: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r.get("version"),
            r.get("round"),
            r.get("n_exp"),
            r.get("n_vqa"),
            r.get("best_epoch"),
            r.get("final_loss"),
            r.get("best_val_rouge"),
        )
        for r in rounds
    ]


ROUND_HEAD = (
    "version",
    "round",
    "rationales tuned on",
    "VQA examples",
    "best epoch",
    "final loss",
    "best val ROUGE-L",
)

FIELD_DOCS = (
    ("image", "the task's image, embedded (`datasets.Image`)"),
    ("task_id, item_id", "the Label Studio task and the item id the engine used"),
    ("question, answer", "what the rationale explains"),
    ("phrasings", "other phrasings of the question the candidates were sampled with (ACT-X)"),
    ("explanations", "the fitting rationales, each once"),
    (
        "fitting",
        "every fitting rationale with its `source` (a ticked `candidate` or `typed`), "
        "`annotator`, `annotation_id`, the proposing `model_version`, its `round` and "
        "the `phrasing` that produced it",
    ),
    ("rejected", "candidates an annotator saw and did not tick, with the same fields"),
)


def dataset_card(
    info: Provenance,
    counts: dict[str, int],
    splits: dict[str, int],
    dataset_info: dict[str, Any],
    versions: dict[str, int],
) -> str:
    """The dataset's README.md: the Hub's YAML header, then counts, splits and provenance.

    `dataset_info` is the features/splits mapping `datasets` writes for the
    Hub; `versions` counts fitting rationales per proposing model version.
    """
    header = {
        "license": "other",
        "pretty_name": info.title or f"Label Studio project {info.project} rationales",
        "task_categories": ["visual-question-answering"],
        "language": ["en"],
        "tags": ["rationales", "explanations", "illume", "label-studio"],
        "size_categories": [_size_category(sum(splits.values()))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits],
            }
        ],
        "dataset_info": dataset_info,
    }
    title = info.title or f"Label Studio project {info.project}"
    parts = [
        _header(header),
        f"# {title}: rationales curated with ILLUME\n",
        "Images with a question, its answer and the rationales (explanations) that "
        "annotators found fitting, plus the candidates they rejected. The rationales "
        "were proposed by a vision-language model and ticked (or typed) by people in "
        "Label Studio, round after round, as in ILLUME (Brack et al., *ILLUME: "
        "Rationalizing Vision-Language Models through Human Interactions*).\n",
        "## Counts\n",
        _table(
            ("what", "number"),
            [
                ("tasks in the project", counts.get("tasks", 0)),
                ("rows (annotated tasks with an image)", sum(splits.values())),
                ("rows with a fitting rationale", counts.get("with_rationale", 0)),
                ("fitting rationales", counts.get("rationales", 0)),
                ("rejected candidates", counts.get("rejected", 0)),
                ("annotated tasks left out: image unreadable", counts.get("images_missing", 0)),
            ],
        ),
        "## Splits\n",
        "From the tasks' `split` field; tasks without one are in `train`.\n\n"
        + _table(("split", "rows"), sorted(splits.items())),
        "## Fields\n",
        _table(("field", "what"), list(FIELD_DOCS)),
        "## How it was made\n",
        f"- Label Studio project {info.project}"
        + (f" ({info.title})" if info.title else "")
        + "; each task showed the model's candidate rationales as multiple choice.\n"
        + f"- Base model: {info.base_model or 'not recorded'}.\n"
        + f"- ILLUME rounds: {len(info.rounds)} tuned version(s) after the zero-shot one.\n",
        "\nFitting rationales per proposing model version "
        "(`zero-shot` is the untuned model, `vNNNN` the adapters of round NNNN; "
        "`typed` were written by annotators):\n\n"
        + _table(("model version", "fitting rationales"), sorted(versions.items())),
    ]
    if info.rounds:
        parts.append("\nThe rounds (from each version's metrics.json):\n\n")
        parts.append(_table(ROUND_HEAD, _round_rows(info.rounds)))
    if info.label_config.strip():
        parts.append(
            "\nThe labeling interface:\n\n```xml\n" + info.label_config.strip() + "\n```\n"
        )
    parts += [
        "\n## Annotators and personal information\n",
        personal_data_section(info.annotator_emails),
        "\n## Licence\n",
        LICENCE_PLACEHOLDER
        + f" The software that made it (ILLUME for Label Studio) is {SOFTWARE_LICENCE}; "
        "that licence does not cover the data.\n",
        "\n## Citation\n",
        "The method is ILLUME; if you use this dataset, please cite:\n\n```bibtex\n"
        + CITATION
        + "\n```\n",
    ]
    return "\n".join(p.rstrip("\n") + "\n" for p in parts)


def model_card(info: Provenance, version: str, counts: dict[str, int], dataset: str = "") -> str:
    """The adapters' README.md: base model, rounds, rationale counts and the tuning figures."""
    header: dict[str, Any] = {
        "license": "other",
        "tags": ["illume", "rationales", "adapters", "vision-language"],
    }
    if dataset:
        header["datasets"] = [dataset]
    parts = [
        _header(header),
        f"# ILLUME adapters {version}"
        + (f" for {info.title}" if info.title else f" for project {info.project}")
        + "\n",
        "Adapters tuned with ILLUME on rationales annotators ticked in Label Studio: "
        "the model proposed candidate rationales, people kept the fitting ones, and "
        "each round tuned the adapters on them (the base model stays frozen).\n",
        f"- Base model: {info.base_model or 'not recorded'}\n"
        f"- Rounds: {len(info.rounds)} (this folder is {version}, round {version_round(version)})\n"
        f"- Feedback in the project: {counts.get('rationales', 0)} fitting rationales on "
        f"{counts.get('with_rationale', 0)} tasks, {counts.get('rejected', 0)} "
        "rejected candidates\n",
        "\n## Rounds\n",
        _table(ROUND_HEAD, _round_rows(info.rounds)),
        "\n## Use\n",
        "```bash\nillume sample --model <the base model> --model-version <this folder> "
        "--items items.jsonl --out candidates.jsonl\n```\n",
        "`model.json` names the model family and its parts; `metrics.json` holds the "
        "tuning figures of this round, `manifest.jsonl` the examples it was tuned on.\n",
        "\n## Licence\n",
        "No licence is set yet: the adapters inherit the base model's terms and the "
        "data's; set `license:` above before publishing.\n",
    ]
    return "\n".join(p.rstrip("\n") + "\n" for p in parts)
