"""Guard and action registries: functions looked up by the names a machine uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from statefleet.compat.pystator._errors import UndefinedGuardError
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import NAME_RE

__all__ = ["ActionRegistry", "GuardRegistry"]

F = TypeVar("F", bound=Callable[..., Any])


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


def _passes(context: Any) -> bool:
    """The guard a non-strict registry gives for a name nobody registered."""
    return True


class GuardRegistry(_Registry):
    """Guards by name: pure functions ``fn(context) -> bool`` (synchronous).

    ``strict`` (the default, as in pystator) makes a guard name nobody registered an error
    when a machine evaluates it (the trigger fails with :class:`UndefinedGuardError`); a
    non-strict registry lets such a guard pass. A machine whose ``meta.strict_mode`` (or
    ``meta.strict_guard_registry``) is false sets ``strict = False`` on the registry it is
    bound to. Registering a name again replaces the function (pystator 0.0.47 does the same).
    """

    kind = "guard"

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
            raise UndefinedGuardError(
                f"guard {name!r} is not registered{did_you_mean(name, self._items)}",
                guard=name,
            )
        return bool(fn(context))


class ActionRegistry(_Registry):
    """Actions by name: functions ``fn(context)`` (sync, or async for ``async_execute``).

    YAML ``params`` are visible as ``context["_action_params"]`` during the call.
    """

    kind = "action"
