"""The export as a team publishes it: a Hugging Face dataset folder and the adapters.

`write_dataset` writes Parquet files per split under data/ (the images embedded
as `datasets.Image`, so the folder travels alone) and a dataset card, so
`datasets.load_dataset(folder)` and the Hub read it alike. `write_model`
copies the project's newest version with a model card; `push` uploads either
folder through huggingface_hub. Nothing here reaches a hub unless `push` is called.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from illume.images import ImageError
from illume.versions import version_round
from ml_backend.cards import Provenance, dataset_card, model_card

log = logging.getLogger(__name__)

SPLIT_NAME = re.compile(r"^\w+$")
DEFAULT_SPLIT = "train"


def _features():
    """The dataset's columns (imported late: only this format needs `datasets`)."""
    from datasets import Features, Image, List, Value

    rationale = {
        "text": Value("string"),
        "source": Value("string"),
        "annotator": Value("string"),
        "annotation_id": Value("int64"),
        "model_version": Value("string"),
        "round": Value("int64"),
        "phrasing": Value("string"),
    }
    return Features(
        {
            "image": Image(),
            "task_id": Value("int64"),
            "item_id": Value("string"),
            "question": Value("string"),
            "answer": Value("string"),
            "phrasings": List(Value("string")),
            "explanations": List(Value("string")),
            "fitting": List(rationale),
            "rejected": List({k: v for k, v in rationale.items() if k != "source"}),
        }
    )


def split_of(record: dict[str, Any]) -> str:
    """The record's split (a task-data `split` that is a plain word), else train."""
    split = record.get("split")
    return split if isinstance(split, str) and SPLIT_NAME.match(split) else DEFAULT_SPLIT


def _rationale(r: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = {k: r.get(k) for k in keys}
    out["annotator"] = None if out["annotator"] is None else str(out["annotator"])
    aid = out["annotation_id"]
    out["annotation_id"] = aid if isinstance(aid, int) else None
    return out


def row(record: dict[str, Any], image: bytes, name: str, texts: list[str]) -> dict[str, Any]:
    """One dataset row from an export record (`export.task_record`) and its image bytes."""
    fit_keys = (
        "text",
        "source",
        "annotator",
        "annotation_id",
        "model_version",
        "round",
        "phrasing",
    )
    rej_keys = tuple(k for k in fit_keys if k != "source")
    return {
        "image": {"bytes": image, "path": name},
        "task_id": record["task_id"],
        "item_id": record["item_id"],
        "question": record["question"],
        "answer": record["answer"],
        "phrasings": record.get("phrasings") or [],
        "explanations": texts,
        "fitting": [_rationale(f, fit_keys) for f in record["fitting"]],
        "rejected": [_rationale(r, rej_keys) for r in record["rejected"]],
    }


def write_dataset(
    out: Path,
    records: list[dict[str, Any]],
    read_image: Callable[[str], Path],
    texts: Callable[[dict[str, Any]], list[str]],
    info: Provenance,
    counts: dict[str, int],
) -> dict[str, int]:
    """data/<split>-00000-of-00001.parquet + README.md for every annotated task.

    `read_image` turns a task's image reference into a local file (ImageError
    if it cannot); a task whose image fails is left out and counted in the
    returned `images_missing`. Returns rows per split and images_missing.
    """
    import datasets

    datasets.disable_progress_bars()
    features = _features()
    by_split: dict[str, list[dict[str, Any]]] = {}
    missing = 0
    for r in records:
        if not r["annotations"]:
            continue
        try:
            src = read_image(str(r["image"]))
            image = src.read_bytes()
        except (ImageError, OSError) as e:
            log.warning("task %s: image not exported: %s", r["task_id"], e)
            missing += 1
            continue
        name = f"task-{r['task_id']}{src.suffix or '.jpg'}"
        by_split.setdefault(split_of(r), []).append(row(r, image, name, texts(r)))
    if not by_split:
        by_split[DEFAULT_SPLIT] = []
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)  # a re-export replaces the files; stale splits would linger
    data.mkdir(parents=True)
    splits = datasets.SplitDict()
    for split, rows in sorted(by_split.items()):
        ds = datasets.Dataset.from_list(rows, features=features, split=split)
        ds.to_parquet(str(data / f"{split}-00000-of-00001.parquet"))
        splits.add(datasets.SplitInfo(split, num_bytes=ds.data.nbytes, num_examples=len(ds)))
    meta = datasets.DatasetInfo(features=features, splits=splits)._to_yaml_dict()
    every = [r for rows in by_split.values() for r in rows]
    versions = Counter(f["model_version"] or "typed" for r in every for f in r["fitting"])
    sizes = {s: len(rows) for s, rows in by_split.items()}
    in_rows = {
        "tasks": counts.get("tasks", 0),
        "with_rationale": sum(1 for r in every if r["fitting"]),
        "rationales": sum(len(r["fitting"]) for r in every),
        "rejected": sum(len(r["rejected"]) for r in every),
        "images_missing": missing,
    }
    card = dataset_card(info, in_rows, sizes, meta, dict(versions))
    (out / "README.md").write_text(card, encoding="utf-8")
    return {**{f"rows_{s}": n for s, n in sorted(sizes.items())}, "images_missing": missing}


def read_rounds(versions_root: Path) -> list[dict[str, Any]]:
    """Each published version's figures from its metrics.json, oldest first."""
    from illume.versions import list_versions

    rounds = []
    for v in list_versions(versions_root):
        try:
            m = json.loads((v / "metrics.json").read_text())
        except (OSError, ValueError):
            m = {}
        losses, val = m.get("losses") or [], m.get("val_rouge") or []
        best = m.get("best_epoch")
        rounds.append(
            {
                "version": v.name,
                "round": version_round(v.name),
                "n_exp": m.get("n_exp"),
                "n_vqa": m.get("n_vqa"),
                "best_epoch": best + 1 if isinstance(best, int) and best >= 0 else None,
                "final_loss": round(losses[-1], 4) if losses else None,
                "best_val_rouge": round(max(val), 4) if val else None,
            }
        )
    return rounds


def model_meta(version: Path | None) -> dict[str, Any] | None:
    """A version's model.json (None without a version or a readable file)."""
    try:
        return json.loads((version / "model.json").read_text()) if version else None
    except (OSError, ValueError):
        return None


def write_model(
    out: Path, version: Path, info: Provenance, counts: dict[str, int], dataset: str = ""
) -> Path:
    """Copy the version folder to `out` and add its model card (README.md)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(version, out)
    card = model_card(info, version.name, counts, dataset)
    (out / "README.md").write_text(card, encoding="utf-8")
    return out


def push(folder: Path, repo: str, repo_type: str, private: bool = False, api=None) -> str:
    """Create `repo` (if needed) and upload `folder` to it; return the commit URL.

    Uses huggingface_hub's token (HF_TOKEN or `hf auth login`). `api` replaces
    HfApi in tests, which never reach a hub.
    """
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id=repo, repo_type=repo_type, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo,
        repo_type=repo_type,
        folder_path=str(folder),
        commit_message="ILLUME export",
    )
    return str(getattr(info, "commit_url", info))
