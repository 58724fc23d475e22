"""Live progress of a tuning job: JSONL records its rank 0 appends, which the parent tails.

Why a file rather than parsing the child's log: the log is free text meant for
people (and DeepSpeed, tqdm and every rank write to it), while a caller such
as the Label Studio backend needs figures it can show in /status and export to
Prometheus while the round runs. One JSON object per line, appended and
flushed per record, so a reader polling the file sees whole records or
nothing: a line without its newline yet is left for the next read.

A record (`event` "step"): epoch, epochs, step, steps (per epoch), global_step,
total_steps, loss, tokens_per_s, world_size, time (Unix seconds); with
preference pairs also dpo_loss and reward_accuracy. After each epoch's
checkpoint: `event` "epoch" with epoch, epochs, dev_score and select_by (val_rouge too
when selecting by ROUGE-L), world_size, time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], None]
"""What `illume.api.tune(on_progress=...)` calls with each record, in the caller's thread."""


class ProgressWriter:
    """Appends records to the progress file (rank 0 only: other ranks get no writer)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = None

    def __call__(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        self._file.write(json.dumps({**record, "time": round(time.time(), 3)}) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class ProgressTail:
    """Reads the records appended since the last read; a missing file is no records yet."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1  # a half-written last line waits for the next read
        self._offset += end
        records = []
        for line in chunk[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("progress: unreadable line skipped: %r", line[:200])
                continue
            if isinstance(record, dict):
                records.append(record)
        return records


def describe(record: dict[str, Any]) -> str:
    """One log line for a record: what a person watching a round wants to read."""
    epoch = f"epoch {record.get('epoch')}/{record.get('epochs')}"
    if record.get("event") == "epoch":
        if "val_rouge" in record or "dev_score" not in record:
            return f"{epoch} done, val ROUGE-L {record.get('val_rouge', float('nan')):.4f}"
        return f"{epoch} done, dev {record.get('select_by')} score {record['dev_score']:.4f}"
    return (
        f"{epoch} step {record.get('step')}/{record.get('steps')} "
        f"({record.get('global_step')}/{record.get('total_steps')}) "
        f"loss {record.get('loss', float('nan')):.4f} "
        f"tokens/s {record.get('tokens_per_s', 0.0):.0f} ranks {record.get('world_size', 1)}"
    )
