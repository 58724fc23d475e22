"""Tuning rounds of one project: rationales from Label Studio -> `illume tune` -> a new version.

A round reads every task, lets the annotators' verdicts decide which
candidates fit (`VerdictCritic`, the engine's Critic interface), writes the
items and the rationales for the tuning job, runs it in a child process and
records the outcome in the project's state. A failed round publishes nothing:
the previous version keeps serving. While the job runs, its progress records
(epoch, step, loss, tokens/s) update `RoundRunner.current`, which /status and
/metrics show, and go to the log. `current` is mirrored to `round-status.json`
in the data folder, so a process that does not run rounds itself (a web
process beside a tuning worker on the same data folder) shows it too.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from illume import api
from illume.images import ImageError, open_image
from illume.items import Item
from illume.pairs import Pair, build_pairs
from illume.rationales import Rationale, unique_rationales
from illume.tune import waiting_reason
from illume.tunejob import NothingChanged, parse_tune_args
from illume.versions import latest_version, version_round
from ml_backend import lsclient, tasks
from ml_backend.config import Settings
from ml_backend.labels import Labels, VerdictCritic, task_verdicts
from ml_backend.state import Counters, StateStore

log = logging.getLogger(__name__)

PROGRESS_LOG_S = 10.0
"""At most one progress line per this many seconds in the log (plus each epoch's end)."""

PROGRESS_KEYS = (
    "epoch",
    "epochs",
    "step",
    "steps",
    "global_step",
    "total_steps",
    "loss",
    "tokens_per_s",
    "world_size",
    "val_rouge",
    "dev_score",
    "select_by",
    "dpo_loss",
    "reward_accuracy",
)
"""The figures of a progress record (illume.tuneprogress) that /status shows."""

STATUS_FILE = "round-status.json"
"""In the data folder: the latest round's `current`, for processes that do not run it."""


class RoundRunner:
    """Runs a project's tuning round and keeps its bookkeeping."""

    def __init__(
        self, settings: Settings, counters: Counters, store: StateStore, ls: lsclient.Connection
    ):
        self.settings = settings
        self.counters = counters
        self.store = store
        self.ls = ls
        self.current: dict[str, Any] | None = None
        """The latest round that ran here: project, state (tuning/done/failed), progress."""
        self._lock = threading.Lock()
        self._logged = 0.0

    def status(self) -> dict[str, Any] | None:
        """A copy of `current` (the worker thread updates it while /status reads it), else
        what another process running rounds on this data folder last wrote."""
        with self._lock:
            if self.current is not None:
                return dict(self.current)
        try:
            live = json.loads(self._status_file.read_text())
        except (OSError, ValueError):
            return None
        return live if isinstance(live, dict) else None

    @property
    def _status_file(self) -> Path:
        return self.settings.data_dir / STATUS_FILE

    def _publish(self, live: dict[str, Any]) -> None:
        """`current` for other processes, replaced atomically (never half a file)."""
        tmp = self._status_file.with_name(STATUS_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps(live))
            tmp.replace(self._status_file)
        except OSError as e:
            log.warning("round status not written: %s", e)

    def progress(self, record: dict[str, Any]) -> None:
        """A progress record of the running job: into `current`, and now and then the log."""
        with self._lock:
            if self.current is None:
                return
            self.current.update((k, record[k]) for k in PROGRESS_KEYS if k in record)
            live = dict(self.current)
        self._publish(live)
        now = time.monotonic()
        if record.get("event") == "epoch" or now - self._logged >= PROGRESS_LOG_S:
            self._logged = now
            log.info("project %s: tuning %s", live["project"], _describe(live))

    def _set(self, **fields: Any) -> None:
        with self._lock:
            self.current = {**(self.current or {}), **fields}
            live = dict(self.current)
        self._publish(live)

    def run(self, project: int, reason: str) -> bool:
        """One round; True when it published a new version."""
        state = self.store.load(project)
        record: dict[str, Any] = {"reason": reason, "started": tasks.now_iso(), "ok": False}
        all_tasks = list(lsclient.iter_tasks(self.ls.client, project))
        rationales, items = self.rationales(all_tasks, self.ls.labels(project))
        try:
            config, _ = parse_tune_args(self.settings.tune_args)
        except ValueError:
            config = None  # tune() reports it as the round's error
        wait = "no fitting rationales yet" if not rationales else None
        if config is not None and wait is None:
            wait = waiting_reason(((r.item_id, r.text) for r in rationales), config)
        if wait:
            log.info("project %s: round skipped (%s): %s", project, reason, wait)
            self.counters.rounds_skipped += 1
            record.update(skipped=True, error=wait, waiting=wait, rationales=len(rationales))
            with self._lock:
                self.current = None
            self._set(project=project, state="waiting", note=wait, finished=tasks.now_iso())
            state.rounds.append(record)
            self.store.save(project, state)
            return False
        versions = self.settings.project_versions(project)
        serving = latest_version(versions)
        # the paper: every round tunes the base weights on all rationales so far
        base = serving if config is not None and config.start_from == "previous" else None
        work = self.settings.project_dir(project) / "rounds" / f"round-{len(state.rounds) + 1:04d}"
        record.update(
            rationales=len(rationales), items=len(items), base=base.name if base else None
        )
        with self._lock:
            self.current = None
        self._status_file.unlink(missing_ok=True)
        self._set(project=project, state="tuning", started=record["started"])
        self._set(rationales=len(rationales), items=len(items))
        self._logged = 0.0
        log.info(
            "project %s: round started (%s): %d rationales, %d items, base %s",
            project,
            reason,
            len(rationales),
            len(items),
            record["base"],
        )
        pairs = build_pairs(
            ((r.item_id, r.text) for r in rationales), self.rejected(all_tasks, project)
        )
        new, error = self.tune(items, rationales, versions, base, work, pairs)
        if isinstance(error, NothingChanged):
            return self._unchanged(project, state, record, error, serving)
        self._set(state="done" if new is not None else "failed", finished=tasks.now_iso())
        live = self.status() or {}
        if "step" in live:  # what the round got through, kept in its history
            record["progress"] = {k: live[k] for k in PROGRESS_KEYS if k in live}
            log.info("project %s: tuning ended at %s", project, _describe(live))
        if new is not None:
            record.update(ok=True, version=new.name, finished=tasks.now_iso())
            self._set(version=new.name)
            self.counters.rounds_ok += 1
            log.info(
                "project %s: round done, %s from %d rationales", project, new.name, len(rationales)
            )
        else:
            record.update(error=error, finished=tasks.now_iso())
            self._set(error=error)
            self.counters.rounds_failed += 1
            self.counters.last_round_error = f"project {project}: {error}"
            serving = base.name if base else "the base model"
            log.error("project %s: round failed, %s keeps serving: %s", project, serving, error)
        state.rounds.append(record)
        self.store.save(project, state)
        return record["ok"]

    def _unchanged(self, project, state, record, why: NothingChanged, serving) -> bool:
        """The dev selection kept the starting weights: nothing published, and /status,
        the progress page and the round's record say so, with the figures."""
        figures = {k: why.metrics.get(k) for k in ("select_by", "dev_start", "dev_scores")}
        keep = serving.name if serving else "the base model"
        note = f"{why} ({keep} keeps serving)"
        self._set(state="unchanged", note=note, finished=tasks.now_iso(), **figures)
        record.update(unchanged=True, note=note, finished=tasks.now_iso(), **figures)
        self.counters.rounds_skipped += 1
        log.info("project %s: %s", project, note)
        state.rounds.append(record)
        self.store.save(project, state)
        return False

    def rationales(
        self, all_tasks: list[dict[str, Any]], labels: Labels
    ) -> tuple[list[Rationale], list[Item]]:
        """What the annotators accepted (deduplicated per item), and every usable item."""
        critic = VerdictCritic()
        items: dict[str, Item] = {}
        offered: list[tuple[Item, dict[str, Any], list[tuple[str, str | None]]]] = []
        for task in all_tasks:
            try:
                item = tasks.task_item(task, self.ls.resolver.resolve)
                open_image(item.image)  # one unreadable image must not sink the round
            except (tasks.TaskError, ImageError) as e:
                log.warning("task %s left out of the round: %s", task.get("id"), e)
                continue
            items.setdefault(item.id, item)
            critic.add(item.id, task_verdicts(task, labels))
            offered.append((item, task, tasks.offered_texts(task, labels)))
        accepted: list[Rationale] = []
        for item, task, texts in offered:
            scores = critic.score(item, [text for text, _ in texts])
            sets = tasks.candidate_sets(task_data(task))
            for (text, version), score in zip(texts, scores, strict=True):
                if not critic.fitting(score):
                    continue
                meta = tasks.candidate_meta(sets, text, version) if version else {}
                accepted.append(
                    Rationale(
                        item.id,
                        text,
                        "annotator",
                        version_round(version),
                        version,
                        question=meta.get("phrasing"),
                        explanation=meta.get("explanation"),
                    )
                )
        return unique_rationales(accepted), list(items.values())

    def rejected(self, all_tasks: list[dict[str, Any]], project: int) -> list[tuple[str, str]]:
        """(item id, text) of the candidates annotators saw and did not tick."""
        labels = self.ls.labels(project)
        out = []
        for task in all_tasks:
            item_id = tasks.engine_id(task)
            out += [(item_id, text) for text in tasks.unticked_texts(task, labels)]
        return out

    def tune(
        self,
        items: list[Item],
        rationales: list[Rationale],
        versions: Path,
        base: Path | None,
        work: Path,
        pairs: list[Pair] | None = None,
    ) -> tuple[Path | None, str | NothingChanged | None]:
        """The engine's tuning job in a child process: a crash there cannot hurt the serving model.

        Returns the new version, or None and why (a `NothingChanged` when the job's dev
        selection kept the starting weights). ILLUME_TUNE_ARGS holds `illume tune`
        flags (any TuneConfig field; --nproc, --launcher, --hostfile, ...: tunejob.Launch);
        with `--objective sft+dpo` (or dpo) the (ticked, unticked) pairs of the same item go
        to the job too. Its progress records reach `progress` while it runs.
        """
        try:
            config, launch = parse_tune_args(self.settings.tune_args)
        except ValueError as e:
            return None, f"ILLUME_TUNE_ARGS: {e}"
        work.mkdir(parents=True, exist_ok=True)
        rows = [r.to_row() for r in rationales]
        pair_rows = [p.to_row() for p in pairs or []] if config.uses_dpo else None
        try:
            with open(work / "tune.log", "wb") as logf:
                new = api.tune(
                    items,
                    rows,
                    versions,
                    base,
                    config,
                    launch=launch,
                    work=work,
                    output=logf,
                    pairs=pair_rows,
                    on_progress=self.progress,
                )
                return new, None
        except NothingChanged as e:
            return None, e
        except (subprocess.CalledProcessError, RuntimeError) as e:
            why = f"exited {e.returncode}" if isinstance(e, subprocess.CalledProcessError) else e
            tail = (work / "tune.log").read_text(errors="replace").strip().splitlines()[-3:]
            return None, f"the tuning job {why}: {' | '.join(tail)[-500:]}"


def task_data(task: dict[str, Any]) -> dict[str, Any]:
    return task.get("data") if isinstance(task.get("data"), dict) else {}


def _describe(live: dict[str, Any]) -> str:
    """Progress as one log line, with the counts a person checks first."""
    return (
        f"epoch {live.get('epoch')}/{live.get('epochs')} step {live.get('global_step')}/"
        f"{live.get('total_steps')} loss {live.get('loss', float('nan')):.4f} "
        f"tokens/s {live.get('tokens_per_s', 0.0):.0f} on {live.get('world_size', 1)} ranks "
        f"({live.get('rationales')} rationales, {live.get('items')} items)"
    )
