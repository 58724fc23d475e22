"""How a project's rounds are going, from Label Studio: the figures of the progress page.

Label Studio is the source of truth: every figure is counted from the tasks
as it returns them (streamed page by page, so a large project is never held
in memory), the backend's own bookkeeping adds only the round history
(version, when, how long, rationales used). What is counted:

- tasks with a fitting rationale (the team's RV: resolved tasks / all tasks);
- the share of shown candidates ticked, per version that showed them, per
  sampling temperature and per explanation prompt (the paper's question:
  which temperatures and prompts give fitting jabber);
- distinct candidates per task, annotators and their tick rates;
- where tasks carry reference rationales (`explanations` in task data,
  `ml_backend.tasks.REFERENCES`), how
  well the automatic ROUGE-L critic agrees with the annotators on the shown
  candidates (precision, recall, Cohen's kappa; the annotators' ticks are the
  truth).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from illume.items import Item
from ml_backend import tasks
from ml_backend.labels import DEFAULT_LABELS, Labels, task_verdicts

CACHE_SECONDS = 30.0
"""How long a computed page is served again (a reload does not re-read 1,000 tasks)."""


@dataclass
class Tally:
    """Candidates shown to annotators and how many of them they ticked."""

    shown: int = 0
    ticked: int = 0

    def add(self, shown: int, ticked: int) -> None:
        self.shown += shown
        self.ticked += ticked

    @property
    def share(self) -> float | None:
        return self.ticked / self.shown if self.shown else None


@dataclass
class Agreement:
    """The automatic critic's verdicts against the annotators' ticks, candidate by candidate."""

    both: int = 0
    critic_only: int = 0
    people_only: int = 0
    neither: int = 0

    def add(self, critic: bool, people: bool) -> None:
        if critic and people:
            self.both += 1
        elif critic:
            self.critic_only += 1
        elif people:
            self.people_only += 1
        else:
            self.neither += 1

    @property
    def n(self) -> int:
        return self.both + self.critic_only + self.people_only + self.neither

    @property
    def precision(self) -> float | None:
        """Of the candidates the critic accepts, the share annotators ticked."""
        accepted = self.both + self.critic_only
        return self.both / accepted if accepted else None

    @property
    def recall(self) -> float | None:
        """Of the candidates annotators ticked, the share the critic accepts."""
        ticked = self.both + self.people_only
        return self.both / ticked if ticked else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what the two rates give by chance."""
        n = self.n
        if not n:
            return None
        observed = (self.both + self.neither) / n
        critic_yes = (self.both + self.critic_only) / n
        people_yes = (self.both + self.people_only) / n
        chance = critic_yes * people_yes + (1 - critic_yes) * (1 - people_yes)
        return (observed - chance) / (1 - chance) if chance < 1 else None


@dataclass
class ProjectProgress:
    """The figures of one project, built task by task (see `add_task`)."""

    project: int
    title: str = ""
    tasks: int = 0
    annotated: int = 0
    resolved: int = 0
    none_fits: int = 0
    by_version: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    resolved_by_version: Counter = field(default_factory=Counter)
    by_temperature: dict[float, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_prompt: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_annotator: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    annotations_by: Counter = field(default_factory=Counter)
    distinct: list[int] = field(default_factory=list)
    agreement: Agreement = field(default_factory=Agreement)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    """How long reading and counting took."""

    @property
    def rv(self) -> float | None:
        """Tasks with a fitting rationale, as a share of all tasks."""
        return self.resolved / self.tasks if self.tasks else None

    @property
    def mean_distinct(self) -> float | None:
        return statistics.fmean(self.distinct) if self.distinct else None


def add_task(
    progress: ProjectProgress,
    task: dict[str, Any],
    labels: Labels = DEFAULT_LABELS,
    critic: Any = None,
    names: dict[Any, str] | None = None,
) -> None:
    """Count one task as Label Studio returned it."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    progress.tasks += 1
    sets = tasks.candidate_sets(data)
    if sets[-1]["texts"]:
        progress.distinct.append(len(set(sets[-1]["texts"])))
    verdicts = task_verdicts(task, labels)
    progress.annotated += bool(verdicts)
    fitting = [v for v in verdicts if v.fitting]
    if fitting:
        progress.resolved += 1
        first = min(fitting, key=lambda v: v.created_at or "")
        progress.resolved_by_version[_version(tasks.shown_at(sets, first.created_at))] += 1
    elif any(v.none_fits for v in verdicts):
        progress.none_fits += 1
    refs = tasks.references(data)
    for v in verdicts:
        shown = tasks.shown_at(sets, v.created_at)
        texts = [t for t in dict.fromkeys(shown["texts"]) if t]
        ticked = set(v.ticked) & set(texts)
        progress.by_version[_version(shown)].add(len(texts), len(ticked))
        who = (names or {}).get(v.annotator, str(v.annotator))
        progress.by_annotator[who].add(len(texts), len(ticked))
        progress.annotations_by[who] += 1
        answer = str(data.get("answer") or "")
        for cand in shown.get("candidates") or []:
            if not isinstance(cand, dict):
                continue
            hit = int(cand.get("text", cand.get("value")) in ticked)
            if isinstance(cand.get("temperature"), int | float):
                progress.by_temperature[float(cand["temperature"])].add(1, hit)
            progress.by_prompt[explanation_prompt(cand.get("prompt"), answer)].add(1, hit)
        if refs and critic is not None and texts:
            item = Item(
                id=tasks.engine_id(task), image="", question="", answer="", explanations=refs
            )
            for text, score in zip(texts, critic.score(item, texts), strict=True):
                progress.agreement.add(critic.fitting(score), text in ticked)


def explanation_prompt(prompt: Any, answer: str) -> str:
    """The explanation prompt of a candidate's recorded prompt ("Q: .. A: <answer>, <it>")."""
    if not isinstance(prompt, str) or not prompt:
        return "(not recorded)"
    head = f"A: {answer}, " if answer else None
    if head and head in prompt:
        return prompt.rsplit(head, 1)[1].strip() or "(none)"
    return prompt.rsplit(", ", 1)[-1].strip() if ", " in prompt else "(unknown)"


def round_rows(rounds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backend's round records as table rows, with how long each took."""
    rows = []
    for i, r in enumerate(rounds, 1):
        took = _seconds_between(r.get("started"), r.get("finished"))
        outcome = "published" if r.get("ok") else ("skipped" if r.get("skipped") else "failed")
        if r.get("unchanged"):
            outcome = "changed nothing"
        elif r.get("waiting"):
            outcome = "waiting"
        rows.append(
            {
                "round": i,
                "version": r.get("version") or "",
                "base": r.get("base") or "",
                "reason": r.get("reason") or "",
                "started": r.get("started") or "",
                "seconds": took,
                "rationales": r.get("rationales"),
                "n_items": r.get("items"),
                "outcome": outcome,
                "error": r.get("error") or "",
                "note": r.get("note") or r.get("waiting") or "",
            }
        )
    return rows


def compute(
    project: int,
    task_stream: Iterable[dict[str, Any]],
    rounds: list[dict[str, Any]],
    labels: Labels = DEFAULT_LABELS,
    names: dict[Any, str] | None = None,
    title: str = "",
) -> ProjectProgress:
    """The figures of one project from its tasks (any iterable, consumed once)."""
    started = time.monotonic()
    progress = ProjectProgress(project=project, title=title, rounds=round_rows(rounds))
    critic = None
    for task in task_stream:
        if critic is None and tasks.references(task.get("data") or {}):
            critic = _rouge_critic()
        add_task(progress, task, labels, critic, names)
    progress.seconds = time.monotonic() - started
    return progress


class PageCache:
    """One computed value per key, served again for `ttl` seconds; one computation at a time."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], Any], fresh: bool = False) -> Any:
        with self._lock:
            hit = self._entries.get(key)
            if hit and not fresh and self.clock() - hit[0] < self.ttl:
                return hit[1]
            value = make()
            self._entries[key] = (self.clock(), value)
            return value


def _rouge_critic():
    from illume.critique import RougeCritic

    return RougeCritic()


def _version(candidate_set: dict[str, Any]) -> str:
    return str(candidate_set.get("version") or "(none)")


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        a, b = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
    except ValueError:
        return None
    return round((b - a).total_seconds(), 1)
