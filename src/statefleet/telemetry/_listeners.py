"""Listeners for users without OpenTelemetry: structured logging and a metrics summary."""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from typing import Any

from statefleet.core import (
    ActionFailed,
    ActorEscalated,
    ActorRestarted,
    ActorSpawned,
    ActorStopped,
    MacrostepRecord,
    Record,
)

__all__ = ["LoggingListener", "MetricsListener"]


class LoggingListener:
    """Logs every record with the stdlib ``logging`` module, with structured ``extra`` fields.

    Each log record carries ``statefleet_record`` (the record type), ``statefleet_actor`` and
    the record's own fields prefixed with ``statefleet_`` (``statefleet_event``,
    ``statefleet_configuration_after``...), so JSON log formatters pick them up.
    """

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO) -> None:
        self.logger = logger or logging.getLogger("statefleet.trace")
        self.level = level

    def on_record(self, record: Record) -> None:
        """Log one record (failures at WARNING, the rest at the configured level)."""
        if not self.logger.isEnabledFor(logging.WARNING):
            return
        kind = type(record).__name__
        extra: dict[str, Any] = {"statefleet_record": kind, "statefleet_actor": record.actor}
        level = self.level
        if isinstance(record, MacrostepRecord):
            ev = record.event.name if record.event is not None else None
            extra.update(
                statefleet_chart=record.chart_id,
                statefleet_event=ev,
                statefleet_configuration_before=list(record.configuration_before),
                statefleet_configuration_after=list(record.configuration_after),
                statefleet_microsteps=len(record.microsteps),
                statefleet_duration_ms=record.duration * 1000.0,
            )
            msg = "%s %s: %s -> %s"
            args: tuple[Any, ...] = (
                record.actor,
                ev or "(start)",
                sorted(record.configuration_before),
                sorted(record.configuration_after),
            )
        elif isinstance(record, ActionFailed | ActorRestarted | ActorEscalated):
            level = logging.WARNING
            extra["statefleet_error"] = str(record.error)
            msg, args = "%s %s: %s", (record.actor, kind, record.error)
        else:
            msg, args = "%s %s", (record.actor, kind)
        if self.logger.isEnabledFor(level):
            self.logger.log(level, msg, *args, extra=extra)


class MetricsListener:
    """Counts what charts do: transitions, success rate, macrostep durations, event counts and
    per-state dwell time (pystator's ``MetricsCollector``, fed by real records).

    ``summary()`` returns a plain dict. Durations keep a bounded uniform sample (reservoir of
    ``sample_size``) so memory stays flat on long runs.
    """

    def __init__(self, sample_size: int = 10_000, seed: int | None = None) -> None:
        self.sample_size = sample_size
        self._rng = random.Random(seed)
        self.macrosteps = 0
        self.transitions = 0
        self.successes = 0
        self.errors = 0
        self.restarts = 0
        self.actors_spawned = 0
        self.actors_stopped = 0
        self.events: Counter[str] = Counter()
        self._durations: list[float] = []
        self._seen_durations = 0
        self._total_duration = 0.0
        self._entered_at: dict[tuple[str, str], float] = {}
        self._dwell_total: dict[str, float] = {}
        self._dwell_count: Counter[str] = Counter()

    def on_record(self, record: Record) -> None:
        """Account for one record."""
        if isinstance(record, MacrostepRecord):
            self._macrostep(record)
        elif isinstance(record, ActorRestarted):
            self.restarts += 1
        elif isinstance(record, ActorSpawned):
            self.actors_spawned += 1
        elif isinstance(record, ActorStopped):
            self.actors_stopped += 1
            for key in [k for k in self._entered_at if k[0] == record.actor]:
                del self._entered_at[key]

    def _macrostep(self, record: MacrostepRecord) -> None:
        self.macrosteps += 1
        n = sum(len(m.transitions) for m in record.microsteps)
        self.transitions += n
        self.errors += len(record.errors)
        if record.event is not None:
            self.events[record.event.name] += 1
            if n and not record.errors:
                self.successes += 1
        d = record.duration
        self._total_duration += d
        self._seen_durations += 1
        if len(self._durations) < self.sample_size:
            self._durations.append(d)
        else:
            j = self._rng.randrange(self._seen_durations)
            if j < self.sample_size:
                self._durations[j] = d
        actor, ts = record.actor, record.ts
        for m in record.microsteps:
            for sid in m.exited:
                start = self._entered_at.pop((actor, sid), None)
                if start is not None:
                    self._dwell_total[sid] = self._dwell_total.get(sid, 0.0) + ts - start
                    self._dwell_count[sid] += 1
            for sid in m.entered:
                self._entered_at[(actor, sid)] = ts

    def _percentile(self, data: list[float], q: float) -> float:
        if not data:
            return 0.0
        k = max(0, math.ceil(q * len(data)) - 1)
        return data[k]

    def summary(self) -> dict[str, Any]:
        """A snapshot of the counters (durations in milliseconds, dwell in clock seconds)."""
        data = sorted(self._durations)
        external = sum(self.events.values())
        return {
            "macrosteps": self.macrosteps,
            "transitions": self.transitions,
            "errors": self.errors,
            "restarts": self.restarts,
            "success_rate": (self.successes / external) if external else 1.0,
            "duration": {
                "avg_ms": (self._total_duration / self._seen_durations * 1000.0)
                if self._seen_durations
                else 0.0,
                "p95_ms": self._percentile(data, 0.95) * 1000.0,
                "p99_ms": self._percentile(data, 0.99) * 1000.0,
            },
            "events": dict(self.events),
            "dwell": {
                sid: {
                    "count": self._dwell_count[sid],
                    "avg_s": self._dwell_total[sid] / self._dwell_count[sid],
                    "total_s": self._dwell_total[sid],
                }
                for sid in self._dwell_count
            },
        }

    #: pystator spells it ``get_summary``
    get_summary = summary
