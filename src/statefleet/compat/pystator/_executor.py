"""Running a result's actions: :class:`ActionExecutor` (the *act* of load, decide, commit,
act), its :class:`ExecutionMode` and what it reports (:class:`ActionExecutionResult`)."""

from __future__ import annotations

import enum
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from statefleet.compat.pystator._errors import ActionFailedError, FSMError, UndefinedActionError
from statefleet.compat.pystator._registries import (
    ActionRegistry,
    ActionResult,
    discard_awaitable,
)
from statefleet.compat.pystator._results import TransitionResult
from statefleet.compat.pystator.effects import apply_effect, effect_of
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import ActionCall, call_with_params

__all__ = ["ActionExecutionResult", "ActionExecutor", "ExecutionMode"]

log = logging.getLogger("statefleet.pystator")


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
    (with an :class:`UndefinedActionError` or an :class:`ActionFailedError`), and, in the
    order they ran, one :class:`ActionResult` per action (``action_results``; iterating the
    result goes over them, as over pystator's list)."""

    executed: list[ActionCall] = field(default_factory=list)
    failed: list[tuple[ActionCall, FSMError]] = field(default_factory=list)
    action_results: list[ActionResult] = field(default_factory=list)
    #: how long running the actions took, in milliseconds (None until they ran)
    duration_ms: float | None = None

    @property
    def success(self) -> bool:
        """True when no action failed."""
        return not self.failed

    @property
    def all_succeeded(self) -> bool:
        """pystator's name for :attr:`success`."""
        return not self.failed

    @property
    def failed_actions(self) -> list[str]:
        """The names of the actions that failed."""
        return [c.name for c, _ in self.failed]

    @property
    def succeeded_actions(self) -> list[str]:
        """The names of the actions that ran."""
        return [c.name for c in self.executed]

    @property
    def skipped_actions(self) -> list[str]:
        """The names of the actions skipped because nothing is registered under them (they
        are in :attr:`failed` too)."""
        return [r.action_name for r in self.action_results if r.is_skipped]

    @property
    def action_count(self) -> int:
        """How many actions were attempted."""
        return len(self.action_results)

    def __iter__(self) -> Iterator[ActionResult]:
        return iter(self.action_results)

    def __len__(self) -> int:
        return len(self.action_results)


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
        return [n for n in dict.fromkeys(names) if n not in self.registry and effect_of(n) is None]

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
        missing = isinstance(err, UndefinedActionError)
        make = ActionResult.skipped if missing else ActionResult.fail
        out.action_results.append(make(call.name, err))

    def _lookup(self, call: ActionCall) -> Callable[..., Any]:
        fn = self.registry.get(call.name)
        if fn is None:
            raise UndefinedActionError(
                f"action {call.name!r} is not registered{did_you_mean(call.name, self.registry)}",
                action=call.name,
            )
        if self.log_execution:
            log.info("running action %r (%s)", call.name, call.phase)
        return fn

    def _invoke(self, call: ActionCall, ctx: dict[str, Any]) -> Any:
        """Run one call: an effect is applied to ``ctx``, an action looked up and called."""
        effect = effect_of(call.name)
        if effect is not None:
            apply_effect(effect, call.params or {}, ctx)
            return None
        return call_with_params(self._lookup(call), ctx, call.params)

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
        started = time.perf_counter()
        for call in self._calls(result):
            try:
                value = self._invoke(call, ctx)
                if discard_awaitable(value):
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
                out.action_results.append(ActionResult.ok(call.name, value))
        out.duration_ms = (time.perf_counter() - started) * 1000
        return out

    async def _run_async(
        self, call: ActionCall, ctx: dict[str, Any], out: ActionExecutionResult
    ) -> None:
        try:
            value = self._invoke(call, ctx)
            if inspect.isawaitable(value):
                await value
        except Exception as exc:
            if self.strict and isinstance(exc, UndefinedActionError):
                raise
            self._fail(out, call, exc)
        else:
            out.executed.append(call)
            out.action_results.append(ActionResult.ok(call.name))

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
        started = time.perf_counter()
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
        out.duration_ms = (time.perf_counter() - started) * 1000
        return out
