"""hsm's operations: ``Operation(name, callback)``, ``OnCall(name)``, ``Call(...)`` and
behaviours named by an operation (``Entry("name")``, ``Guard("name")``, ...).

An operation is a callable declared on the machine; when its callback is omitted, the
instance's method of the same name is called. ``Call(ctx, instance, name, *args)`` calls it,
dispatches the call event that ``OnCall(name)`` transitions take (its data a
:class:`CallData`), and returns the callback's result (an exception from the callback
propagates, after the call event was dispatched). A behaviour given as a name calls the
operation with the triggering event as its argument.

hsm passes the context and the instance to a callback that asks for them by name: leading
parameters named ``ctx``/``context`` get the context, then ``inst``/``instance``/``self``
the instance; the remaining parameters get the call's arguments.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from statefleet.core import StatefleetError
from statefleet.formats._builder import Behavior, Context, Event

__all__ = ["CallData", "call_event", "invoke", "named_behaviour"]

_CTX = ("ctx", "context")
_INST = ("inst", "instance", "self")


@dataclass(frozen=True, slots=True)
class CallData:
    """The data of an operation's call event: its name and the call's arguments."""

    name: str
    args: tuple[Any, ...] = ()


def call_event(machine: str, name: str) -> str:
    """The event ``OnCall(name)`` transitions of machine ``machine`` take."""
    return f"/{machine}/{name}.call"


def _leading(fn: Any) -> tuple[bool, bool]:
    """Whether ``fn`` asks for the context and for the instance, by its leading names."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False, False
    names = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    wants_ctx = bool(names) and names[0] in _CTX
    rest = names[1:] if wants_ctx else names
    return wants_ctx, bool(rest) and rest[0] in _INST


def invoke(name: str, callback: Any, ctx: Context, instance: Any, args: tuple[Any, ...]) -> Any:
    """Call operation ``name`` (``callback``, or the instance's method of that name)."""
    fn = callback if callback is not None else getattr(instance, name, None)
    if not callable(fn):
        raise StatefleetError(
            f'missing operation "{name}": declare Operation("{name}", callback) or give the '
            f"instance a method {name}()"
        )
    wants_ctx, wants_inst = _leading(fn)
    head = (ctx,) * wants_ctx + (instance,) * wants_inst
    return fn(*head, *args)


def named_behaviour(name: str, callback: Any) -> Behavior:
    """A behaviour ``(ctx, instance, event)`` calling operation ``name`` with the event."""

    def operation(ctx: Context, instance: Any, event: Event) -> Any:
        return invoke(name, callback, ctx, instance, (event,))

    operation.__name__ = operation.__qualname__ = name
    return operation
