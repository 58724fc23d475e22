"""The task-data contract (see label_config/README.md) and reading annotations.

Label Studio is the source of truth: candidates live in task data, feedback in
annotations. These pure functions turn both into engine records and back, so
the background job, /predict and the export agree on what a task means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

NONE_FITS = "none of these fits"
CHOICES_NAME = "rationales"
TEXT_NAME = "rationale"
TO_NAME = "image"
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


class TaskError(ValueError):
    """A task the backend cannot use; the message is stored in `candidates_error`."""


def task_item_fields(task: dict[str, Any]) -> dict[str, str]:
    """id/image/question/answer of a task, or TaskError naming what is missing."""
    data = task.get("data")
    if not isinstance(data, dict):
        raise TaskError("task has no data object")
    missing = [k for k in REQUIRED if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        raise TaskError(f"task data lacks {', '.join(missing)} (or they are not text)")
    item_id = data.get("item_id")
    return {
        "id": str(item_id if item_id not in (None, "") else f"task-{task.get('id')}"),
        "image": data["image"].strip(),
        "question": data["question"].strip(),
        "answer": data["answer"].strip(),
    }


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


def task_project(task: dict[str, Any]) -> int | None:
    """The project a task (as Label Studio returns it) belongs to."""
    pid = task.get("project")
    if isinstance(pid, dict):
        pid = pid.get("id")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


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


def prediction(candidates: list[dict[str, Any]], version: str, pretick: int) -> dict[str, Any]:
    """A prediction ticking the `pretick` candidates ({"text", "logprob"}) most likely.

    `logprob` is the mean token log-probability: higher means more likely.
    The score is the mean probability of the ticked ones (0..1), for sorting.
    """
    ranked = sorted(candidates, key=lambda c: c.get("logprob", float("-inf")), reverse=True)
    ticked = ranked[: max(0, pretick)]

    probs = [math.exp(c["logprob"]) for c in ticked if isinstance(c.get("logprob"), int | float)]
    result = []
    if ticked:
        result.append(
            {
                "from_name": CHOICES_NAME,
                "to_name": TO_NAME,
                "type": "choices",
                "value": {"choices": [c["text"] for c in ticked]},
            }
        )
    return {
        "result": result,
        "score": round(sum(probs) / len(probs), 4) if probs else 0.0,
        "model_version": version,
    }


@dataclass
class Feedback:
    """What one annotation says about a task's candidates."""

    annotation_id: int | None
    annotator: Any
    ticked: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    none_fits: bool = False
    cancelled: bool = False
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def fitting(self) -> list[str]:
        """Ticked and typed rationales, deduplicated, in order."""
        seen, out = set(), []
        for text in [*self.ticked, *self.typed]:
            key = " ".join(text.lower().split())
            if key and key not in seen:
                seen.add(key)
                out.append(text.strip())
        return out


def read_annotation(ann: dict[str, Any]) -> Feedback:
    """Choices and typed text of one annotation (any interface using our names)."""
    who = ann.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    fb = Feedback(
        annotation_id=ann.get("id"),
        annotator=who,
        cancelled=bool(ann.get("was_cancelled")),
        created_at=str(ann.get("created_at") or "") or None,
        updated_at=str(ann.get("updated_at") or "") or None,
    )
    for region in ann.get("result") or []:
        if not isinstance(region, dict):
            continue
        value = region.get("value") or {}
        if region.get("type") == "choices":
            for choice in value.get("choices") or []:
                if choice == NONE_FITS:
                    fb.none_fits = True
                elif isinstance(choice, str):
                    fb.ticked.append(choice)
        elif region.get("type") == "textarea":
            fb.typed += [t for t in value.get("text") or [] if isinstance(t, str) and t.strip()]
    return fb


def task_feedback(task: dict[str, Any]) -> list[Feedback]:
    """Feedback of every annotation on a task that was submitted (not skipped)."""
    anns = task.get("annotations") or []
    return [
        fb for fb in (read_annotation(a) for a in anns if isinstance(a, dict)) if not fb.cancelled
    ]


def is_resolved(task: dict[str, Any]) -> bool:
    """A task is resolved once some annotation names a fitting rationale.

    Unresolved tasks (no annotation, or only "none of these fits") get fresh
    candidates from each new model version; resolved ones are left alone.
    """
    return any(fb.fitting for fb in task_feedback(task))
