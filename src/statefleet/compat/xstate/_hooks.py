"""xstate-statemachine's per-action and per-service plugin hooks, bound by ``create_machine``.

The caller's actions and services are bound into the compiled chart, which every interpreter
of it shares; so ``create_machine`` binds each one the config names through a thin wrapper
that asks the interpreter running it for its plugins and calls their hooks:
``on_action_execute(interpreter, action_def)`` before an action and
``on_action_error(interpreter, action_def, error)`` when it raises (the error then goes on
as ``error.execution``); ``on_service_start(interpreter, service)``, then
``on_service_done(interpreter, service, result)`` or
``on_service_error(interpreter, service, error)`` around a service function, where
``service`` is a :class:`ServiceInfo` (``src``). Without plugins a wrapper costs one call
and one lookup.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from statefleet.compat.xstate._plugins import notify
from statefleet.core import Chart
from statefleet.formats._resolve import MISSING, Kind, Resolver, positional_arity

__all__ = ["ServiceInfo", "observed"]


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What the service hooks receive as the invocation: the service's name (``src``)."""

    src: str


def _plugins(interpreter: Any) -> tuple[Any, Any]:
    """The plugins of the xstate interpreter running this (and that interpreter): the sync
    one is passed itself; under actors the ref leads to the async front, if any."""
    hooks = getattr(interpreter, "plugin_hooks", None)
    if isinstance(hooks, tuple):
        return hooks, interpreter
    return _front_plugins(interpreter)


def _front_plugins(interpreter: Any) -> tuple[Any, Any]:
    """:func:`_plugins` of an interpreter that has none itself (an actor's ref): its async
    front's, if any."""
    front_for = getattr(getattr(interpreter, "chart", None), "front_for", None)
    front = front_for(interpreter) if front_for is not None else None
    hooks = getattr(front, "plugin_hooks", None)
    return (hooks, front) if isinstance(hooks, tuple) else ((), interpreter)


def _observed_action(fn: Callable[..., Any]) -> Callable[..., Any]:
    n = positional_arity(fn, 4)
    call: Callable[[Any, Any, Any, Any], Any]
    if n == 4:
        call = fn
    else:

        def call(interpreter: Any, context: Any, event: Any, action_def: Any) -> Any:
            # xstate's shorter action forms: (), (context), (context, event), (context,
            # event, action_def)
            return fn(*(context, event, action_def)[:n])

    def action(interpreter: Any, context: Any, event: Any, action_def: Any) -> Any:
        # the sync interpreter is passed itself: its plugins are one attribute read away
        # (the usual case, no plugins: the user's function is the only other call)
        hooks = getattr(interpreter, "plugin_hooks", None)
        who = interpreter
        if type(hooks) is not tuple:
            hooks, who = _front_plugins(interpreter)
        if not hooks:
            return call(interpreter, context, event, action_def)
        notify(hooks, "on_action_execute", who, action_def)
        try:
            return call(interpreter, context, event, action_def)
        except Exception as exc:
            notify(hooks, "on_action_error", who, action_def, exc)
            raise

    action.__name__ = getattr(fn, "__name__", "action")
    return action


def _observed_service(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    n = positional_arity(fn, 4)
    info = ServiceInfo(name)

    def call(args: tuple[Any, Any, Any, Any]) -> Any:
        # xstate's service forms: (), (context), (context, event), (interpreter, context,
        # event), (interpreter, context, event, data)
        return fn(*args[1 : n + 1]) if n < 3 else fn(*args[:n])

    if inspect.iscoroutinefunction(fn):

        async def async_service(interpreter: Any, context: Any, event: Any, data: Any) -> Any:
            plugins, who = _plugins(interpreter)
            notify(plugins, "on_service_start", who, info)
            try:
                result = await call((interpreter, context, event, data))
            except Exception as exc:
                notify(plugins, "on_service_error", who, info, exc)
                raise
            notify(plugins, "on_service_done", who, info, result)
            return result

        async_service.__name__ = name
        return async_service

    def service(interpreter: Any, context: Any, event: Any, data: Any) -> Any:
        plugins, who = _plugins(interpreter)
        notify(plugins, "on_service_start", who, info)
        try:
            result = call((interpreter, context, event, data))
        except Exception as exc:
            notify(plugins, "on_service_error", who, info, exc)
            raise
        notify(plugins, "on_service_done", who, info, result)
        return result

    service.__name__ = name
    return service


def observed(
    kind: Kind, names: set[str], user: Resolver, given: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``given`` (the mapping for the reader) with the caller's own implementation of every
    ``kind`` name in ``names`` wrapped with its hooks (built-ins and charts are not)."""
    out = dict(given or {})
    wrap = _observed_action if kind == "action" else None
    for name in names:
        fn = user.lookup(kind, name)
        if fn is MISSING or not callable(fn) or isinstance(fn, Chart | type):
            continue
        out[name] = wrap(fn) if wrap is not None else _observed_service(fn, name)
    return out if out else (None if given is None else dict(given))
