"""`illume export`: the curated rationale dataset, pulled from Label Studio through the SDK.

Formats:
  jsonl        one record per task: image, question, answer, split, phrasings, fitting
               rationales (ticked or typed, with annotator, annotation id, the model
               version that proposed each, its round and the question phrasing that
               produced it), rejected candidates, per-task errors.
  vqax         VQA-X-style JSON (question id -> question, answers, explanation,
               image_name): loadable by `illume data vqa-x` and by VQA-X tooling.
  hf           a Hugging Face dataset folder: data/<split>-*.parquet with the images
               embedded (datasets.Image) and a dataset card (README.md), so
               `datasets.load_dataset(OUT)` and the Hub read it; one row per annotated
               task. --push-to-hub REPO uploads it.
  imagefolder  the older layout: images/ + metadata.jsonl
               (`datasets.load_dataset("imagefolder", data_dir=OUT)`).

--with-model copies the project's newest tuned version (its adapters) with a model
card to --model-out (default: OUT-model); --push-to-hub pushes it too, as a model
repository of the same name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from illume.images import ImageError
from illume.items import parse_phrasings, write_jsonl
from illume.rationales import unique
from illume.versions import latest_version, version_round
from ml_backend import hfexport, lsclient, tasks
from ml_backend.cards import Provenance, describe_model
from ml_backend.config import Settings
from ml_backend.export_flags import add_export_arguments
from ml_backend.labels import DEFAULT_LABELS, Labels, task_verdicts
from ml_backend.task_images import ImageResolver

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "vqax", "hf", "imagefolder")


def pseudonym(who: Any) -> str | None:
    """A stable pseudonymous annotator id: `annotator-<Label Studio user id>`, which only
    someone with access to that Label Studio can link to a person; a name without an id
    (an e-mail) becomes an unsalted hash of it, stable across exports."""
    if who is None or who == "":
        return None
    if isinstance(who, int) or (isinstance(who, str) and who.isdigit()):
        return f"annotator-{who}"
    return "annotator-" + hashlib.sha256(str(who).strip().lower().encode()).hexdigest()[:12]


def annotator_names(users: dict[int, str], emails: bool) -> Callable[[Any], Any]:
    """How the export names an annotator: a pseudonym by default, the e-mail with `emails`."""
    if not emails:
        return pseudonym
    return lambda who: users.get(who, who) if isinstance(who, int) else who


def task_record(
    task: dict[str, Any],
    users: dict[int, str],
    labels: Labels = DEFAULT_LABELS,
    emails: bool = False,
) -> dict[str, Any]:
    """One exported record: the item, what annotators found fitting and what they rejected.
    Annotators are pseudonyms unless `emails` (their e-mail addresses from `users`)."""
    name = annotator_names(users, emails)
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    sets = tasks.candidate_sets(data)
    phrasings = parse_phrasings(data.get("phrasings")) or []
    # without phrasings every candidate came from the question; with them, only
    # candidates_meta knows (older candidates made before it was recorded: unknown)
    question = None if phrasings else data.get("question")
    fitting, rejected, annotations = [], [], []
    for fb in task_verdicts(task, labels):
        who = name(fb.annotator)
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
                    "phrasing": _phrasing(sets, text, proposer, question),
                    "explanation": _explanation(sets, text, proposer),
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
                    "phrasing": None,
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
                        "phrasing": _phrasing(sets, text, version, question),
                        "explanation": _explanation(sets, text, version),
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
        "split": data.get("split"),
        "phrasings": phrasings,
        "fitting": fitting,
        "rejected": rejected,
        "annotations": annotations,
        "candidates_version": data.get("candidates_version"),
        "error": data.get("candidates_error"),
    }


def _phrasing(sets: list[dict[str, Any]], text: str, version: str | None, question: Any):
    """The question phrasing that produced a candidate: recorded with it, else `question`."""
    return tasks.candidate_meta(sets, text, version).get("phrasing") or question


def _explanation(sets: list[dict[str, Any]], text: str, version: str | None) -> str | None:
    """The explanation prompt ("because", a top-up's "since") a candidate was sampled under,
    as recorded with it (None for candidates made before it was recorded)."""
    return tasks.candidate_meta(sets, text, version).get("explanation")


def provenance(client, project: int, versions: Path | None, label_config: str = "") -> Provenance:
    """What the cards say about how the data was made: project, interface, model, rounds."""
    newest = latest_version(versions) if versions else None
    fallback = os.environ.get("ILLUME_MODEL") or "embedded"
    return Provenance(
        project=project,
        title=lsclient.project_title(client, project),
        label_config=label_config,
        base_model=describe_model(hfexport.model_meta(newest), fallback),
        rounds=hfexport.read_rounds(versions) if versions else [],
    )


def export_project(
    client,
    project: int,
    fmt: str,
    out: str | Path,
    resolver: ImageResolver | None = None,
    versions: Path | None = None,
    emails: bool = False,
) -> dict[str, int]:
    """Write the project's dataset in `fmt` to `out`; return counts for the summary line.

    `versions` (the project's version folder) feeds the hf dataset card's rounds.
    Annotators appear as pseudonyms (`pseudonym`); `emails` writes their e-mail addresses.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in ("hf", "imagefolder") and resolver is None:
        raise ValueError(f"the {fmt} format copies images: it needs an image resolver")
    users = lsclient.user_emails(client) if emails else {}
    config = ""
    try:
        config = lsclient.label_config(client, project)
        labels = Labels.from_config(config)
    except lsclient.LabelStudioError as e:
        log.warning("%s; default control names", e)
        labels = DEFAULT_LABELS
    records = [task_record(t, users, labels, emails) for t in lsclient.iter_tasks(client, project)]
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
    elif fmt == "imagefolder":
        counts["images_missing"] = write_imagefolder(out, records, resolver)
    else:
        info = provenance(client, project, versions, config)
        info.annotator_emails = emails
        counts.update(
            hfexport.write_dataset(
                out, records, lambda ref: _local_image(resolver, ref), _texts, info, counts
            )
        )
    return counts


def _local_image(resolver: ImageResolver, ref: str) -> Path:
    """The task image as a local file, or ImageError."""
    src = Path(resolver.resolve(ref))
    if not src.is_file():
        raise ImageError(f"{ref}: not a local file")
    return src


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


def write_imagefolder(out: Path, records: list[dict[str, Any]], resolver: ImageResolver) -> int:
    """images/ + metadata.jsonl (imagefolder convention); returns how many images failed."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows, missing = [], 0
    for r in records:
        if not r["fitting"]:
            continue
        try:
            src = _local_image(resolver, str(r["image"]))
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
    add_export_arguments(ap)
    return ap


def publish(
    args: argparse.Namespace, client, settings: Settings, counts: dict[str, int], push=hfexport.push
) -> list[str]:
    """--with-model and --push-to-hub after the dataset is written; returns summary lines.

    `push` is hfexport.push; tests replace it, since nothing here may reach a hub.
    """
    lines = []
    versions = settings.project_versions(args.project)
    model_out = None
    if args.with_model:
        newest = latest_version(versions)
        if newest is None:
            lines.append("no tuned version yet: no adapters exported")
        else:
            info = provenance(client, args.project, versions)
            model_out = Path(args.model_out or f"{str(args.out).rstrip('/')}-model")
            hfexport.write_model(model_out, newest, info, counts, args.push_to_hub or "")
            lines.append(f"adapters {newest.name} -> {model_out}")
    if args.push_to_hub:
        url = push(Path(args.out), args.push_to_hub, "dataset", args.private)
        lines.append(f"dataset pushed to {args.push_to_hub}: {url}")
        if model_out is not None:
            url = push(model_out, args.push_to_hub, "model", args.private)
            lines.append(f"adapters pushed to {args.push_to_hub}: {url}")
    return lines


def run(args: argparse.Namespace, push=hfexport.push) -> int:
    """The export command; reads LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from the environment."""
    if args.push_to_hub is not None and args.format != "hf":
        return _fail("--push-to-hub needs --format hf")
    if args.push_to_hub is not None and args.push_to_hub.count("/") != 1:
        return _fail(f"--push-to-hub wants a repository as owner/name, got {args.push_to_hub!r}")
    if args.project < 1:
        return _fail(f"--project is a Label Studio project id (1 or more), got {args.project}")
    settings = Settings.from_env()
    try:
        client = lsclient.make_client(settings)
        if not lsclient.project_exists(client, args.project):
            return _fail(f"project {args.project} does not exist")
        resolver = ImageResolver(
            settings.label_studio_url,
            lambda: lsclient.auth_headers(client),
            settings.data_dir / "image-cache",
            settings.local_files_root,
        )
        versions = settings.project_versions(args.project)
        counts = export_project(
            client, args.project, args.format, args.out, resolver, versions, args.annotator_emails
        )
    except lsclient.LabelStudioError as e:  # no token, refused, unreachable
        return _fail(str(e))
    print(
        f"project {args.project} -> {args.out} ({args.format}): "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    for line in publish(args, client, settings, counts, push):
        print(line)
    return 0


def _fail(msg: str) -> int:
    print(f"illume export: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
