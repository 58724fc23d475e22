"""A team's items as Label Studio task rows (the part of `illume import` without a server).

Two sources: an items JSONL (the format every `illume` command reads, see
README) or a folder of images plus a CSV with one row per question. Images
reach Label Studio in one of two ways, because the labeling page loads them
from Label Studio, never from this machine:

- local files under the folder Label Studio serves
  (`LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`, with
  `LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true` on the server): the task
  URL is `/data/local-files/?d=<path below that folder>`; images elsewhere
  are copied below it when asked (`copy_to`), else the item is refused;
- URLs kept as they are: `http(s)://` (the browser fetches them) and cloud
  URLs (`s3://`, `gs://`, `azure-blob://`), which Label Studio signs once
  the matching cloud storage is added to the project (docs/guide/import.md).

Reference rationales go into the task data under `explanations`, the same key
as in items files, so the progress page can compare the automatic critic with
the annotators and `illume export` rows read like items again.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illume.items import Item, ItemError, load_items
from ml_backend.tasks import REFERENCES

CLOUD_SCHEMES = ("s3://", "gs://", "azure-blob://")
"""Image URLs Label Studio resolves through a project's cloud storage."""
WEB_SCHEMES = ("http://", "https://")
LOCAL_FILES_URL = "/data/local-files/?d="


class ImportError_(ValueError):
    """The input as a whole cannot be imported (the command says why and exits 2)."""


@dataclass
class Prepared:
    """Task rows ready for Label Studio, the items refused (id, why), the storage folders."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    """First-level folders below the document root that hold images (one storage each)."""
    cloud: set[str] = field(default_factory=set)
    """Cloud URL schemes seen (their storage has to exist in Label Studio)."""


def read_items(items: str | None = None, images: str | None = None, csv_file: str | None = None):
    """Items and per-item errors from an items JSONL, or an image folder plus a CSV."""
    if items and (images or csv_file):
        raise ImportError_("give either --items or --images with --csv, not both")
    if items:
        if not Path(items).is_file():
            raise ImportError_(f"no items file {items}")
        return load_items(items)
    if not (images and csv_file):
        raise ImportError_("nothing to import: give --items F.jsonl, or --images DIR --csv F")
    return read_csv(Path(csv_file), Path(images))


def read_csv(path: Path, images: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Items from a CSV: `image` (a file in `images`, or a URL), `question`, `answer`; optional
    `id` (default: the image name and row), `split`, `phrasings` (one per line) and any
    columns named `explanation...` (each filled cell one reference rationale)."""
    if not path.is_file():
        raise ImportError_(f"no CSV file {path}")
    if not images.is_dir():
        raise ImportError_(f"no image folder {images}")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        head = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ("image", "question", "answer") if c not in head]
        if missing:
            raise ImportError_(
                f"{path}: the CSV needs the columns image, question, answer "
                f"(missing: {', '.join(missing)}; found: {', '.join(head) or 'none'})"
            )
        items, errors = [], []
        for n, raw in enumerate(reader, start=2):  # line 1 is the header
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
            rid = row.get("id") or f"{Path(row.get('image', '')).stem or 'row'}-{n}"
            record: dict[str, Any] = {
                "id": rid,
                "image": row.get("image", ""),
                "question": row.get("question", ""),
                "answer": row.get("answer", ""),
                "split": row.get("split") or "train",
                "phrasings": row.get("phrasings", ""),
                "explanations": [v for k, v in row.items() if k.startswith("explanation") and v],
            }
            try:
                items.append(Item.from_dict(record, base_dir=images))
            except ItemError as e:
                errors.append((rid, f"line {n}: {e}"))
    return items, errors


def task_row(item: Item, image_url: str) -> dict[str, Any]:
    """Task data per label_config/README.md: what the interface shows, `candidates: []` (the
    backend fills it), the item id, the references (never shown) and the split."""
    row: dict[str, Any] = {
        "image": image_url,
        "question": item.question,
        "answer": item.answer,
        "item_id": item.id,
        "candidates": [],
        REFERENCES: list(item.explanations),
        "split": item.split,
    }
    if item.phrasings:
        row["phrasings"] = "\n".join(item.phrasings)
    return row


def prepare(
    items: list[Item], document_root: str | Path | None, copy_to: str | None = None
) -> Prepared:
    """Task rows with Label Studio image URLs; an item whose image cannot be placed is refused."""
    root = Path(document_root).resolve() if document_root else None
    if copy_to is not None:
        copy_to = copy_to.strip("/")
        if not copy_to or ".." in Path(copy_to).parts:
            raise ImportError_("--copy-images needs a folder name below the document root")
        if root is None:
            raise ImportError_(_NO_ROOT)
    out = Prepared()
    for item in items:
        try:
            url = _image_url(item, root, copy_to, out)
        except ItemError as e:
            out.refused.append((item.id, str(e)))
            continue
        out.rows.append(task_row(item, url))
    return out


_NO_ROOT = (
    "local images need the folder Label Studio serves them from: set "
    "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (as on the Label Studio server, with "
    "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true) or pass --document-root"
)


def _image_url(item: Item, root: Path | None, copy_to: str | None, out: Prepared) -> str:
    ref = item.image
    if ref.startswith(WEB_SCHEMES):
        return ref
    if ref.startswith(CLOUD_SCHEMES):
        out.cloud.add(ref.split("://", 1)[0])
        return ref
    if ref.startswith(LOCAL_FILES_URL) or ref.startswith("/data/"):
        return ref  # already a Label Studio URL
    src = Path(ref).resolve()
    if not src.is_file():
        raise ItemError(f"item {item.id!r}: image {ref} not found")
    if root is None:
        raise ItemError(f"item {item.id!r}: {_NO_ROOT}")
    if src.is_relative_to(root) and len(src.relative_to(root).parts) > 1:
        rel = src.relative_to(root)
    elif copy_to is not None:
        rel = Path(copy_to) / _copy_name(src, root / copy_to)
        dest = root / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    else:
        raise ItemError(
            f"item {item.id!r}: image {ref} is not in a folder below the document root "
            f"{root} (Label Studio serves nothing else); pass --copy-images FOLDER to copy it there"
        )
    out.folders.add(rel.parts[0])
    return LOCAL_FILES_URL + rel.as_posix()


def _copy_name(src: Path, folder: Path) -> str:
    """The file's own name, unless a different file of that name is there already."""
    dest = folder / src.name
    if not dest.exists() or _digest(dest) == _digest(src):
        return src.name
    return f"{src.stem}-{_digest(src)[:8]}{src.suffix}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
