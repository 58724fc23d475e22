"""The task-data side of the task adapter (see label_config/README.md).

Label Studio is the source of truth: candidates live in task data, verdicts
in annotations (`ml_backend.labels`). This module and labels.py are the only
code that knows that layout; these pure functions turn a task into engine
records and back, so the background job, /predict, the rounds and the export
agree on what a task means.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from illume.items import Item, parse_phrasings
from illume.rationales import unique
from ml_backend.labels import DEFAULT_LABELS, Labels, task_verdicts

REQUIRED = ("image", "question", "answer")
OWN_KEYS = frozenset(
    {
        "candidates",
        "candidates_meta",
        "candidates_version",
        "candidates_generated_at",
        "candidate_rounds",
        "candidates_error",
        "candidates_error_at",
    }
)
"""The only task-data keys the backend ever writes; every other key is Label Studio's."""

REFERENCES = "explanations"
"""Task-data key of an item's reference rationales (never shown): the key items files use,
so `illume import` copies it unchanged and the progress page and critics read it."""


def references(data: Any) -> list[str]:
    """A task's reference rationales: a list of strings (or one string), blanks dropped."""
    refs = data.get(REFERENCES) if isinstance(data, dict) else None
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list):
        return []
    return [r.strip() for r in refs if isinstance(r, str) and r.strip()]


class TaskError(ValueError):
    """A task the backend cannot use; the message is stored in `candidates_error`."""


def item_id_of(item_id: Any, task_id: Any) -> str:
    """The engine id of a task: its data's `item_id`, else `task-<task id>`.

    The one rule everywhere (sampling, rounds, export), so the rationales of a
    round name the same items as the items file the tuning job reads.
    """
    return str(item_id if item_id not in (None, "") else f"task-{task_id}")


def engine_id(task: dict[str, Any]) -> str:
    """`item_id_of` for a task as Label Studio returns it."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    return item_id_of(data.get("item_id"), task.get("id"))


def task_item(task: dict[str, Any], resolve: Callable[[str], str] = str) -> Item:
    """The engine Item of a task (image through `resolve`), or TaskError naming what is missing.

    `resolve` turns the task's image reference into a local path or URL; its
    own errors (illume.images.ImageError) pass through.
    """
    data = task.get("data")
    if not isinstance(data, dict):
        raise TaskError("task has no data object")
    missing = [k for k in REQUIRED if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        raise TaskError(f"task data lacks {', '.join(missing)} (or they are not text)")
    phrasings = parse_phrasings(data.get("phrasings"))
    if phrasings is None:
        raise TaskError("task data 'phrasings' must be a list of strings or one string")
    return Item(
        id=engine_id(task),
        image=resolve(data["image"].strip()),
        question=data["question"].strip(),
        answer=data["answer"].strip(),
        phrasings=phrasings,
    )


def answer_of(task: dict[str, Any]) -> str | None:
    """The task's answer (what no pre-ticked candidate may merely restate), if it has one."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    answer = data.get("answer")
    return answer if isinstance(answer, str) and answer.strip() else None


def stored_candidates(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates a task already shows, with what the model said of each.

    Task data keeps `candidates` strictly as [{"value": text}] (what the
    labeling interface reads) and the model's numbers in `candidates_meta`
    [{"text", "logprob", "temperature", "model_version"}]; this joins them.
    """
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    raw = data.get("candidates")
    if not isinstance(raw, list):
        return []
    meta = {m.get("text"): m for m in data.get("candidates_meta") or [] if isinstance(m, dict)}
    return [
        {**meta.get(c["value"], {}), "text": c["value"]}
        for c in raw
        if isinstance(c, dict) and isinstance(c.get("value"), str)
    ]


def candidates_version(task: dict[str, Any]) -> str | None:
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    return data.get("candidates_version")


def merge_own_keys(current: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """`current` with only the backend's own keys taken from `edited`.

    A guard on every write: whatever an edit function did to other keys is
    dropped, so only OWN_KEYS can ever change in Label Studio's task data.
    """
    out = {k: v for k, v in current.items() if k not in OWN_KEYS}
    out.update({k: v for k, v in edited.items() if k in OWN_KEYS})
    return out


def failed_for(task: dict[str, Any], version: str) -> bool:
    """True when sampling this task with `version` already failed (see with_error)."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    return bool(data.get("candidates_error")) and data.get("candidates_version") == version


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def with_candidates(
    data: dict[str, Any], candidates: list[dict[str, Any]], version: str
) -> dict[str, Any]:
    """New task data showing `candidates` ({"text", "logprob", ...} each).

    The previous set moves to `candidate_rounds`.

    The history lets the export name the candidates an annotator actually saw
    (and rejected), even after a later version replaced them.
    """
    out = {k: v for k, v in data.items() if k not in ("candidates_error", "candidates_error_at")}
    history = list(out.get("candidate_rounds") or [])
    if out.get("candidates"):
        history.append(
            {
                "version": out.get("candidates_version"),
                "generated_at": out.get("candidates_generated_at"),
                "candidates": out.get("candidates_meta") or out["candidates"],
            }
        )
    out["candidate_rounds"] = history
    out["candidates"] = [{"value": c["text"]} for c in candidates]
    out["candidates_meta"] = candidates
    out["candidates_version"] = version
    out["candidates_generated_at"] = now_iso()
    return out


def with_error(data: dict[str, Any], error: str, version: str) -> dict[str, Any]:
    """Task data recording why no candidates could be made (kept for the export).

    The version is stored too, so the job does not retry the task until a new
    model version comes along (/predict does not retry it either).
    """
    out = dict(data)
    out.setdefault("candidates", [])
    out["candidates_version"] = version
    out["candidates_error"] = error
    out["candidates_error_at"] = now_iso()
    return out


def _when(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None


def candidate_sets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every set of candidates the task showed, oldest first: {version, generated_at, texts}."""
    sets = [dict(past) for past in data.get("candidate_rounds") or [] if isinstance(past, dict)]
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


def shown_at(sets: list[dict[str, Any]], stamp: Any) -> dict[str, Any]:
    """The candidate set on screen at `stamp` (the newest made before it; the last if unknown)."""
    when = _when(stamp)
    if when is not None:
        before = [s for s in sets if (_when(s.get("generated_at")) or when) <= when]
        if before:
            return before[-1]
    return sets[-1]


def proposer(sets: list[dict[str, Any]], text: str, fallback: str | None) -> str | None:
    """The newest version whose candidates held `text` (`fallback` when none did)."""
    return next((s.get("version") for s in reversed(sets) if text in s["texts"]), fallback)


def candidate_meta(sets: list[dict[str, Any]], text: str, version: str | None) -> dict[str, Any]:
    """What the model said of `text` in the set of `version` (else the newest set holding it).

    Holds `phrasing`, the question phrasing that produced the candidate, when
    the task had phrasings; {} for a text no set held (a typed rationale).
    """
    ordered = [s for s in reversed(sets) if s.get("version") == version] + list(reversed(sets))
    for s in ordered:
        for c in s.get("candidates") or []:
            if isinstance(c, dict) and c.get("text", c.get("value")) == text:
                return c
    return {}


def unticked_texts(task: dict[str, Any], labels: Labels = DEFAULT_LABELS) -> list[str]:
    """Candidates an annotator saw on the task and did not tick: the rejected jabber.

    Each submitted annotation is read against the set on screen when it was made.
    """
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    sets = candidate_sets(data)
    out = []
    for v in task_verdicts(task, labels):
        ticked = set(v.ticked)
        out += [t for t in shown_at(sets, v.created_at)["texts"] if t and t not in ticked]
    return unique(out, text=lambda t: t)


def offered_texts(
    task: dict[str, Any], labels: Labels = DEFAULT_LABELS
) -> list[tuple[str, str | None]]:
    """Every text a critic could accept for the task, with the version that proposed it.

    The candidates of every set it showed (newest first), then what annotators
    ticked or typed beyond them (typed texts have no proposing version).
    """
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    sets = candidate_sets(data)
    offered = [(t, s.get("version")) for s in reversed(sets) for t in s["texts"] if t]
    for v in task_verdicts(task, labels):
        shown = shown_at(sets, v.created_at).get("version")
        offered += [(t, proposer(sets, t, shown)) for t in v.ticked]
        offered += [(t, None) for t in v.typed]
    return unique(offered, text=lambda pair: pair[0])
