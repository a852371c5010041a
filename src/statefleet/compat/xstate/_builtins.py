"""xstate-statemachine's built-in actions ``assign``, ``raise``, ``log``, ``emit`` (and their
creators).

A config names them as action objects, ``{"type": "xstate.assign", "params": {...}}``;
the creators :func:`assign`, :func:`raise_`, :func:`log` and :func:`emit` build those
objects.
:func:`create_machine` binds an implementation to each ``xstate.*`` type unless the caller's
logic provides one, so a user's own action wins. They run in SCXML order, inline with the
other actions (``assign`` is not moved first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from statefleet.core import StatefleetError

__all__ = ["BUILTIN_ACTIONS", "assign", "emit", "log", "raise_"]

log_ = logging.getLogger("statefleet.xstate")

ASSIGN = "xstate.assign"
RAISE = "xstate.raise"
LOG = "xstate.log"
EMIT = "xstate.emit"


def assign(assignment: Mapping[str, Any] | Callable[..., Any]) -> dict[str, Any]:
    """An ``assign`` action: a mapping of context keys to values (a value may be a callable
    ``(context, event)``), or a callable ``(context, event)`` returning the update."""
    return {"type": ASSIGN, "params": {"assignment": assignment}}


def raise_(event: str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``raise`` action: an internal event (a name or ``{"type": ..., ...}``), processed in
    this macrostep before any event sent from outside."""
    return {"type": RAISE, "params": {"event": event}}


def log(expr: str | Callable[..., Any] = "", *, label: str | None = None) -> dict[str, Any]:
    """A ``log`` action: a message, or a callable ``(context, event)`` returning one, logged
    at INFO on ``statefleet.xstate``."""
    return {"type": LOG, "params": {"expr": expr, "label": label}}


def emit(event: str | Mapping[str, Any]) -> dict[str, Any]:
    """An ``emit`` action: publish an event (a name or ``{"type": ..., ...}``) to the
    interpreter's ``on(type, handler)`` subscribers; the machine itself does not receive it."""
    return {"type": EMIT, "params": {"event": event}}


def _event_object(ev: Any, what: str) -> tuple[str, dict[str, Any]]:
    if isinstance(ev, Mapping):
        data = dict(ev)
        name = data.pop("type", None)
        if not isinstance(name, str):
            raise StatefleetError(f"{what}: an event object needs a string 'type', got {ev!r}")
        return name, data
    if isinstance(ev, str):
        return ev, {}
    raise StatefleetError(f"{what} takes an event name or object, not {ev!r}")


def _params(action: Any, key: str) -> Any:
    params = getattr(action, "params", None)
    if not isinstance(params, Mapping) or key not in params:
        raise StatefleetError(f"{getattr(action, 'type', 'action')} needs params.{key}")
    return params[key]


def _assign(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    assignment = _params(action, "assignment")
    if callable(assignment):
        update = assignment(context, event)
        if not isinstance(update, Mapping):
            raise StatefleetError(
                f"an assign function returns a mapping of context updates, not "
                f"{type(update).__name__}"
            )
    elif isinstance(assignment, Mapping):
        update = {k: v(context, event) if callable(v) else v for k, v in assignment.items()}
    else:
        raise StatefleetError("assign takes a mapping or a function (context, event)")
    context.update(update)


def _raise(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    name, data = _event_object(_params(action, "event"), "xstate.raise")
    raise_event = getattr(interpreter, "raise_", None)
    if raise_event is None:
        raise StatefleetError("xstate.raise needs an interpreter with raise_()")
    raise_event(name, **data)


def _emit(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    name, data = _event_object(_params(action, "event"), "xstate.emit")
    publish = getattr(interpreter, "publish", None)
    if publish is None:
        raise StatefleetError("xstate.emit needs an interpreter with on() subscribers")
    publish(name, data)


def _log(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    params = getattr(action, "params", None) or {}
    expr = params.get("expr", "")
    message = expr(context, event) if callable(expr) else expr
    label = params.get("label")
    log_.info("%s: %s" if label else "%s%s", label or "", message)


#: the built-in action types and their implementations (action signature of seed 001)
BUILTIN_ACTIONS: dict[str, Callable[[Any, dict[str, Any], Any, Any], None]] = {
    ASSIGN: _assign,
    RAISE: _raise,
    LOG: _log,
    EMIT: _emit,
}
