"""Observing triggers: :class:`TransitionObserver` and its hooks (:class:`LoggingHook`,
:class:`MetricsCollector`, your own :class:`TransitionHook`)."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from statefleet.compat.pystator._results import TransitionResult

__all__ = [
    "LoggingHook",
    "MetricsCollector",
    "TransitionEvent",
    "TransitionHook",
    "TransitionObserver",
]

log = logging.getLogger("statefleet.pystator")


@dataclass(frozen=True)
class TransitionEvent:
    """A trigger about to be processed, as hooks see it."""

    trigger: str
    source_state: str | None
    context: Mapping[str, Any]
    entity_id: str | None = None


class TransitionHook:
    """Base class of observer hooks; override what you need (both do nothing here)."""

    def on_transition_start(self, event: TransitionEvent) -> None:
        """Called before the trigger is processed."""

    def on_transition_complete(
        self, event: TransitionEvent, result: TransitionResult, duration_ms: float
    ) -> None:
        """Called with the result and how long processing took, in milliseconds."""


class TransitionObserver:
    """Notifies its hooks around every trigger processed by the machines it is added to
    (``machine.add_observer(observer)``). A hook that raises is logged and skipped: hooks
    never change an outcome. ``clock`` (seconds, monotonic) times the processing."""

    def __init__(
        self,
        hooks: Iterable[TransitionHook] = (),
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.hooks: list[TransitionHook] = list(hooks)
        self.clock = clock

    def add_hook(self, hook: TransitionHook) -> TransitionObserver:
        """Add a hook (called in the order added); returns the observer."""
        if not isinstance(hook, TransitionHook):
            raise TypeError(f"expected a TransitionHook, got {type(hook).__name__}")
        self.hooks.append(hook)
        return self

    def remove_hook(self, hook: TransitionHook) -> None:
        """Remove a hook added before."""
        self.hooks.remove(hook)

    def start(self, event: TransitionEvent) -> float:
        """Tell the hooks a trigger starts; return the start time."""
        for h in self.hooks:
            try:
                h.on_transition_start(event)
            except Exception:
                log.exception("hook %r failed in on_transition_start", h)
        return self.clock()

    def complete(self, event: TransitionEvent, result: TransitionResult, started: float) -> None:
        """Tell the hooks the trigger's result and duration."""
        duration_ms = max(0.0, (self.clock() - started) * 1000.0)
        for h in self.hooks:
            try:
                h.on_transition_complete(event, result, duration_ms)
            except Exception:
                log.exception("hook %r failed in on_transition_complete", h)


class LoggingHook(TransitionHook):
    """Logs every processed trigger as one structured record (``extra={"fsm": {...}}``):
    successes at ``level``, rejections at ``rejected_level``."""

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        level: int = logging.INFO,
        rejected_level: int = logging.WARNING,
    ) -> None:
        self.logger = logger or logging.getLogger("statefleet.pystator.transitions")
        self.level = level
        self.rejected_level = rejected_level

    def on_transition_complete(
        self, event: TransitionEvent, result: TransitionResult, duration_ms: float
    ) -> None:
        """Log the transition (or why there was none)."""
        fields = {
            "entity_id": event.entity_id,
            "trigger": result.trigger,
            "source_state": result.source_state,
            "target_state": result.target_state,
            "success": result.success,
            "duration_ms": round(duration_ms, 3),
            "actions": result.action_names,
        }
        if result.success:
            self.logger.log(
                self.level,
                "%s: %s -> %s (%.3f ms)",
                result.trigger,
                result.source_state,
                result.target_state,
                duration_ms,
                extra={"fsm": fields},
            )
        else:
            code = result.error.code.value if result.error is not None else "unknown"
            fields["reason"] = code
            self.logger.log(
                self.rejected_level,
                "%s from %s rejected: %s",
                result.trigger,
                result.source_state,
                code,
                extra={"fsm": fields},
            )


class MetricsCollector(TransitionHook):
    """Counts transitions and times them.

    :meth:`get_summary` returns totals, ``success_rate``, counts by trigger, by transition
    (``"open->filled"``) and by error code, and the durations (``avg_ms``, ``p95_ms``,
    ``min_ms``, ``max_ms``; the percentile over the last ``window`` durations).
    """

    def __init__(self, *, window: int = 10_000) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.total = 0
        self.successful = 0
        self.by_trigger: Counter[str] = Counter()
        self.by_transition: Counter[str] = Counter()
        self.by_error: Counter[str] = Counter()
        self._sum_ms = 0.0
        self._min_ms = math.inf
        self._max_ms = 0.0
        self._recent: deque[float] = deque(maxlen=self.window)

    def on_transition_complete(
        self, event: TransitionEvent, result: TransitionResult, duration_ms: float
    ) -> None:
        """Count one result."""
        self.total += 1
        self.by_trigger[result.trigger] += 1
        if result.success:
            self.successful += 1
            self.by_transition[f"{result.source_state}->{result.target_state}"] += 1
        elif result.error is not None:
            self.by_error[result.error.code.value] += 1
        self._sum_ms += duration_ms
        self._min_ms = min(self._min_ms, duration_ms)
        self._max_ms = max(self._max_ms, duration_ms)
        self._recent.append(duration_ms)

    def get_summary(self) -> dict[str, Any]:
        """The counters and duration statistics as a plain dict."""
        recent = sorted(self._recent)
        p95 = recent[max(0, math.ceil(0.95 * len(recent)) - 1)] if recent else 0.0
        return {
            "total_transitions": self.total,
            "successful": self.successful,
            "failed": self.total - self.successful,
            "success_rate": self.successful / self.total if self.total else 0.0,
            "by_trigger": dict(self.by_trigger),
            "by_transition": dict(self.by_transition),
            "errors_by_code": dict(self.by_error),
            "duration": {
                "avg_ms": self._sum_ms / self.total if self.total else 0.0,
                "p95_ms": p95,
                "min_ms": self._min_ms if self.total else 0.0,
                "max_ms": self._max_ms,
            },
        }
