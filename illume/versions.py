"""Model versions: monotonically named folders, written atomically.

A version is complete or absent: it is written into a hidden temporary
folder and renamed into place (one atomic step on a POSIX file system), so
whoever serves the latest version never sees a half-written one.

The versions root may be a folder that several machines share (sampling
workers read it, the tuning worker writes it). A rename is atomic on NFS
too, but a folder can also arrive by other means (a copy, rsync, a restore
from a backup) file by file. So a version also counts only once its
completion marker is there, the last file written into it: readers skip a
version folder without one, and the temporary folders of a publish.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

NAME = re.compile(r"^v(\d{4,})$")

BASE_VERSION = "zero-shot"
"""The name of the untuned model (no version folder): what round 0 samples with."""

COMPLETE = "COMPLETE"
"""The completion marker: written last into a version folder; without it the folder is skipped."""


def list_versions(root: str | Path) -> list[Path]:
    """Complete versions under root (named vNNNN, with the completion marker), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if NAME.match(p.name) and is_complete(p)]
    return sorted(found, key=lambda p: int(NAME.match(p.name).group(1)))


def is_complete(path: str | Path) -> bool:
    """Does this version folder hold its completion marker (written last)?"""
    return (Path(path) / COMPLETE).is_file()


def mark_complete(path: str | Path) -> None:
    """Write the completion marker: call it after every other file of the version."""
    (Path(path) / COMPLETE).write_text("complete\n")


def latest_version(root: str | Path) -> Path | None:
    """The newest complete version under root; None while only the base model exists."""
    versions = list_versions(root)
    return versions[-1] if versions else None


def version_round(name: str | None) -> int:
    """v0003 -> 3; the base model (or no name) is round 0."""
    match = NAME.match(name or "")
    return int(match.group(1)) if match else 0


def next_name(root: str | Path) -> str:
    """The name after every vNNNN folder under root, complete or not (none is reused)."""
    root = Path(root)
    taken = (
        [int(m.group(1)) for p in root.iterdir() if (m := NAME.match(p.name))]
        if root.is_dir()
        else []
    )
    return f"v{max(taken, default=0) + 1:04d}"


def publish(
    model, root: str | Path, metrics: dict[str, Any], manifest: list[dict[str, Any]]
) -> Path:
    """Write model weights + metrics + training-set manifest as the next version."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = next_name(root)
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_version(tmp)
        (tmp / "metrics.json").write_text(json.dumps({"version": name, **metrics}, indent=2))
        # plain writes: the whole folder appears atomically below, and versions.py
        # stays free of other engine modules (items.py takes BASE_VERSION from here)
        rows = (json.dumps(row, ensure_ascii=False) + "\n" for row in manifest)
        (tmp / "manifest.jsonl").write_text("".join(rows), encoding="utf-8")
        mark_complete(tmp)
        os.rename(tmp, root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root / name


def clean_partial(root: str | Path) -> int:
    """Remove temporary folders a killed job left behind; return how many."""
    root = Path(root)
    stale = [p for p in root.glob(".tmp-v*")] if root.is_dir() else []
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)
