"""What the demo's candidates offer: per group of tasks, how many have a fitting one.

A candidate fits when the automatic critic (coco ROUGE-L >= 0.7 against the
task's references (`explanations`)) says so; the same measure as
bench/real_photos.py and `illume zeroshot`, read here from the tasks as Label
Studio holds them, so the demo's printout says what an annotator is offered.
"""

from __future__ import annotations

from illume.critique import RougeCritic
from illume.items import Item
from ml_backend.tasks import references


def group_of(data: dict) -> str:
    """ "photos" for the bundled demo photos, "shapes" for easy-vqa-x items."""
    return "photos" if str(data.get("item_id", "")).startswith("demo-") else "shapes"


def fit_summary(task_datas: list[dict]) -> dict[str, dict]:
    """Per group: tasks with candidates, those with a fitting one, the mean best ROUGE-L."""
    critic = RougeCritic()
    best: dict[str, list[float]] = {}
    for data in task_datas:
        texts = [c.get("value", "") for c in data.get("candidates") or [] if isinstance(c, dict)]
        refs = references(data)
        if not texts or not refs:
            continue
        item = Item(
            id=str(data.get("item_id", "")),
            image="",
            question=str(data.get("question", "")),
            answer=str(data.get("answer", "")),
            explanations=refs,
        )
        best.setdefault(group_of(data), []).append(max(critic.score(item, texts)))
    return {
        group: {
            "tasks": len(scores),
            "fitting": sum(s >= critic.threshold for s in scores),
            "mean_best_rouge": round(sum(scores) / len(scores), 3),
        }
        for group, scores in sorted(best.items())
    }


def describe(summary: dict[str, dict]) -> str:
    """One line per group for the demo's printout."""
    return "\n".join(
        f"  {group}: {s['fitting']}/{s['tasks']} tasks offer a candidate that fits the "
        f"references (ROUGE-L >= 0.7); mean best ROUGE-L {s['mean_best_rouge']:.2f}"
        for group, s in summary.items()
    )
