"""Guard and action registries: functions looked up by the names a machine uses, and what
evaluating or running them by name reports (:class:`GuardResult`, :class:`ActionResult`)."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from statefleet.compat.pystator._checks import CompositeGuard
from statefleet.compat.pystator._errors import (
    FSMError,
    GuardExecutionError,
    UndefinedActionError,
    UndefinedGuardError,
    is_transient_error,
)
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import NAME_RE, ExprGuard

if TYPE_CHECKING:
    from statefleet.compat.pystator._model import Transition

__all__ = [
    "ActionRegistry",
    "ActionResult",
    "GuardRegistry",
    "GuardResult",
    "discard_awaitable",
]

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("statefleet.pystator")


def discard_awaitable(value: Any) -> bool:
    """Is ``value`` an awaitable (what an async function returns)? If so it is closed, so a
    sync caller refusing it leaves no "never awaited" coroutine behind."""
    if not inspect.isawaitable(value):
        return False
    close = getattr(value, "close", None)
    if close is not None:
        close()
    return True


class _Registry(Mapping[str, Callable[..., Any]]):
    kind = "callable"
    #: the error for a name nobody registered
    missing: type[FSMError] = FSMError

    def __init__(self, items: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._items: dict[str, Callable[..., Any]] = {}
        self._metadata: dict[str, dict[str, Any]] = {}
        for name, fn in (items or {}).items():
            self.register(name, fn)

    @overload
    def register(self, name: str, fn: F, metadata: Mapping[str, Any] | None = None) -> F: ...

    @overload
    def register(
        self, name: str, fn: None = None, metadata: Mapping[str, Any] | None = None
    ) -> Callable[[F], F]: ...

    def register(
        self, name: str, fn: F | None = None, metadata: Mapping[str, Any] | None = None
    ) -> F | Callable[[F], F]:
        """Register ``fn(context)`` under ``name`` (replacing what was there), with optional
        ``metadata``; without ``fn``, a decorator doing it."""
        if name == "":
            raise ValueError(f"{self.kind} name cannot be empty")
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
        self._metadata[name] = dict(metadata or {})
        return fn

    def _unknown(self, name: str) -> FSMError:
        return self.missing(
            f"{self.kind} {name!r} is not registered{did_you_mean(name, self._items)}",
            **{self.kind: name},
        )

    def unregister(self, name: str) -> None:
        """Remove ``name`` (:class:`UndefinedGuardError`/:class:`UndefinedActionError` if it
        is not registered)."""
        if name not in self._items:
            raise self._unknown(name)
        del self._items[name]
        self._metadata.pop(name, None)

    def get_metadata(self, name: str) -> dict[str, Any]:
        """The metadata registered with ``name``."""
        if name not in self._items:
            raise self._unknown(name)
        return dict(self._metadata.get(name, {}))

    def clear(self) -> None:
        """Remove every registration."""
        self._items.clear()
        self._metadata.clear()

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


def _passes(context: Any) -> bool:
    """The guard a non-strict registry gives for a name nobody registered."""
    return True


@dataclass
class GuardResult:
    """What evaluating guards by name found: ``passed``, the ``guard_name`` that said no,
    a ``message`` and every ``(guard, passed)`` pair evaluated. True when it passed."""

    passed: bool
    guard_name: str | None = None
    message: str = ""
    evaluated_guards: list[tuple[str, bool]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    @classmethod
    def success(cls, evaluated: list[tuple[str, bool]] | None = None) -> GuardResult:
        """Every guard passed."""
        return cls(True, evaluated_guards=list(evaluated or []))

    @classmethod
    def failure(
        cls, guard_name: str, message: str = "", evaluated: list[tuple[str, bool]] | None = None
    ) -> GuardResult:
        """``guard_name`` said no."""
        return cls(
            False,
            guard_name,
            message or f"guard {guard_name!r} rejected",
            list(evaluated or []),
        )


class GuardRegistry(_Registry):
    """Guards by name: pure functions ``fn(context) -> bool`` (synchronous).

    ``strict`` (the default, as in pystator) makes a guard name nobody registered an error
    when a machine evaluates it (the trigger fails with :class:`UndefinedGuardError`); a
    non-strict registry lets such a guard pass. A machine whose ``meta.strict_mode`` (or
    ``meta.strict_guard_registry``) is false sets ``strict = False`` on the registry it is
    bound to. Registering a name again replaces the function (pystator 0.0.47 does the same).
    """

    kind = "guard"
    missing = UndefinedGuardError

    def __init__(
        self, items: Mapping[str, Callable[..., Any]] | None = None, *, strict: bool = True
    ) -> None:
        super().__init__(items)
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        self.strict = strict

    def get(self, name: str, default: Any = None) -> Any:
        """The guard registered as ``name``; for an unregistered name ``default``, or (in a
        non-strict registry, with no ``default``) a guard that passes."""
        fn = self._items.get(name)
        if fn is not None:
            return fn
        return default if default is not None or self.strict else _passes

    def evaluate(self, name: str, context: Mapping[str, Any]) -> bool:
        """Run the guard ``name`` on ``context`` (:class:`UndefinedGuardError` if unknown,
        even in a non-strict registry: asking for one guard by name means it must exist)."""
        fn = self._items.get(name)
        if fn is None:
            raise self._unknown(name)
        return bool(fn(context))

    def _strict_lookup(self, name: str) -> Callable[..., Any]:
        """The guard ``name``, or the error for an unregistered one (in a strict registry)."""
        fn = self.get(name)
        if fn is None:
            raise self._unknown(name)
        return fn  # type: ignore[no-any-return]

    def get_required_guards(self, transitions: Iterable[Transition]) -> set[str]:
        """The guard names ``transitions`` use, inside composites too."""
        out: set[str] = set()
        for t in transitions:
            for spec in t.guards:
                out |= {spec} if isinstance(spec, str) else spec.names()
        return out

    def list_guards(self) -> list[str]:
        """The registered names."""
        return list(self._items)

    def evaluate_all(
        self, names: Iterable[str], context: Mapping[str, Any], fail_fast: bool = True
    ) -> GuardResult:
        """Evaluate the guards ``names`` in order: passed when all pass; ``fail_fast`` stops
        at the first that says no."""
        evaluated: list[tuple[str, bool]] = []
        failed: str | None = None
        for name in names:
            ok = self.evaluate(name, context)
            evaluated.append((name, ok))
            if not ok and failed is None:
                failed = name
                if fail_fast:
                    break
        if failed is None:
            return GuardResult.success(evaluated)
        return GuardResult.failure(failed, evaluated=evaluated)

    def can_transition(self, transition: Transition, context: Mapping[str, Any]) -> GuardResult:
        """Evaluate ``transition``'s guards (names, through :meth:`get`, and inline
        ``expr``) in order, stopping at the first that says no. As in pystator, a guard
        failing with a transient error (:func:`is_transient_error`) raises
        :class:`GuardExecutionError` (logged as an error), any other exception is a "no"
        (logged as a warning); an async guard raises :class:`GuardExecutionError`."""
        evaluated: list[tuple[str, bool]] = []
        for spec in transition.guards:
            name = spec if isinstance(spec, str) else spec.name
            check = None if isinstance(spec, str) else spec.check
            if name is not None:
                label = name
            elif check is not None:
                label = check.label
            elif spec.is_composite:  # type: ignore[union-attr]
                label = next(iter(spec.to_config()))  # type: ignore[union-attr]
            else:
                label = f"expr:{spec.expr}"  # type: ignore[union-attr]
            ok = self._check_one(name, label, spec, context)
            evaluated.append((label, ok))
            if not ok:
                return GuardResult.failure(label, evaluated=evaluated)
        return GuardResult.success(evaluated)

    def _check_one(self, name: str | None, label: str, spec: Any, context: Any) -> bool:
        if name is not None:
            fn = self.get(name)
            if fn is None:
                raise self._unknown(name)
        elif spec.check is not None:
            fn = spec.check
        elif spec.is_composite:
            composite = CompositeGuard.from_config(spec.to_config())
            fn = functools.partial(composite.evaluate, lookup=self._strict_lookup)
        else:
            fn = ExprGuard(str(spec.expr)).check
        try:
            value = fn(context)
            if discard_awaitable(value):
                raise GuardExecutionError(
                    f"guard {label!r} is async and cannot be evaluated synchronously",
                    guard_name=label,
                    original_error=TypeError("async guard"),
                )
            return bool(value)
        except FSMError:
            raise
        except Exception as exc:
            if is_transient_error(exc):
                log.error("guard %r failed with a transient error: %r", label, exc)
                raise GuardExecutionError(
                    f"guard {label!r} failed with a transient error: {exc!r}",
                    guard_name=label,
                    original_error=exc,
                ) from exc
            log.warning("guard %r raised %r: read as False", label, exc)
            return False


@dataclass
class ActionResult:
    """What running one action by name did: ``success``, the ``result`` it returned or the
    ``error`` it raised."""

    success: bool
    action_name: str
    result: Any = None
    error: BaseException | None = None
    #: ``"ok"``, ``"failed"``, or ``"skipped"`` (nothing registered under the name)
    status: str = "ok"

    @property
    def is_skipped(self) -> bool:
        """Was the action skipped because nothing is registered under its name?"""
        return self.status == "skipped"

    @classmethod
    def ok(cls, action_name: str, result: Any = None) -> ActionResult:
        """The action ran and returned ``result``."""
        return cls(True, action_name, result)

    @classmethod
    def fail(cls, action_name: str, error: BaseException) -> ActionResult:
        """The action raised ``error``."""
        return cls(False, action_name, None, error, "failed")

    @classmethod
    def skipped(cls, action_name: str, error: BaseException) -> ActionResult:
        """Nothing is registered as ``action_name`` (``result`` is ``"not_registered"``)."""
        return cls(False, action_name, "not_registered", error, "skipped")


class ActionRegistry(_Registry):
    """Actions by name: functions ``fn(context)`` (sync, or async for ``async_execute``).

    YAML ``params`` are visible as ``context["_action_params"]`` during the call.
    """

    kind = "action"
    missing = UndefinedActionError

    def list_actions(self) -> list[str]:
        """The registered names."""
        return list(self._items)

    def execute(
        self, name: str, context: dict[str, Any], *, raise_on_error: bool = False
    ) -> ActionResult:
        """Run the action ``name`` on ``context``: an :class:`ActionResult` (an unknown name
        or an exception is a failed result; ``raise_on_error`` raises it instead). An async
        action fails here: run it with ``ActionExecutor.async_execute``."""
        try:
            fn = self._items.get(name)
            if fn is None:
                raise self._unknown(name)
            value = fn(context)
            if discard_awaitable(value):
                raise RuntimeError(
                    f"action {name!r} is async and cannot be executed synchronously:"
                    " use ActionExecutor.async_execute"
                )
        except Exception as exc:
            if raise_on_error:
                raise
            return ActionResult.fail(name, exc)
        return ActionResult.ok(name, value)

    def execute_all(
        self, names: Iterable[str], context: dict[str, Any], stop_on_error: bool = False
    ) -> list[ActionResult]:
        """Run the actions ``names`` in order (``stop_on_error``: up to the first failure)."""
        out: list[ActionResult] = []
        for name in names:
            out.append(self.execute(name, context))
            if stop_on_error and not out[-1].success:
                break
        return out
