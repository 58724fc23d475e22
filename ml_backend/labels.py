"""The labeling config's side of the task adapter: control names, verdicts, predictions.

The names come from the project's labeling config, read with the SDK's
label interface: the Choices control fed by `$candidates` (its static
Choice is "none of these fits"), the TextArea for a typed rationale and
the object both point at. A config that cannot be read, or lacks one of
them, falls back to `DEFAULT_LABELS`, the names of label_config/rationales.xml.

An annotation's ticks are its *verdicts* on the candidates; `VerdictCritic`
turns the verdicts of a project into ILLUME's critic (illume.critique.Critic),
so a tuning round asks people what fits the same way the loop asks ROUGE-L.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from illume.items import Item
from illume.rank import restates_answer
from illume.rationales import rationale_key, unique
from ml_backend.order import task_score

log = logging.getLogger(__name__)

CANDIDATES_VARIABLE = "$candidates"
"""The task-data variable the rationale choices are built from."""


@dataclass(frozen=True)
class Labels:
    """The control names of a rationale labeling config.

    choices: the Choices control listing the candidates (`value="$candidates"`).
    text: the TextArea where an annotator types a better rationale.
    to_name: the object (the image) both controls point at.
    none_fits: the static choice that says no candidate fits.
    """

    choices: str = "rationales"
    text: str = "rationale"
    to_name: str = "image"
    none_fits: str = "none of these fits"

    @classmethod
    def from_config(cls, config: str | None) -> Labels:
        """The names in a labeling config (XML); the defaults for what it lacks."""
        if not config:
            return DEFAULT_LABELS
        try:
            from label_studio_sdk.label_interface import LabelInterface

            controls = LabelInterface(config).controls
        except Exception as e:  # an unreadable config must not stop the backend
            log.warning("labeling config not readable (%s): default control names", e)
            return DEFAULT_LABELS
        choices = [c for c in controls if c.tag == "Choices"]
        dynamic = [c for c in choices if c.attr.get("value") == CANDIDATES_VARIABLE]
        texts = [c for c in controls if c.tag == "TextArea"]
        chosen = (dynamic or choices or [None])[0]
        d = DEFAULT_LABELS
        return cls(
            choices=chosen.name if chosen else d.choices,
            text=texts[0].name if texts else d.text,
            to_name=chosen.to_name[0] if chosen and chosen.to_name else d.to_name,
            none_fits=chosen.labels[0] if chosen and chosen.labels else d.none_fits,
        )


DEFAULT_LABELS = Labels()


@dataclass
class Verdicts:
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
        return [t.strip() for t in unique([*self.ticked, *self.typed], text=str)]


def read_annotation(ann: dict[str, Any], labels: Labels = DEFAULT_LABELS) -> Verdicts:
    """The ticks and typed text of one annotation (regions of other controls ignored)."""
    who = ann.get("completed_by")
    if isinstance(who, dict):  # the user id first: exports name people by it (pseudonyms)
        who = who.get("id") or who.get("email")
    v = Verdicts(
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
        source = region.get("from_name")
        if region.get("type") == "choices" and source in (None, labels.choices):
            for choice in value.get("choices") or []:
                if choice == labels.none_fits:
                    v.none_fits = True
                elif isinstance(choice, str):
                    v.ticked.append(choice)
        elif region.get("type") == "textarea" and source in (None, labels.text):
            v.typed += [t for t in value.get("text") or [] if isinstance(t, str) and t.strip()]
    return v


def task_verdicts(task: dict[str, Any], labels: Labels = DEFAULT_LABELS) -> list[Verdicts]:
    """The verdicts of every annotation on a task that was submitted (not skipped)."""
    anns = task.get("annotations") or []
    read = (read_annotation(a, labels) for a in anns if isinstance(a, dict))
    return [v for v in read if not v.cancelled]


def is_resolved(task: dict[str, Any], labels: Labels = DEFAULT_LABELS) -> bool:
    """A task is resolved once some annotation names a fitting rationale.

    Unresolved tasks (no annotation, or only "none of these fits") get fresh
    candidates from each new model version; resolved ones are left alone.
    """
    return any(v.fitting for v in task_verdicts(task, labels))


PRETICK_MIN_RANK = 0.75
"""The rank (illume.rank.score, 0..1) a candidate needs to be pre-ticked. Calibrated on
the zero-shot candidates of the demo photos and easy-vqa-x val (docs/results/real-photos.md): no
threshold from 0.45 up ticked a single fitting one, and the best ranked (0.72) echoed the
image context; above all of them, zero-shot pre-ticks nothing, as it should."""


def prediction(
    candidates: list[dict[str, Any]],
    version: str,
    pretick: int,
    labels: Labels = DEFAULT_LABELS,
    min_rank: float = PRETICK_MIN_RANK,
    answer: str | None = None,
) -> dict[str, Any]:
    """A prediction pre-ticking at most `pretick` candidates ({"text", "rank", ...}), best first.

    Only candidates whose `rank` clears `min_rank` are ticked, and none when none
    does: a pre-tick invites the annotator to submit it, so it must be a likely
    rationale, never a restatement of `answer`. Candidates stored before ranking
    existed (no `rank`) are never ticked. The score orders tasks by the value of
    annotating them (ml_backend.order).
    """
    eligible = [
        c
        for c in candidates
        if isinstance(c.get("rank"), int | float)
        and c["rank"] >= min_rank
        and not (answer and restates_answer(c["text"], answer))
    ]
    ticked = sorted(eligible, key=lambda c: c["rank"], reverse=True)[: max(0, pretick)]
    result = []
    if ticked:
        result.append(
            {
                "from_name": labels.choices,
                "to_name": labels.to_name,
                "type": "choices",
                "value": {"choices": [c["text"] for c in ticked]},
            }
        )
    return {
        "result": result,
        "score": task_score(candidates),
        "model_version": version,
    }


class VerdictCritic:
    """People as ILLUME's critic: implements illume.critique.Critic from annotations.

    A text scores 1.0 for an item when a submitted annotation of one of its
    tasks ticked or typed it (compared by `rationale_key`), else 0.0.
    """

    threshold = 1.0

    def __init__(self) -> None:
        self._accepted: set[tuple[str, str]] = set()

    def add(self, item_id: str, verdicts: Iterable[Verdicts]) -> None:
        """Record what the annotations of one of the item's tasks accepted."""
        for v in verdicts:
            self._accepted.update((item_id, rationale_key(t)) for t in v.fitting)

    def score(self, item: Item, texts: list[str]) -> list[float]:
        return [float((item.id, rationale_key(t)) in self._accepted) for t in texts]

    def fitting(self, score: float) -> bool:
        return score >= self.threshold
