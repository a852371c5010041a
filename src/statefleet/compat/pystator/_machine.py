"""pystator's API on statefleet charts: a stateless machine, per-entity sessions, registries,
an action executor, hooks and metrics, and typed errors.

Three ways to run a machine, as in pystator:

- **Stateless.** ``machine.process(state, trigger, context)`` computes the next state with the
  core's pure ``chart.transition``: no side effects, actions are *returned*
  (``result.actions_to_run``), never run. You persist the new state, then run the actions
  (``ActionExecutor.execute(result, context)``): load, decide, commit, act.
- **Per entity.** ``machine.create(context=...)`` gives an :class:`EntitySession` holding one
  entity's state: ``send(trigger, **payload)`` (payload merged into the context),
  ``is_<state>``, ``<trigger>()`` methods, ``snapshot()``/``from_snapshot``. A send decides,
  commits the new state, then runs the actions bound to the machine. Delayed transitions
  (``timeout``, ``after``) wait on the session's clock (``advance`` on a virtual clock).
- **Orchestrated.** Load by entity id, process, persist, act; statefleet's persistence layer
  and actors do this for durable stores.

Every outcome that is not a transition is a typed :class:`FSMError` (also a
:class:`~statefleet.StatefleetError`): :class:`GuardRejectedError`,
:class:`InvalidTransitionError`, :class:`UndefinedTriggerError`, :class:`TerminalStateError`,
:class:`InvalidStateError`, :class:`UndefinedGuardError`. ``process`` and ``send`` return it
in ``result.error`` (``raise_on_error=True`` raises it instead).
"""

from __future__ import annotations

import difflib
import enum
import functools
import inspect
import logging
import math
import os
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar, overload

import anyio
import msgspec

from statefleet.compat.pystator._model import Event, State, Transition, model_config
from statefleet.core import (
    CancelEffect,
    Chart,
    ChartDefinitionError,
    EventData,
    RealClock,
    ScheduleEffect,
    Snapshot,
    SnapshotError,
    StatefleetError,
    VirtualClock,
    descriptor_matches,
)
from statefleet.core._chart import Node
from statefleet.core._chart import Transition as ChartTransition
from statefleet.formats._input import shown
from statefleet.formats._yaml import (
    NAME_RE,
    ActionCall,
    GuardSet,
    PystatorModel,
    UnboundNameError,
    call_with_params,
    collect_actions,
    from_yaml,
    model_of,
)

__all__ = [
    "ActionCall",
    "ActionExecutionResult",
    "ActionExecutor",
    "ActionFailedError",
    "ActionRegistry",
    "EntitySession",
    "ErrorCode",
    "ExecutionMode",
    "FSMError",
    "GuardRegistry",
    "GuardRejectedError",
    "InvalidStateError",
    "InvalidTransitionError",
    "LoggingHook",
    "MetricsCollector",
    "ScheduledTransition",
    "StateMachine",
    "TerminalStateError",
    "TransitionEvent",
    "TransitionHook",
    "TransitionObserver",
    "TransitionResult",
    "UndefinedActionError",
    "UndefinedGuardError",
    "UndefinedTriggerError",
    "flatten_context_for_guards",
]

log = logging.getLogger("statefleet.pystator")

F = TypeVar("F", bound=Callable[..., Any])


# -- errors --------------------------------------------------------------------------------
class ErrorCode(enum.StrEnum):
    """Why a trigger did not make a transition (``FSMError.code``, ``metadata["reason"]``)."""

    GUARD_REJECTED = "guard_rejected"
    INVALID_TRANSITION = "invalid_transition"
    UNDEFINED_TRIGGER = "undefined_trigger"
    TERMINAL_STATE = "terminal_state"
    INVALID_STATE = "invalid_state"
    UNDEFINED_GUARD = "undefined_guard"
    UNDEFINED_ACTION = "undefined_action"
    ACTION_FAILED = "action_failed"


class FSMError(StatefleetError):
    """Root of the pystator-style errors; ``code`` is an :class:`ErrorCode`.

    ``current_state`` and ``trigger`` say where it happened, ``details`` holds the rest (what
    ``TransitionResult.metadata`` shows).
    """

    code: ErrorCode = ErrorCode.INVALID_TRANSITION

    def __init__(
        self,
        message: str,
        *,
        current_state: str | None = None,
        trigger: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.current_state = current_state
        self.trigger = trigger
        self.details = details

    def to_metadata(self) -> dict[str, Any]:
        """The error as ``TransitionResult.metadata``: reason, state, trigger, details."""
        return {
            "reason": self.code.value,
            "current_state": self.current_state,
            "trigger": self.trigger,
            "message": self.message,
            **self.details,
        }


class GuardRejectedError(FSMError):
    """Every transition for the trigger was blocked by a guard (``guard_name`` is the first
    guard that said no; ``cause`` the exception it raised, if it raised)."""

    code = ErrorCode.GUARD_REJECTED

    def __init__(
        self,
        message: str,
        *,
        guard_name: str,
        cause: BaseException | None = None,
        current_state: str | None = None,
        trigger: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(
            message, current_state=current_state, trigger=trigger, guard_name=guard_name, **details
        )
        self.guard_name = guard_name
        self.cause = cause


class InvalidTransitionError(FSMError):
    """The trigger is defined, but no transition takes it from the current state."""

    code = ErrorCode.INVALID_TRANSITION


class UndefinedTriggerError(FSMError):
    """The machine defines no transition with this trigger."""

    code = ErrorCode.UNDEFINED_TRIGGER


class TerminalStateError(FSMError):
    """The entity is in a terminal state: it accepts no more triggers."""

    code = ErrorCode.TERMINAL_STATE


class InvalidStateError(FSMError):
    """The state given is not a state of the machine (or not a valid combination)."""

    code = ErrorCode.INVALID_STATE


class UndefinedGuardError(FSMError):
    """A guard named in the definition has no function bound (see ``bind_guards``)."""

    code = ErrorCode.UNDEFINED_GUARD


class UndefinedActionError(FSMError):
    """An action named in the definition has no function in the registry."""

    code = ErrorCode.UNDEFINED_ACTION


class ActionFailedError(FSMError):
    """An action raised; ``cause`` is the exception."""

    code = ErrorCode.ACTION_FAILED


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduledTransition:
    """A delayed transition started by a step: ``event`` fires at ``due`` (``delay`` seconds
    after the step) unless its ``state`` exits first. ``trigger`` is its readable name (the
    transition's trigger, ``"timeout"`` or ``"after"``). A stateless caller schedules
    ``machine.process(state, event, context)`` for that time."""

    event: str
    trigger: str
    state: str
    delay: float
    due: float


@dataclass(frozen=True)
class TransitionResult:
    """The outcome of one trigger.

    ``success`` says whether a transition was taken; then ``target_state`` is the new state
    and ``actions_to_run`` the actions to run after committing it (exit, transition, enter
    order). Otherwise ``error`` is the :class:`FSMError` and ``metadata`` explains it
    (``{"reason": "guard_rejected", "guard_name": ..., ...}``). ``snapshot`` is the complete
    new state (history, pending delayed transitions); pass it to the next ``process`` call to
    keep them. ``active_states`` lists the active leaf states (several inside parallel
    regions), ``scheduled``/``cancelled`` the delayed transitions started and cancelled.
    """

    success: bool
    source_state: str | None
    target_state: str | None
    trigger: str
    actions_to_run: tuple[ActionCall, ...] = ()
    error: FSMError | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    active_states: tuple[str, ...] = ()
    scheduled: tuple[ScheduledTransition, ...] = ()
    cancelled: tuple[str, ...] = ()

    @classmethod
    def success_result(
        cls,
        source_state: str | None,
        target_state: str | None,
        trigger: str,
        actions_to_run: Sequence[ActionCall] = (),
        **metadata: Any,
    ) -> TransitionResult:
        """A successful result (pystator's constructor, for code that builds results itself,
        such as a test double or a custom store)."""
        return cls(True, source_state, target_state, trigger, tuple(actions_to_run), None, metadata)

    @classmethod
    def failure_result(
        cls, source_state: str | None, trigger: str, error: FSMError
    ) -> TransitionResult:
        """A failed result carrying ``error`` (``metadata`` explains it, as ``process`` does)."""
        if not isinstance(error, FSMError):
            raise TypeError(f"failure_result needs an FSMError, got {type(error).__name__}")
        return cls(False, source_state, None, trigger, (), error, error.to_metadata())

    @property
    def action_names(self) -> list[str]:
        """The names of ``actions_to_run``, in order."""
        return [a.name for a in self.actions_to_run]

    def raise_for_error(self) -> TransitionResult:
        """Raise ``error`` if there is one; return self otherwise."""
        if self.error is not None:
            raise self.error
        return self


#: what ``process`` and ``snapshot_for`` accept as "the current state"
StateInput = str | Iterable[str] | Snapshot | Mapping[str, Any] | TransitionResult


# -- registries ----------------------------------------------------------------------------
class _Registry(Mapping[str, Callable[..., Any]]):
    kind = "callable"

    def __init__(self, items: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._items: dict[str, Callable[..., Any]] = {}
        for name, fn in (items or {}).items():
            self.register(name, fn)

    @overload
    def register(self, name: str, fn: F) -> F: ...

    @overload
    def register(self, name: str, fn: None = None) -> Callable[[F], F]: ...

    def register(self, name: str, fn: F | None = None) -> F | Callable[[F], F]:
        """Register ``fn(context)`` under ``name``; without ``fn``, a decorator doing it."""
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValueError(
                f"{self.kind} name {name!r} is invalid: use lowercase a-z, digits and underscores"
            )
        if fn is None:

            def decorator(f: F) -> F:
                return self.register(name, f)

            return decorator
        if not callable(fn):
            raise TypeError(f"{self.kind} {name!r} must be callable, got {type(fn).__name__}")
        self._items[name] = fn
        return fn

    def unregister(self, name: str) -> None:
        """Remove ``name`` (KeyError if it is not registered)."""
        del self._items[name]

    def has(self, name: str) -> bool:
        """Is ``name`` registered?"""
        return name in self._items

    def decorator(self, name: str | None = None) -> Callable[[F], F]:
        """Register the decorated function under ``name`` (default: its ``__name__``)."""

        def register(fn: F) -> F:
            return self.register(name if name is not None else fn.__name__, fn)

        return register

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._items[name]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({sorted(self._items)})"


class GuardRegistry(_Registry):
    """Guards by name: pure functions ``fn(context) -> bool`` (synchronous)."""

    kind = "guard"

    def evaluate(self, name: str, context: Mapping[str, Any]) -> bool:
        """Run the guard ``name`` on ``context`` (:class:`UndefinedGuardError` if unknown)."""
        fn = self._items.get(name)
        if fn is None:
            raise UndefinedGuardError(f"guard {name!r} is not registered", guard=name)
        return bool(fn(context))


class ActionRegistry(_Registry):
    """Actions by name: functions ``fn(context)`` (sync, or async for ``async_execute``).

    YAML ``params`` are visible as ``context["_action_params"]`` during the call.
    """

    kind = "action"


# -- actions -------------------------------------------------------------------------------
class ExecutionMode(enum.Enum):
    """How :class:`ActionExecutor` orders actions.

    ``SEQUENTIAL``: in the order the step produced them (exit, transition, enter per
    microstep). ``PHASED``: every exit action, then every transition action, then every enter
    action (phases run concurrently inside when async). ``PARALLEL``: all at once when async,
    sequentially when sync.
    """

    SEQUENTIAL = "sequential"
    PHASED = "phased"
    PARALLEL = "parallel"


@dataclass
class ActionExecutionResult:
    """What :class:`ActionExecutor` did: the actions ``executed`` and those that ``failed``
    (with an :class:`UndefinedActionError` or an :class:`ActionFailedError`)."""

    executed: list[ActionCall] = field(default_factory=list)
    failed: list[tuple[ActionCall, FSMError]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """True when no action failed."""
        return not self.failed


_PHASES = {"exit": 0, "transition": 1, "enter": 2}


class ActionExecutor:
    """Runs a result's actions from an :class:`ActionRegistry` (the *act* of the sandwich).

    A failing or missing action is logged and reported in the :class:`ActionExecutionResult`;
    the others still run unless ``stop_on_error`` (the state is already committed, so one
    failed notification must not hide the rest).
    """

    def __init__(
        self,
        registry: ActionRegistry | Mapping[str, Callable[..., Any]],
        *,
        mode: ExecutionMode | None = None,
        stop_on_error: bool = False,
        log_execution: bool = True,
        default_mode: ExecutionMode = ExecutionMode.SEQUENTIAL,
        strict: bool = False,
    ) -> None:
        """``mode`` (or pystator's ``default_mode``) orders the actions; ``stop_on_error``
        skips the rest after a failure; ``log_execution`` logs each action run (level INFO,
        logger ``statefleet.pystator``); ``strict`` raises :class:`UndefinedActionError` for an
        unregistered action instead of reporting it in the result."""
        chosen = mode if mode is not None else default_mode
        if not isinstance(chosen, ExecutionMode):
            raise TypeError(f"mode must be an ExecutionMode, not {chosen!r}")
        self.registry = registry
        self.mode = chosen
        self.stop_on_error = stop_on_error
        self.log_execution = log_execution
        self.strict = strict

    @property
    def default_mode(self) -> ExecutionMode:
        """pystator's name for :attr:`mode`."""
        return self.mode

    def validate_actions_exist(
        self, actions: TransitionResult | Iterable[ActionCall | str]
    ) -> list[str]:
        """The names among ``actions`` (a result, calls or names) that are not registered."""
        items = actions.actions_to_run if isinstance(actions, TransitionResult) else actions
        names = [a.name if isinstance(a, ActionCall) else a for a in items]
        return [n for n in dict.fromkeys(names) if n not in self.registry]

    def execute_specific(
        self, action_names: Iterable[str], context: Mapping[str, Any] | None = None
    ) -> ActionExecutionResult:
        """Run the named actions (no params) in order, as :meth:`execute` runs a result's."""
        calls = []
        for name in action_names:
            if not isinstance(name, str):
                raise TypeError(f"action names are strings, got {type(name).__name__}")
            calls.append(ActionCall(name))
        return self.execute(calls, context)

    def _calls(self, result: TransitionResult | Iterable[ActionCall]) -> list[ActionCall]:
        if isinstance(result, TransitionResult):
            calls = list(result.actions_to_run) if result.success else []
        else:
            calls = list(result)
        for c in calls:
            if not isinstance(c, ActionCall):
                raise TypeError(f"expected ActionCall items, got {type(c).__name__}")
        if self.mode is ExecutionMode.PHASED:
            calls.sort(key=lambda c: _PHASES.get(c.phase, 1))
        return calls

    @staticmethod
    def _context(context: Mapping[str, Any] | None) -> dict[str, Any]:
        if context is None:
            return {}
        if isinstance(context, dict):
            return context
        if isinstance(context, Mapping):
            return dict(context)
        raise TypeError(f"context must be a mapping, got {type(context).__name__}")

    def _fail(self, out: ActionExecutionResult, call: ActionCall, exc: BaseException) -> None:
        if isinstance(exc, FSMError):
            err = exc
        else:
            err = ActionFailedError(
                f"action {call.name!r} failed: {exc!r}", action=call.name, phase=call.phase
            )
            err.__cause__ = exc
        log.error("action %r (%s %s) failed: %s", call.name, call.phase, call.state, err)
        out.failed.append((call, err))

    def _lookup(self, call: ActionCall) -> Callable[..., Any]:
        fn = self.registry.get(call.name)
        if fn is None:
            close = difflib.get_close_matches(call.name, list(self.registry), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UndefinedActionError(
                f"action {call.name!r} is not registered{hint}", action=call.name
            )
        if self.log_execution:
            log.info("running action %r (%s)", call.name, call.phase)
        return fn

    def execute(
        self,
        result: TransitionResult | Iterable[ActionCall],
        context: Mapping[str, Any] | None = None,
    ) -> ActionExecutionResult:
        """Run the actions of a successful ``result`` (or a list of calls) with ``context``.

        Actions receive ``context`` itself when it is a dict (so they can update it). An
        action returning an awaitable fails here: use :meth:`async_execute`.
        """
        ctx = self._context(context)
        out = ActionExecutionResult()
        for call in self._calls(result):
            try:
                value = call_with_params(self._lookup(call), ctx, call.params)
                if inspect.isawaitable(value):
                    close = getattr(value, "close", None)
                    if close is not None:
                        close()
                    raise ActionFailedError(
                        f"action {call.name!r} is async: run it with async_execute",
                        action=call.name,
                    )
            except Exception as exc:
                if self.strict and isinstance(exc, UndefinedActionError):
                    raise
                self._fail(out, call, exc)
                if self.stop_on_error:
                    break
            else:
                out.executed.append(call)
        return out

    async def _run_async(
        self, call: ActionCall, ctx: dict[str, Any], out: ActionExecutionResult
    ) -> None:
        try:
            value = call_with_params(self._lookup(call), ctx, call.params)
            if inspect.isawaitable(value):
                await value
        except Exception as exc:
            if self.strict and isinstance(exc, UndefinedActionError):
                raise
            self._fail(out, call, exc)
        else:
            out.executed.append(call)

    async def async_execute(
        self,
        result: TransitionResult | Iterable[ActionCall],
        context: Mapping[str, Any] | None = None,
    ) -> ActionExecutionResult:
        """Run the actions, awaiting async ones; ``PARALLEL``/``PHASED`` run them concurrently
        (all at once / phase by phase) in an anyio task group. Concurrent actions with params
        get a shallow copy of the context carrying their own ``_action_params``."""
        ctx = self._context(context)
        out = ActionExecutionResult()
        calls = self._calls(result)
        if self.mode is ExecutionMode.SEQUENTIAL:
            groups = [[c] for c in calls]
        elif self.mode is ExecutionMode.PARALLEL:
            groups = [calls] if calls else []
        else:
            groups = []
            for phase in ("exit", "transition", "enter"):
                g = [c for c in calls if c.phase == phase]
                if g:
                    groups.append(g)
        for group in groups:
            if len(group) == 1:
                await self._run_async(group[0], ctx, out)
            else:
                async with anyio.create_task_group() as tg:
                    for call in group:
                        tg.start_soon(self._run_async, call, dict(ctx) if call.params else ctx, out)
            if out.failed and self.stop_on_error:
                break
        return out


# -- hooks and metrics ---------------------------------------------------------------------
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


def flatten_context_for_guards(context: Mapping[str, Any], sep: str = "_") -> dict[str, Any]:
    """A copy of ``context`` with nested mappings also flattened into top-level names
    (``{"order": {"qty": 5}}`` adds ``order_qty``), for inline ``expr:`` guards."""
    out: dict[str, Any] = dict(context)

    def walk(prefix: str, value: Mapping[str, Any]) -> None:
        for k, v in value.items():
            key = f"{prefix}{sep}{k}"
            out.setdefault(key, v)
            if isinstance(v, Mapping):
                walk(key, v)

    for k, v in context.items():
        if isinstance(v, Mapping):
            walk(str(k), v)
    return out


# -- the machine ---------------------------------------------------------------------------
class StateMachine:
    """A pystator machine: the definition (a compiled, immutable chart) plus bound guards,
    actions and observers. Stateless: one per entity *type*, shared by all entities.

    Build it with :meth:`from_yaml` / :meth:`from_dict` (or from a chart read by
    ``statefleet.from_yaml``). Guards and actions are bound late, as in pystator
    (:meth:`bind_guards`, :meth:`bind_actions`, or the :meth:`guard`/:meth:`action`
    decorators); the chart itself never changes.
    """

    def __init__(
        self,
        states: Chart | Mapping[str, State] | Sequence[State],
        transitions: Sequence[Transition] | None = None,
        meta: Mapping[str, Any] | None = None,
        error_policy: Any = None,
        *,
        events: Sequence[Event] = (),
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        """``StateMachine(chart)`` wraps a chart read by a reader; ``StateMachine(states,
        transitions, meta=...)`` builds one from the model classes (see ``_model``)."""
        chart = states
        if not isinstance(chart, Chart):
            if transitions is None:
                raise TypeError(
                    "StateMachine expected a Chart, or states and transitions built with the "
                    f"model classes (State, Transition, ...); got {type(chart).__name__}"
                )
            if error_policy is not None:
                raise ChartDefinitionError(
                    "error_policy is not supported: a failing action raises ActionFailedError "
                    "(see docs/migrate-pystator.md)",
                    path="error_policy",
                )
            config = model_config(chart, transitions, meta, events)
            chart = from_yaml(config, guards=guards, actions=actions)
        elif transitions is not None or meta is not None or events:
            raise TypeError("StateMachine(chart) takes no transitions, meta or events")
        self.chart = chart
        self.model: PystatorModel = model_of(chart)
        b = self.model.bindings
        self._guards = b.guards if isinstance(b.guards, GuardRegistry) else GuardRegistry(b.guards)
        self._actions = (
            b.actions if isinstance(b.actions, ActionRegistry) else ActionRegistry(b.actions)
        )
        b.guards, b.actions = self._guards, self._actions
        self._actions_bound = len(self._actions) > 0
        self._observers: list[TransitionObserver] = []
        self._triggers = frozenset(self.model.triggers)
        self._nodes = chart.nodes_by_id

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_yaml(
        cls,
        source: str | os.PathLike[str] | bytes,
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> StateMachine:
        """Read a machine from a YAML file or text (``ChartDefinitionError`` if invalid)."""
        return cls(from_yaml(source, guards=guards, actions=actions))

    @classmethod
    def from_dict(
        cls,
        config: Mapping[str, Any],
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> StateMachine:
        """Build a machine from a dict with the YAML structure."""
        if not isinstance(config, Mapping):
            raise ChartDefinitionError(
                f"a pystator config is a mapping, got {type(config).__name__}"
            )
        return cls(from_yaml(config, guards=guards, actions=actions))

    @staticmethod
    def validate_config(config: Mapping[str, Any] | str | os.PathLike[str]) -> list[str]:
        """Every problem in a config, as ``"path (line n): message"`` strings (empty: valid)."""
        try:
            from_yaml(config)
        except ChartDefinitionError as exc:
            if len(exc.errors) <= 1:
                return [str(exc)]
            return [f"{p}: {m}" if p else m for p, m in exc.errors]
        return []

    # -- description -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``meta.machine_name``."""
        return self.model.machine_name

    @property
    def version(self) -> str:
        """``meta.version``."""
        return self.model.version

    @property
    def states(self) -> tuple[str, ...]:
        """Every state name, in declaration order."""
        return tuple(self.model.states)

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger, in declaration order."""
        return self.model.triggers

    @property
    def initial_state(self) -> str:
        """The state of type ``initial``."""
        return self.model.initial_state

    @property
    def terminal_states(self) -> tuple[str, ...]:
        """The states of type ``terminal``."""
        return self.model.terminal_states

    def __repr__(self) -> str:
        return (
            f"<StateMachine {self.name!r} v{self.version}: {len(self.model.states)} states,"
            f" {len(self.triggers)} triggers>"
        )

    # -- bindings --------------------------------------------------------------------------
    @property
    def guards(self) -> GuardRegistry:
        """The bound guard registry."""
        return self._guards

    @property
    def actions(self) -> ActionRegistry:
        """The bound action registry."""
        return self._actions

    def bind_guards(self, registry: GuardRegistry | Mapping[str, Callable[..., Any]]) -> Self:
        """Use ``registry`` for the guards named in the definition (later registrations in
        it are seen too). Returns the machine."""
        reg = registry if isinstance(registry, GuardRegistry) else GuardRegistry(registry)
        self._guards = reg
        self.model.bindings.guards = reg
        return self

    def bind_actions(self, registry: ActionRegistry | Mapping[str, Callable[..., Any]]) -> Self:
        """Use ``registry`` for the actions named in the definition; sessions then run them
        after each committed transition. Returns the machine."""
        reg = registry if isinstance(registry, ActionRegistry) else ActionRegistry(registry)
        self._actions = reg
        self.model.bindings.actions = reg
        self._actions_bound = True
        return self

    def guard(self, name: str) -> Callable[[F], F]:
        """Decorator registering a guard: ``@machine.guard("is_full_fill")``."""
        return self._guards.register(name)

    def action(self, name: str) -> Callable[[F], F]:
        """Decorator registering an action: ``@machine.action("notify")``."""
        self._actions_bound = True
        return self._actions.register(name)

    def missing_bindings(self) -> dict[str, list[str]]:
        """Guard and action names used by the definition with no function bound yet."""
        return {
            "guards": sorted(n for n in self.model.guard_names if n not in self._guards),
            "actions": sorted(n for n in self.model.action_names if n not in self._actions),
        }

    def add_observer(self, observer: TransitionObserver) -> Self:
        """Notify ``observer`` around every trigger processed (``process``, sessions)."""
        if not isinstance(observer, TransitionObserver):
            raise TypeError(f"expected a TransitionObserver, got {type(observer).__name__}")
        self._observers.append(observer)
        return self

    def remove_observer(self, observer: TransitionObserver) -> None:
        """Stop notifying ``observer``."""
        self._observers.remove(observer)

    # -- states ----------------------------------------------------------------------------
    def current_state_of(self, configuration: Iterable[str]) -> str:
        """The state name of a configuration: its only active leaf, or (inside parallel
        regions) the innermost state containing every active leaf."""
        leaves = self._leaves(configuration)
        if len(leaves) == 1:
            return leaves[0].id
        first = leaves[0]
        for anc in first.ancestors:
            if all(leaf.is_descendant_of(anc) for leaf in leaves[1:]):
                return anc.id
        return first.id  # pragma: no cover - leaves always share the root

    def _leaves(self, configuration: Iterable[str]) -> list[Node]:
        nodes = self._nodes
        active = {nodes[i] for i in configuration}
        return sorted(
            (n for n in active if not any(c in active for c in n.child_states)),
            key=lambda n: n.index,
        )

    def active_states_of(self, configuration: Iterable[str]) -> tuple[str, ...]:
        """The active leaf states of a configuration, in declaration order."""
        return tuple(n.id for n in self._leaves(configuration))

    def _configuration(self, names: list[str]) -> tuple[str, ...]:
        nodes = self._nodes
        active: set[Node] = set()
        for name in names:
            node = nodes.get(name) if isinstance(name, str) else None
            if node is None or node.is_history:
                close = difflib.get_close_matches(str(name), list(self.model.states), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidStateError(
                    f"{name!r} is not a state of machine {self.name!r}{hint}",
                    current_state=str(name),
                )
            active.add(node)
            active.update(a for a in node.ancestors if a.parent is not None)
        stack = list(active)
        while stack:
            n = stack.pop()
            if n.is_parallel:
                new = [c for c in n.child_states if c not in active]
            elif n.is_compound and not any(c in active for c in n.child_states):
                assert n.initial is not None
                new = []
                for t in n.initial.targets:
                    new += [t, *(a for a in t.ancestors if a.is_descendant_of(n))]
            else:
                new = []
            for c in new:
                if c not in active:
                    active.add(c)
                    stack.append(c)
        for n in (self.chart.root, *active):
            if n.is_parallel:
                continue
            together = [c.id for c in n.child_states if c in active]
            if len(together) > 1:
                where = "" if n is self.chart.root else f" (they are alternatives inside {n.id!r})"
                raise InvalidStateError(
                    f"states {', '.join(map(repr, together))} cannot be active together{where}",
                    current_state=", ".join(map(str, names)),
                )
        return tuple(n.id for n in sorted(active, key=lambda n: n.index))

    def snapshot_for(self, state: StateInput, context: Mapping[str, Any] | None = None) -> Snapshot:
        """A core snapshot for ``state`` (a state name, several names for parallel regions,
        a snapshot, an :meth:`EntitySession.snapshot` dict, or a successful
        :class:`TransitionResult` to continue from) with ``context``.

        A compound state stands for its initial leaf; regions not named start at their
        initial state. Raises :class:`InvalidStateError`.
        """
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a mapping, got {type(context).__name__}")
        if isinstance(state, TransitionResult):
            if state.snapshot is None:
                raise InvalidStateError(
                    "this result has no state to continue from (the trigger failed)",
                    current_state=state.source_state,
                )
            snap = state.snapshot
        elif isinstance(state, Snapshot):
            snap = state
        elif isinstance(state, Mapping):
            snap = _snapshot_from_dict(state)
        else:
            if isinstance(state, str):
                names = [state]
            elif isinstance(state, Iterable):
                names = list(state)
                if not names:
                    raise InvalidStateError("no state given")
            else:
                raise InvalidStateError(
                    f"a state is a name, a list of names or a snapshot, not {type(state).__name__}"
                )
            configuration = self._configuration(names)
            done = any(
                self._nodes[i].is_final and self._nodes[i].parent is self.chart.root
                for i in configuration
            )
            return Snapshot(
                chart_id=self.chart.id,
                chart_version=self.chart.version,
                configuration=configuration,
                context=dict(context) if context is not None else {},
                status="done" if done else "active",
            )
        try:
            self.chart.validate(snap)
        except SnapshotError as exc:
            raise InvalidStateError(str(exc)) from exc
        if not snap.configuration:  # legal for a finished SCXML session, never for an entity
            raise InvalidStateError("the snapshot has no active state")
        if context is not None:
            snap = msgspec.structs.replace(snap, context=dict(context))
        return snap

    # -- processing ------------------------------------------------------------------------
    def _candidates(self, configuration: Sequence[str], event: str) -> list[list[ChartTransition]]:
        out: list[list[ChartTransition]] = []
        for atom in self._leaves(configuration):
            lst = [
                t
                for s in (atom, *atom.ancestors)
                for t in s.transitions
                if not t.eventless and descriptor_matches(t.descriptors, event)
            ]
            if lst:
                out.append(lst)
        return out

    def available_triggers(
        self, state: StateInput, context: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Triggers that have a transition from ``state``; with ``context``, only those whose
        guards pass for it."""
        snap = self.snapshot_for(state, context)
        if snap.status != "active":
            return []
        out: list[str] = []
        for trig in self.triggers:
            for lst in self._candidates(snap.configuration, trig):
                if context is None or any(
                    not isinstance(t.cond, GuardSet)
                    or t.cond.first_failure(snap.context, snap.configuration) is None
                    for t in lst
                ):
                    out.append(trig)
                    break
        return out

    def _check(self, snap: Snapshot, event: str, label: str, source: str) -> FSMError | None:
        """Decide, without stepping, whether ``event`` makes a transition (None) or not."""
        if event not in self._triggers and event not in self.model.timers:
            close = difflib.get_close_matches(event, list(self._triggers), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return UndefinedTriggerError(
                f"trigger {event!r} is not defined by machine {self.name!r}{hint}",
                current_state=source,
                trigger=label,
            )
        if snap.status != "active":
            return TerminalStateError(
                f"{source!r} is a terminal state: trigger {label!r} is not accepted",
                current_state=source,
                trigger=label,
            )
        candidates = self._candidates(snap.configuration, event)
        if not candidates:
            return InvalidTransitionError(
                f"no transition for trigger {label!r} from state {source!r}",
                current_state=source,
                trigger=label,
                available_triggers=[
                    t for t in self.triggers if self._candidates(snap.configuration, t)
                ],
            )
        first: tuple[Any, BaseException | None] | None = None
        for lst in candidates:
            for t in lst:
                if not isinstance(t.cond, GuardSet):
                    return None
                failure = t.cond.first_failure(snap.context, snap.configuration)
                if failure is None:
                    return None
                if first is None:
                    first = failure
        assert first is not None
        guard, exc = first
        if isinstance(exc, UnboundNameError):
            return UndefinedGuardError(
                f"guard {exc.name!r} is not bound: register it (bind_guards or @machine.guard)",
                current_state=source,
                trigger=label,
                guard_name=exc.name,
            )
        why = f" (it raised {exc!r})" if exc is not None else ""
        return GuardRejectedError(
            f"guard {guard.label!r} blocked trigger {label!r} in state {source!r}{why}",
            guard_name=guard.label,
            cause=exc,
            current_state=source,
            trigger=label,
        )

    def _decide(
        self, snap: Snapshot, event: str | EventData, now: float, payload: Any = None
    ) -> TransitionResult:
        """One trigger from ``snap``: the result, with the new snapshot when it moved (or
        when a delayed event was consumed, even without a transition)."""
        source = self.current_state_of(snap.configuration)
        if isinstance(event, EventData):
            ev = event
        elif isinstance(event, str) and event:
            ev = EventData(event, payload, sendid=event if event in self.model.timers else None)
        else:
            err = UndefinedTriggerError(
                f"a trigger is a non-empty string, not {event!r}", current_state=source
            )
            return TransitionResult(
                False, source, None, str(event), error=err, metadata=err.to_metadata()
            )
        timer = self.model.timers.get(ev.name)
        label = timer[0] if timer is not None else ev.name
        error = self._check(snap, ev.name, label, source)
        if error is not None and (timer is None or snap.status != "active"):
            return TransitionResult(
                False, source, None, label, error=error, metadata=error.to_metadata()
            )
        with collect_actions() as calls:
            step = self.chart.transition(snap, ev, now=now)
        new = step.snapshot
        if error is not None:  # a delayed event consumed without a transition
            return TransitionResult(
                False, source, None, label, error=error, metadata=error.to_metadata(), snapshot=new
            )
        exited: list[str] = []
        entered: list[str] = []
        for m in step.microsteps:
            exited += m.exited
            entered += m.entered
        scheduled = tuple(
            ScheduledTransition(
                e.event.name,
                self.model.timers.get(e.event.name, (e.event.name, ""))[0],
                self.model.timers.get(e.event.name, ("", ""))[1],
                e.due - now,
                e.due,
            )
            for e in step.effects
            if isinstance(e, ScheduleEffect)
        )
        cancelled = tuple(e.sendid for e in step.effects if isinstance(e, CancelEffect))
        metadata: dict[str, Any] = {
            "exited": exited,
            "entered": entered,
            "transitions": [label for m in step.microsteps for label in m.transitions],
        }
        if timer is not None:
            metadata["event"] = ev.name
        if step.errors:
            metadata["errors"] = [repr(e) for e in step.errors]
        return TransitionResult(
            True,
            source,
            self.current_state_of(new.configuration),
            label,
            actions_to_run=tuple(calls),
            metadata=metadata,
            snapshot=new,
            active_states=self.active_states_of(new.configuration),
            scheduled=scheduled,
            cancelled=cancelled,
        )

    def _run(
        self,
        snap: Snapshot,
        event: str | EventData,
        now: float,
        payload: Any = None,
        entity_id: str | None = None,
    ) -> TransitionResult:
        if not self._observers:
            return self._decide(snap, event, now, payload)
        name = event.name if isinstance(event, EventData) else str(event)
        timer = self.model.timers.get(name)
        tev = TransitionEvent(
            timer[0] if timer is not None else name,
            self.current_state_of(snap.configuration),
            snap.context,
            entity_id,
        )
        starts = [(o, o.start(tev)) for o in self._observers]
        result = self._decide(snap, event, now, payload)
        for o, started in starts:
            o.complete(tev, result, started)
        return result

    def process(
        self,
        state: StateInput,
        trigger: str,
        context: Mapping[str, Any] | None = None,
        *,
        now: float = 0.0,
        raise_on_error: bool = False,
    ) -> TransitionResult:
        """Compute what ``trigger`` does from ``state`` with ``context``: pure, no side effects.

        ``state`` is a state name (a compound state stands for its initial leaf), a list of
        names (one per parallel region), a previous result, a snapshot (``result.snapshot``
        or ``EntitySession.snapshot()``; these keep history and delayed transitions).
        ``now`` (seconds) dates the delayed transitions started. Guards see ``context``;
        actions are returned in ``result.actions_to_run``, never run. A rejected trigger
        gives ``success=False`` and a typed ``error`` (raised instead with
        ``raise_on_error=True``).
        """
        try:
            snap = self.snapshot_for(state, context)
        except InvalidStateError as exc:
            result = TransitionResult(
                False,
                exc.current_state,
                None,
                str(trigger),
                error=exc,
                metadata={**exc.to_metadata(), "trigger": trigger},
            )
        else:
            result = self._run(snap, trigger, now)
        if raise_on_error and result.error is not None:
            raise result.error
        return result

    # -- entities --------------------------------------------------------------------------
    def create(
        self,
        context: Mapping[str, Any] | None = None,
        *,
        entity_id: str | None = None,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
    ) -> EntitySession:
        """A new :class:`EntitySession` in the initial state, with ``context``.

        The initial state's ``on_enter`` actions run (after the state is set) when actions
        are bound and ``run_actions`` is true. ``clock`` drives delayed transitions: a
        :class:`~statefleet.VirtualClock` by default (``session.advance``).
        """
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a mapping, got {type(context).__name__}")
        clock = clock if clock is not None else VirtualClock()
        eid = entity_id if entity_id is not None else uuid.uuid4().hex
        now = clock.now()
        with collect_actions() as calls:
            step = self.chart.initial(context=context, now=now, session_id=eid)
        snap = step.snapshot
        session = EntitySession(
            self,
            snap,
            entity_id=eid,
            clock=clock,
            run_actions=run_actions,
            raise_on_error=raise_on_error,
        )
        result = TransitionResult(
            True,
            None,
            self.current_state_of(snap.configuration),
            "",
            actions_to_run=tuple(calls),
            metadata={"initial": True},
            snapshot=snap,
            active_states=self.active_states_of(snap.configuration),
        )
        session._settle(result)
        return session


def _snapshot_from_dict(data: Mapping[str, Any]) -> Snapshot:
    core = data.get("core")
    if not isinstance(core, Mapping):
        raise InvalidStateError(
            "a snapshot dict comes from EntitySession.snapshot() and has a 'core' mapping"
        )
    raw = dict(core)
    if "context" in data:
        raw["context"] = data["context"]
    try:
        return msgspec.convert(raw, Snapshot)
    except (msgspec.ValidationError, TypeError) as exc:
        raise InvalidStateError(f"corrupt snapshot: {exc}") from exc


# -- entity sessions -----------------------------------------------------------------------
def _saved_time(now: Any) -> float:
    """A snapshot's ``now``: a finite number of seconds (0 when it is missing)."""
    if now is None:
        return 0.0
    try:
        seconds = float(now) if isinstance(now, int | float) and not isinstance(now, bool) else -1
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidStateError(f"the snapshot's 'now' is not a time in seconds: {shown(now)}")
    return seconds


class EntitySession:
    """One entity (an order, a user...) running through a :class:`StateMachine`, in memory.

    ``send(trigger, **payload)`` merges ``payload`` into the context, decides with the
    machine's pure step, commits the new state, then runs the actions (if the machine has
    actions bound and ``run_actions``): load, decide, commit, act. A rejected trigger changes
    nothing (not even the context) and returns the failed result.

    ``is_<state>`` is true while the state is active (a parent state is active with any of
    its children), ``<trigger>(**payload)`` is ``send(trigger, **payload)``. Names of the
    session's own attributes win; use :meth:`is_in` and :meth:`send` for those.
    """

    def __init__(
        self,
        machine: StateMachine,
        snapshot: Snapshot,
        *,
        entity_id: str | None = None,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
    ) -> None:
        self._machine = machine
        self._snapshot = snapshot
        self.entity_id = entity_id or snapshot.session_id or uuid.uuid4().hex
        self._clock = clock if clock is not None else VirtualClock()
        self.run_actions = run_actions
        self.raise_on_error = raise_on_error
        #: the result of the last trigger (or the initial entry)
        self.last_result: TransitionResult | None = None
        #: what the actions of the last transition did (None if none ran)
        self.last_actions: ActionExecutionResult | None = None

    # -- state -----------------------------------------------------------------------------
    @property
    def machine(self) -> StateMachine:
        """The machine this entity runs on."""
        return self._machine

    @property
    def current_state(self) -> str:
        """The current state (see :meth:`StateMachine.current_state_of`)."""
        return self._machine.current_state_of(self._snapshot.configuration)

    @property
    def active_states(self) -> tuple[str, ...]:
        """The active leaf states (one per region inside a parallel state)."""
        return self._machine.active_states_of(self._snapshot.configuration)

    @property
    def region_states(self) -> dict[str, str]:
        """For each active region of a parallel state, its active leaf state."""
        nodes = self._machine._nodes
        regions = self._machine.model.regions
        out: dict[str, str] = {}
        for leaf in self.active_states:
            for anc in nodes[leaf].ancestors:
                if anc.id in regions:
                    out.setdefault(anc.id, leaf)
        return out

    @property
    def configuration(self) -> frozenset[str]:
        """Every active state: leaves, their parents, parallel states and regions."""
        return frozenset(self._snapshot.configuration)

    @property
    def context(self) -> dict[str, Any]:
        """The entity's context (yours to read; changes are kept)."""
        return self._snapshot.context

    @property
    def is_final(self) -> bool:
        """True once a top-level terminal state is reached."""
        return self._snapshot.status == "done"

    @property
    def clock(self) -> VirtualClock | RealClock:
        """The clock delayed transitions wait on."""
        return self._clock

    @property
    def now(self) -> float:
        """The clock's current time, in seconds."""
        return self._clock.now()

    def is_in(self, state: str) -> bool:
        """Is ``state`` active (itself or one of its children)?"""
        if state not in self._machine._nodes:
            raise InvalidStateError(
                f"{state!r} is not a state of machine {self._machine.name!r}",
                current_state=self.current_state,
            )
        return state in self._snapshot.configuration

    def available_triggers(self, *, check_guards: bool = False) -> list[str]:
        """Triggers with a transition from the current state (guards checked if asked)."""
        return self._machine.available_triggers(
            self._snapshot, self._snapshot.context if check_guards else None
        )

    def __repr__(self) -> str:
        return (
            f"<EntitySession {self.entity_id!r} of {self._machine.name!r}:"
            f" {self.current_state}{' (final)' if self.is_final else ''}>"
        )

    # -- events ----------------------------------------------------------------------------
    def _prepare(self, trigger: str, payload: Mapping[str, Any]) -> TransitionResult:
        snap = self._snapshot
        if payload:
            snap = msgspec.structs.replace(snap, context={**snap.context, **payload})
        return self._machine._run(
            snap, trigger, self._clock.now(), dict(payload) or None, self.entity_id
        )

    def _commit(self, result: TransitionResult) -> None:
        if result.snapshot is not None:
            self._snapshot = result.snapshot
        self.last_result = result

    def _act(self, result: TransitionResult) -> None:
        self.last_actions = None
        if result.success and result.actions_to_run and self._should_act():
            self.last_actions = ActionExecutor(self._machine.actions).execute(
                result, self._snapshot.context
            )

    def _should_act(self) -> bool:
        return self.run_actions and self._machine._actions_bound

    def _settle(self, result: TransitionResult) -> TransitionResult:
        self._commit(result)
        self._act(result)
        if self.raise_on_error and result.error is not None:
            raise result.error
        return result

    def send(self, trigger: str, /, **payload: Any) -> TransitionResult:
        """Process ``trigger`` with ``payload`` merged into the context; commit, then act."""
        return self._settle(self._prepare(trigger, payload))

    async def asend(self, trigger: str, /, **payload: Any) -> TransitionResult:
        """:meth:`send`, awaiting async actions (``ActionExecutor.async_execute``)."""
        result = self._prepare(trigger, payload)
        self._commit(result)
        self.last_actions = None
        if result.success and result.actions_to_run and self._should_act():
            self.last_actions = await ActionExecutor(self._machine.actions).async_execute(
                result, self._snapshot.context
            )
        if self.raise_on_error and result.error is not None:
            raise result.error
        return result

    # -- delayed transitions ---------------------------------------------------------------
    @property
    def next_due(self) -> float | None:
        """When the next delayed transition is due (clock seconds), or None."""
        dues = [d.due for d in self._snapshot.pending if d.target is None]
        return min(dues) if dues and self._snapshot.status == "active" else None

    def _fire_due(self, until: float) -> list[TransitionResult]:
        results: list[TransitionResult] = []
        while self._snapshot.status == "active":
            due = [d for d in self._snapshot.pending if d.target is None and d.due <= until]
            if not due:
                break
            de = min(due, key=lambda d: d.due)
            self._clock.set(de.due)
            result = self._machine._run(self._snapshot, de.event, de.due, entity_id=self.entity_id)
            if result.snapshot is None:  # pragma: no cover - timers always consume
                break
            results.append(self._settle(result))
        return results

    def advance(self, seconds: float) -> list[TransitionResult]:
        """Move the virtual clock forward, firing due delayed transitions in order; returns
        their results."""
        if not isinstance(self._clock, VirtualClock):
            raise StatefleetError("advance() needs a VirtualClock; use poll() with a real clock")
        if seconds < 0:
            raise ValueError("cannot advance by a negative duration")
        until = self._clock.now() + seconds
        results = self._fire_due(until)
        self._clock.set(until)
        return results

    def poll(self) -> list[TransitionResult]:
        """Fire the delayed transitions due at the clock's current time."""
        return self._fire_due(self._clock.now())

    # -- snapshots -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The entity as a JSON-ready dict (store it anywhere; :meth:`from_snapshot` restores
        it): ``entity_id``, ``machine``, ``version``, ``state``, ``active_states``,
        ``context``, ``now`` and the ``core`` snapshot (history, pending delayed
        transitions). Raises :class:`~statefleet.SnapshotError` for a context that JSON
        cannot hold."""
        try:
            core = msgspec.json.decode(msgspec.json.encode(self._snapshot))
        except (TypeError, msgspec.EncodeError) as exc:
            raise SnapshotError(f"the context cannot be serialized: {exc}") from exc
        context = core.pop("context", {})
        return {
            "entity_id": self.entity_id,
            "machine": self._machine.name,
            "version": self._machine.version,
            "state": self.current_state,
            "active_states": list(self.active_states),
            "context": context,
            "now": self._clock.now(),
            "core": core,
        }

    @classmethod
    def from_snapshot(
        cls,
        machine: StateMachine,
        snapshot: Mapping[str, Any] | Snapshot,
        *,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
    ) -> EntitySession:
        """Restore an entity saved with :meth:`snapshot` (or from a core snapshot). A virtual
        clock resumes at the saved time. Raises :class:`InvalidStateError` if it does not fit
        the machine."""
        if not isinstance(machine, StateMachine):
            raise TypeError(f"expected a StateMachine, got {type(machine).__name__}")
        if isinstance(snapshot, Mapping):
            core = _snapshot_from_dict(snapshot)
            eid = snapshot.get("entity_id")
            now = snapshot.get("now", 0.0)
        elif isinstance(snapshot, Snapshot):
            core, eid, now = snapshot, None, 0.0
        else:
            raise TypeError(f"expected a snapshot dict, got {type(snapshot).__name__}")
        core = machine.snapshot_for(core)
        if clock is None:
            clock = VirtualClock(_saved_time(now))
        return cls(
            machine,
            core,
            entity_id=eid if isinstance(eid, str) else None,
            clock=clock,
            run_actions=run_actions,
            raise_on_error=raise_on_error,
        )

    # -- generated helpers -----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        machine: StateMachine = self.__dict__["_machine"]
        if name.startswith("is_") and name[3:] in machine._nodes:
            return name[3:] in self.__dict__["_snapshot"].configuration
        if name in machine._triggers:
            return functools.partial(self.send, name)
        close = difflib.get_close_matches(name, self._generated_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{hint}")

    def _generated_names(self) -> list[str]:
        machine = self._machine
        return [f"is_{s}" for s in machine.model.states] + list(machine.triggers)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._generated_names()})
