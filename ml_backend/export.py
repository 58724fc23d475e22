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
from datetime import datetime
from pathlib import Path
from typing import Any

from illume.images import ImageError
from illume.items import write_jsonl
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.images import ImageResolver

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "vqax", "hf")


def round_of(version: str | None) -> int:
    """v0003 -> 3; the zero-shot model is round 0."""
    if version and version[:1] == "v" and version[1:].isdigit():
        return int(version[1:])
    return 0


def _when(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None


def candidate_sets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every set of candidates the task showed, oldest first: {version, generated_at, texts}."""
    sets = []
    for past in data.get("candidate_rounds") or []:
        if isinstance(past, dict):
            sets.append(past)
    sets.append(
        {
            "version": data.get("candidates_version"),
            "generated_at": data.get("candidates_generated_at"),
            "candidates": data.get("candidates_meta") or data.get("candidates") or [],
        }
    )
    for s in sets:
        s["texts"] = [
            c.get("text", c.get("value")) for c in s.get("candidates") or [] if isinstance(c, dict)
        ]
    return sets


def shown_at(sets: list[dict[str, Any]], when: datetime | None) -> dict[str, Any]:
    """The candidate set on screen when an annotation was made (the newest before it)."""
    if when is not None:
        before = [s for s in sets if (_when(s.get("generated_at")) or when) <= when]
        if before:
            return before[-1]
    return sets[-1]


def task_record(task: dict[str, Any], users: dict[int, str]) -> dict[str, Any]:
    """One exported record: the item, what annotators found fitting and what they rejected."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    sets = candidate_sets(data)
    fitting, rejected, annotations = [], [], []
    for fb in tasks.task_feedback(task):
        who = (
            users.get(fb.annotator, fb.annotator) if isinstance(fb.annotator, int) else fb.annotator
        )
        shown = shown_at(sets, _when(fb.created_at))
        version = shown.get("version")
        base = {"annotator": who, "annotation_id": fb.annotation_id}
        for text in fb.ticked:
            proposer = next(
                (s.get("version") for s in reversed(sets) if text in s["texts"]), version
            )
            fitting.append(
                {
                    "text": text,
                    "source": "candidate",
                    "model_version": proposer,
                    "round": round_of(proposer),
                    **base,
                }
            )
        for text in fb.typed:
            fitting.append(
                {
                    "text": text,
                    "source": "typed",
                    "model_version": None,
                    "round": round_of(version),
                    **base,
                }
            )
        for text in shown["texts"]:
            if text not in fb.ticked:
                rejected.append(
                    {"text": text, "model_version": version, "round": round_of(version), **base}
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
    records = [task_record(t, users) for t in lsclient.iter_tasks(client, project)]
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
    seen, out = set(), []
    for f in record["fitting"]:
        key = " ".join(f["text"].lower().split())
        if key not in seen:
            seen.add(key)
            out.append(f["text"])
    return out


def write_vqax(out: Path, records: list[dict[str, Any]]) -> None:
    """VQA-X layout, keyed by item id (task id when the task has none)."""
    data = {}
    for r in records:
        if not r["fitting"]:
            continue
        key = str(r["item_id"] or f"task-{r['task_id']}")
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
