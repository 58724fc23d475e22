"""/metrics in Prometheus' text format, read from the model's own bookkeeping at scrape time.

Why a collector rather than instrumented call sites: the counters, the job
queue, the engine and the round history already hold every figure, and a
collector that reads them on each scrape cannot drift from /status (the same
numbers as JSON). Each app gets its own CollectorRegistry, so tests can build
several apps in one process without "duplicated timeseries" errors.

Sampling speed is counted in candidates, not tokens: the engine's sampler
does not report token counts. `illume_sampling_seconds_total` and
`illume_candidates_written_total` give the rate over any window with
PromQL's rate(); the gauge is the average since the process started.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ml_backend.model import IllumeModel

CONTENT_TYPE = CONTENT_TYPE_LATEST

ROUND_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
"""Round duration buckets in seconds: a CPU round on the demo takes about a minute,
a 7B model's round on a GPU tens of minutes."""

MODEL_STATES = ("idle", "loading", "ready", "failed")

TUNING_GAUGES = (
    ("illume_tuning_epoch", "epoch", "Epoch the latest tuning round is in (1-based)"),
    ("illume_tuning_step", "global_step", "Optimiser steps the latest tuning round has done"),
    ("illume_tuning_steps", "total_steps", "Optimiser steps the latest tuning round will do"),
    ("illume_tuning_loss", "loss", "Training loss of the latest round's last step"),
    (
        "illume_tuning_tokens_per_second",
        "tokens_per_s",
        "Target-side positions per second of training in the latest round, all ranks",
    ),
)
"""(metric, key of RoundRunner.current, help) of the tuning progress gauges."""


class IllumeCollector(Collector):
    """Every ILLUME metric family, computed from one IllumeModel when scraped."""

    def __init__(self, model: IllumeModel):
        self.model = model

    def collect(self) -> Iterator[Metric]:
        m = self.model
        c = m.counters
        yield from self._jobs()
        if m.remote is not None:
            yield from self._rq()
        yield counter(
            "illume_tasks_generated", "Tasks that got candidates written", c.tasks_generated
        )
        yield counter("illume_tasks_failed", "Tasks whose sampling failed", c.tasks_failed)
        yield counter(
            "illume_candidates_written",
            "Candidate rationales written into tasks",
            c.candidates_written,
        )
        yield counter(
            "illume_sampling_seconds", "Seconds spent generating candidates", c.generate_seconds
        )
        rate = c.candidates_written / c.generate_seconds if c.generate_seconds else 0.0
        yield GaugeMetricFamily(
            "illume_sampling_candidates_per_second",
            "Candidates written per second of generation, since start (tokens are not counted)",
            value=rate,
        )
        yield counter("illume_predict_calls", "/predict requests answered", c.predict_calls)
        yield counter("illume_webhooks", "Webhook events received", c.webhooks)
        yield counter(
            "illume_webhooks_rejected", "Webhook events rejected (4xx)", c.webhooks_rejected
        )
        rounds = CounterMetricFamily(
            "illume_rounds", "Tuning rounds by outcome", labels=["outcome"]
        )
        rounds.add_metric(["ok"], c.rounds_ok)
        rounds.add_metric(["failed"], c.rounds_failed)
        rounds.add_metric(["skipped"], c.rounds_skipped)
        yield rounds
        yield self._round_durations()
        yield from self._tuning()
        yield from self._model()
        errors = len(m.jobs.store.errors) + len(m.queue.errors)
        yield GaugeMetricFamily(
            "illume_state_errors", "Damaged state files moved aside (see /status)", value=errors
        )

    def _jobs(self) -> Iterator[Metric]:
        worker = self.model.worker
        running = worker.current is not None
        queued = max(0, len(self.model.queue.pending()) - running)
        yield GaugeMetricFamily("illume_jobs_queued", "Jobs waiting in the queue", value=queued)
        gauge = GaugeMetricFamily(
            "illume_jobs_running", "Jobs running now, by kind", labels=["kind"]
        )
        kind = str((worker.current or {}).get("kind", "none"))
        gauge.add_metric([kind], 1.0 if running else 0.0)
        yield gauge
        yield counter("illume_jobs_done", "Jobs finished", worker.done)
        yield counter("illume_jobs_failed", "Jobs that raised", worker.failed)

    def _rq(self) -> Iterator[Metric]:
        """With ILLUME_REDIS_URL: the RQ queues' jobs by state, and the workers on each."""
        status = self.model.rq_status()
        up = GaugeMetricFamily("illume_rq_up", "1 while Redis answers this scrape")
        up.add_metric([], 0.0 if "error" in status else 1.0)
        yield up
        if "error" in status:
            return
        jobs = GaugeMetricFamily(
            "illume_rq_jobs", "RQ jobs by queue and state", labels=["queue", "state"]
        )
        workers = GaugeMetricFamily("illume_rq_workers", "RQ workers per queue", labels=["queue"])
        for queue, counts in status.items():
            for state in ("queued", "running", "failed", "scheduled"):
                jobs.add_metric([queue, state], counts[state])
            workers.add_metric([queue], counts["workers"])
        yield jobs
        yield workers

    def _round_durations(self) -> Metric:
        """Durations of the finished rounds in the round history (it survives restarts)."""
        store = self.model.jobs.store
        durations = [
            d
            for pid in store.projects()
            for r in store.load(pid).rounds
            if (d := seconds(r)) is not None
        ]
        buckets = [(str(b), sum(d <= b for d in durations)) for b in ROUND_BUCKETS]
        buckets.append(("+Inf", len(durations)))
        return HistogramMetricFamily(
            "illume_round_duration_seconds",
            "Wall time of tuning rounds that ran (ok or failed; skipped ones are not timed)",
            buckets=buckets,
            sum_value=sum(durations),
        )

    def _tuning(self) -> Iterator[Metric]:
        """The latest round's progress (/status' `round`), labelled by project."""
        live = self.model.jobs.rounds.status() or {}
        yield GaugeMetricFamily(
            "illume_tuning_running",
            "1 while a tuning round's job runs",
            value=1.0 if live.get("state") == "tuning" else 0.0,
        )
        for name, key, doc in TUNING_GAUGES:
            gauge = GaugeMetricFamily(name, doc, labels=["project"])
            if isinstance(live.get(key), int | float):
                gauge.add_metric([str(live["project"])], float(live[key]))
            yield gauge

    def _model(self) -> Iterator[Metric]:
        host = self.model.host
        yield GaugeMetricFamily(
            "illume_model_load_seconds",
            "Seconds the base model took to load (0 until loaded)",
            value=host.load_seconds or 0.0,
        )
        state = GaugeMetricFamily("illume_model_state", "1 for the model's state", labels=["state"])
        for name in MODEL_STATES:
            state.add_metric([name], 1.0 if host.state == name else 0.0)
        yield state
        yield InfoMetricFamily(
            "illume_model", "The version this process serves", value={"version": host.version}
        )


def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def seconds(record: dict[str, Any]) -> float | None:
    """A round record's duration from its ISO times (None: skipped, unfinished or unparsable)."""
    if record.get("skipped"):
        return None
    try:
        start = datetime.fromisoformat(str(record["started"]))
        end = datetime.fromisoformat(str(record["finished"]))
    except (KeyError, ValueError):
        return None
    return max(0.0, (end - start).total_seconds())


def registry_for(model: IllumeModel) -> CollectorRegistry:
    """A fresh registry holding only this model's metrics (never the process-global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IllumeCollector(model))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(registry)
