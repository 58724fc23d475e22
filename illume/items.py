"""Records the engine passes around: items, candidates, and their JSONL files.

An *item* is one image-question-answer triple, optionally with reference
explanations (for the automatic critic and the metrics) and *facts* (what is
known to be in the image, for the fact-error rate). A *candidate* is one
sampled rationale for an item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from illume.rationales import unique
from illume.versions import BASE_VERSION

SPLITS = ("train", "val", "test")


class ItemError(ValueError):
    """An item that cannot be used, with a message fit for the output file."""


@dataclass
class Item:
    """One image-question-answer triple.

    `image` is a file path (relative paths resolve against the items file's
    folder) or an http(s) URL. `facts` maps an attribute (``colour``,
    ``shape``) to the value the image really has. `phrasings` are other ways
    to ask the same question (ACT-X has no single question; the paper samples
    jabber with each phrasing): sampling asks `questions()`, the question
    first, then each phrasing.
    """

    id: str
    image: str
    question: str
    answer: str
    explanations: list[str] = field(default_factory=list)
    split: str = "train"
    facts: dict[str, str] = field(default_factory=dict)
    phrasings: list[str] = field(default_factory=list)

    def questions(self) -> list[str]:
        """The question and its other phrasings, each once (compared as rationales are)."""
        return unique([self.question, *self.phrasings], text=str)

    @classmethod
    def from_dict(cls, raw: Any, base_dir: Path | None = None) -> Item:
        """Validate one JSON record; raise ItemError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ItemError(f"item must be a JSON object, got {type(raw).__name__}")
        missing = [k for k in ("id", "image", "question", "answer") if not raw.get(k)]
        if missing:
            raise ItemError(f"item {raw.get('id', '?')!r} lacks field(s): {', '.join(missing)}")
        for key in ("image", "question", "answer"):
            if not isinstance(raw[key], str):
                raise ItemError(f"item {raw['id']!r}: field {key!r} must be a string")
        explanations = raw.get("explanations") or []
        if not isinstance(explanations, list) or not all(isinstance(e, str) for e in explanations):
            raise ItemError(f"item {raw['id']!r}: 'explanations' must be a list of strings")
        phrasings = parse_phrasings(raw.get("phrasings"))
        if phrasings is None:
            raise ItemError(
                f"item {raw['id']!r}: 'phrasings' must be a list of strings "
                "or one string with a phrasing per line"
            )
        image = raw["image"]
        if base_dir is not None and not _is_url(image) and not Path(image).is_absolute():
            image = str(base_dir / image)
        return cls(
            id=str(raw["id"]),
            image=image,
            question=raw["question"].strip(),
            answer=raw["answer"].strip(),
            explanations=[e.strip() for e in explanations if e.strip()],
            split=str(raw.get("split") or "train"),
            facts={str(k): str(v) for k, v in (raw.get("facts") or {}).items()},
            phrasings=phrasings,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON record; `phrasings` only when there are some (item files stay as they were)."""
        d = asdict(self)
        if not d["phrasings"]:
            del d["phrasings"]
        return d


def parse_phrasings(raw: Any) -> list[str] | None:
    """Phrasings from a record: a list of strings, or one string with a phrasing per line.

    Both forms are accepted because a labeling interface shows one string best
    (label_config/actx.xml); blank entries are dropped. None when `raw` is neither.
    """
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        return None
    return [p.strip() for p in raw if p.strip()]


@dataclass
class Candidate:
    """One sampled rationale with how it was made and, once critiqued, its score."""

    text: str
    temperature: float
    prompt: str
    logprob: float
    model_version: str = BASE_VERSION
    score: float | None = None
    fitting: bool | None = None
    phrasing: str | None = None
    """The question phrasing the prompt asked (see Item.questions)."""
    explanation: str | None = None
    """The explanation prompt it was drawn under ("because", a top-up's "since", ...)."""
    rank: float | None = None
    """How likely it fits before any critic saw it, 0..1 (illume.rank.score)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Candidate:
        return cls(
            text=raw["text"],
            temperature=float(raw.get("temperature", 0.0)),
            prompt=raw.get("prompt", ""),
            logprob=float(raw.get("logprob", 0.0)),
            model_version=raw.get("model_version", BASE_VERSION),
            score=raw.get("score"),
            fitting=raw.get("fitting"),
            phrasing=raw.get("phrasing"),
            explanation=raw.get("explanation"),
            rank=raw.get("rank"),
        )


def _is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, naming the line of a bad one."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise ItemError(f"{path}:{n}: not valid JSON ({e.msg})") from e


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSONL (atomically: a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def load_items(
    path: str | Path, split: str | None = None
) -> tuple[list[Item], list[tuple[str, str]]]:
    """Read an items file; return the valid items and (id, error) for the bad ones.

    Bad records do not stop the run: each is reported with its reason so the
    caller can write it to the output and go on.
    """
    path = Path(path)
    items: list[Item] = []
    errors: list[tuple[str, str]] = []
    for n, raw in enumerate(read_jsonl(path), 1):
        try:
            item = Item.from_dict(raw, base_dir=path.parent.resolve())
        except ItemError as e:
            rid = raw.get("id") if isinstance(raw, dict) else None
            errors.append((str(rid if rid is not None else f"line-{n}"), str(e)))
            continue
        if split is None or item.split == split:
            items.append(item)
    return items, errors
