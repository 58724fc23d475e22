"""A careful annotator working the demo project: what it ticks, and what each round offered.

bench/annotator_demo.py drives the real demo stack round after round; the
pieces here are the part without servers, so they are tested on their own:
judging a task's candidates with a critic from `illume_bench.critics` against the
task's references (`explanations`) (and the item's facts, which the task data
lacks), the annotation that ticks what fits, and the per-group counts of a
round.

An annotation that ticks nothing says "none of these fits" instead: that is
what a person in Label Studio submits, the backend keeps such a task
unresolved (`labels.is_resolved`) and gives it the next version's candidates,
and the unticked candidates become rejected texts for DPO rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from illume.critique import Critic
from illume.items import Item
from ml_backend.labels import DEFAULT_LABELS, Labels, is_resolved
from ml_backend.tasks import references
from ml_backend.testing.fit_counts import group_of


def task_item(data: dict[str, Any], facts: dict[str, dict[str, str]] | None = None) -> Item:
    """The item a task shows, as a critic judges it: references from the task data, facts
    (colour, shape: what the simulated annotator checks) looked up by `item_id`."""
    item_id = str(data.get("item_id", ""))
    refs = references(data)
    return Item(
        id=item_id,
        image="",
        question=str(data.get("question", "")),
        answer=str(data.get("answer", "")),
        explanations=refs,
        facts=dict((facts or {}).get(item_id) or {}),
    )


def candidate_texts(data: dict[str, Any]) -> list[str]:
    """The options the task shows (its `candidates`), in order."""
    return [
        c["value"]
        for c in data.get("candidates") or []
        if isinstance(c, dict) and isinstance(c.get("value"), str)
    ]


def fitting(critic: Critic, item: Item, texts: list[str]) -> list[str]:
    """The texts the critic says fit, in the order shown."""
    if not texts:
        return []
    return [t for t, s in zip(texts, critic.score(item, texts), strict=True) if critic.fitting(s)]


def annotation_result(ticks: list[str], labels: Labels = DEFAULT_LABELS) -> list[dict[str, Any]]:
    """The annotation's result: the ticked candidates, or "none of these fits" when none."""
    return [
        {
            "from_name": labels.choices,
            "to_name": labels.to_name,
            "type": "choices",
            "value": {"choices": list(ticks) or [labels.none_fits]},
        }
    ]


@dataclass
class Judged:
    """One open task as the annotator saw it in a round."""

    task_id: int
    group: str
    version: str | None
    ticks: list[str]
    """What the annotator critic says fits (ticked in the annotation)."""
    rouge_fits: list[str]
    """What coco ROUGE-L >= 0.7 says fits (recorded, not ticked, unless it is the critic)."""
    shown: int = 0
    """How many options the task showed."""


def judge_open_tasks(
    task_dicts: Iterable[dict[str, Any]],
    annotator: Critic,
    rouge: Critic,
    facts: dict[str, dict[str, str]] | None = None,
    labels: Labels = DEFAULT_LABELS,
    group: Callable[[dict[str, Any]], str] = group_of,
) -> list[Judged]:
    """Every unresolved task (no annotation naming a rationale yet) with both critics' verdicts;
    `group` names a task's group from its data."""
    out = []
    for task in task_dicts:
        if is_resolved(task, labels):
            continue
        data = task.get("data") or {}
        item, texts = task_item(data, facts), candidate_texts(data)
        out.append(
            Judged(
                task_id=int(task["id"]),
                group=group(data),
                version=data.get("candidates_version"),
                ticks=fitting(annotator, item, texts),
                rouge_fits=fitting(rouge, item, texts),
                shown=len(texts),
            )
        )
    return out


@dataclass
class GroupCounts:
    """One group's figures in one round."""

    tasks: int = 0
    open: int = 0
    offered_fit_annotator: int = 0
    offered_fit_rouge: int = 0
    resolved_this_round: int = 0
    resolved_total: int = 0
    options_shown: int = 0
    """Options shown on the open tasks; with `options_fit`, the share a person would tick:
    what a team sees improve (or not) from one version to the next."""
    options_fit: int = 0
    candidate_versions: dict[str, int] = field(default_factory=dict)


def round_counts(
    task_dicts: list[dict[str, Any]],
    judged: list[Judged],
    labels: Labels = DEFAULT_LABELS,
    group: Callable[[dict[str, Any]], str] = group_of,
) -> dict[str, GroupCounts]:
    """Per group (photos, shapes), for one round: `task_dicts` are all tasks *before* the
    round's annotations; resolved this round = open tasks the annotator ticked something on."""
    counts: dict[str, GroupCounts] = {}
    for task in task_dicts:
        g = counts.setdefault(group(task.get("data") or {}), GroupCounts())
        g.tasks += 1
        g.resolved_total += is_resolved(task, labels)
    for j in judged:
        g = counts.setdefault(j.group, GroupCounts())
        g.open += 1
        g.offered_fit_annotator += bool(j.ticks)
        g.offered_fit_rouge += bool(j.rouge_fits)
        g.resolved_this_round += bool(j.ticks)
        g.resolved_total += bool(j.ticks)
        g.options_shown += j.shown
        g.options_fit += len(j.ticks)
        key = j.version or "none"
        g.candidate_versions[key] = g.candidate_versions.get(key, 0) + 1
    return dict(sorted(counts.items()))
