"""`illume export`: the curated rationale dataset, pulled from Label Studio through the SDK.

Formats:
  jsonl  one record per task: image, question, answer, fitting rationales
         (ticked or typed, with annotator, annotation id, the model version that
         proposed each and its round), rejected candidates, per-task errors.
  vqax   VQA-X-style JSON (question id -> question, answers, explanation, image_name):
         loadable by `illume data vqa-x` and by VQA-X tooling.
  hf     a Hugging Face "imagefolder" folder: images/ + metadata.jsonl, so
         `datasets.load_dataset("imagefolder", data_dir=OUT)` reads it.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from illume.images import ImageError
from illume.items import write_jsonl
from illume.rationales import unique
from illume.versions import version_round
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.images import ImageResolver
from ml_backend.labels import DEFAULT_LABELS, Labels, task_verdicts

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "vqax", "hf")


def task_record(
    task: dict[str, Any], users: dict[int, str], labels: Labels = DEFAULT_LABELS
) -> dict[str, Any]:
    """One exported record: the item, what annotators found fitting and what they rejected."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    sets = tasks.candidate_sets(data)
    fitting, rejected, annotations = [], [], []
    for fb in task_verdicts(task, labels):
        who = (
            users.get(fb.annotator, fb.annotator) if isinstance(fb.annotator, int) else fb.annotator
        )
        shown = tasks.shown_at(sets, fb.created_at)
        version = shown.get("version")
        base = {"annotator": who, "annotation_id": fb.annotation_id}
        for text in fb.ticked:
            proposer = tasks.proposer(sets, text, version)
            fitting.append(
                {
                    "text": text,
                    "source": "candidate",
                    "model_version": proposer,
                    "round": version_round(proposer),
                    **base,
                }
            )
        for text in fb.typed:
            fitting.append(
                {
                    "text": text,
                    "source": "typed",
                    "model_version": None,
                    "round": version_round(version),
                    **base,
                }
            )
        for text in shown["texts"]:
            if text not in fb.ticked:
                rejected.append(
                    {
                        "text": text,
                        "model_version": version,
                        "round": version_round(version),
                        **base,
                    }
                )
        annotations.append(
            {
                "id": fb.annotation_id,
                "annotator": who,
                "none_fits": fb.none_fits,
                "created_at": fb.created_at,
                "candidates_version": version,
            }
        )
    return {
        "task_id": task.get("id"),
        "item_id": data.get("item_id"),
        "image": data.get("image"),
        "question": data.get("question"),
        "answer": data.get("answer"),
        "fitting": fitting,
        "rejected": rejected,
        "annotations": annotations,
        "candidates_version": data.get("candidates_version"),
        "error": data.get("candidates_error"),
    }


def export_project(
    client, project: int, fmt: str, out: str | Path, resolver: ImageResolver | None = None
) -> dict[str, int]:
    """Write the project's dataset in `fmt` to `out`; return counts for the summary line."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    users = lsclient.user_emails(client)
    try:
        labels = Labels.from_config(lsclient.label_config(client, project))
    except lsclient.LabelStudioError as e:
        log.warning("%s; default control names", e)
        labels = DEFAULT_LABELS
    records = [task_record(t, users, labels) for t in lsclient.iter_tasks(client, project)]
    out = Path(out)
    counts = {
        "tasks": len(records),
        "with_rationale": sum(1 for r in records if r["fitting"]),
        "rationales": sum(len(r["fitting"]) for r in records),
        "rejected": sum(len(r["rejected"]) for r in records),
        "errors": sum(1 for r in records if r["error"]),
    }
    if fmt == "jsonl":
        write_jsonl(out, records)
    elif fmt == "vqax":
        write_vqax(out, records)
    else:
        if resolver is None:
            raise ValueError("the hf format copies images: it needs an image resolver")
        counts["images_missing"] = write_hf(out, records, resolver)
    return counts


def _texts(record: dict[str, Any]) -> list[str]:
    """The record's fitting rationales, each once (`illume.rationales.rationale_key`)."""
    return unique([f["text"] for f in record["fitting"]], text=str)


def write_vqax(out: Path, records: list[dict[str, Any]]) -> None:
    """VQA-X layout, keyed by the engine's item id (`tasks.item_id_of`)."""
    data = {}
    for r in records:
        if not r["fitting"]:
            continue
        key = tasks.item_id_of(r["item_id"], r["task_id"])
        data[key] = {
            "question": r["question"],
            "answers": [{"answer": r["answer"], "answer_confidence": "yes", "answer_id": 1}],
            "multiple_choice_answer": r["answer"],
            "image_name": r["image"],
            "explanation": _texts(r),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False))


def write_hf(out: Path, records: list[dict[str, Any]], resolver: ImageResolver) -> int:
    """images/ + metadata.jsonl (imagefolder convention); returns how many images failed."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows, missing = [], 0
    for r in records:
        if not r["fitting"]:
            continue
        try:
            src = Path(resolver.resolve(str(r["image"])))
            if not src.is_file():
                raise ImageError(f"{r['image']}: not a local file")
        except ImageError as e:
            log.warning("task %s: image not exported: %s", r["task_id"], e)
            missing += 1
            continue
        name = f"images/task-{r['task_id']}{src.suffix or '.jpg'}"
        shutil.copyfile(src, out / name)
        rows.append(
            {
                "file_name": name,
                **{k: r[k] for k in ("task_id", "item_id", "question", "answer")},
                "explanations": _texts(r),
                "fitting": r["fitting"],
                "rejected": r["rejected"],
            }
        )
    write_jsonl(out / "metadata.jsonl", rows)
    return missing


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="illume export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--project", type=int, required=True, help="Label Studio project id")
    ap.add_argument("--format", choices=FORMATS, default="jsonl")
    ap.add_argument("--out", required=True, help="output file (jsonl, vqax) or folder (hf)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point; reads LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from the environment."""
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        client = lsclient.make_client(settings)
        if not lsclient.project_exists(client, args.project):
            print(f"error: project {args.project} does not exist", file=sys.stderr)
            return 2
        resolver = ImageResolver(
            settings.label_studio_url,
            lambda: lsclient.auth_headers(client),
            settings.data_dir / "image-cache",
            settings.local_files_root,
        )
        counts = export_project(client, args.project, args.format, args.out, resolver)
    except lsclient.LabelStudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"project {args.project} -> {args.out} ({args.format}): "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
