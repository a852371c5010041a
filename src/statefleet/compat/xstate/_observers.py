"""What both xstate interpreters offer observers: ``on(type, handler)`` for the events a
machine emits (the ``emit`` built-in) and ``subscribe(listener)`` for its state changes.

A handler or listener that raises is logged on ``statefleet.xstate`` and does not disturb
the machine (xstate-statemachine's contract, and XState's since v5.20.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from statefleet.core import EventData
from statefleet.formats._xstate import XEvent

__all__ = ["Observable"]

log = logging.getLogger("statefleet.xstate")


def _unsubscriber(handlers: list[Any], handler: Any) -> Callable[[], None]:
    def unsubscribe() -> None:
        if handler in handlers:
            handlers.remove(handler)

    return unsubscribe


class Observable:
    """Mixin of :class:`XStateSession` and the async ``Interpreter``: emitted-event handlers
    and state subscribers."""

    _emit_handlers: dict[str, list[Callable[[XEvent], Any]]]
    _state_listeners: list[Callable[[Any], Any]]

    def _init_observers(self) -> None:
        self._emit_handlers = {}
        self._state_listeners = []

    def on(self, event_type: str, handler: Callable[[XEvent], Any]) -> Callable[[], None]:
        """Call ``handler(event)`` for every event the machine emits (``xstate.emit``) of type
        ``event_type`` (``"*"``: all). Returns a function that unsubscribes it."""
        if not isinstance(event_type, str) or not callable(handler):
            raise TypeError("on() takes an event type and a callable")
        handlers = self._emit_handlers.setdefault(event_type, [])
        handlers.append(handler)
        return _unsubscriber(handlers, handler)

    def publish(self, name: str, data: Mapping[str, Any] | None = None) -> None:
        """Deliver an emitted event to the :meth:`on` handlers of its type and of ``"*"``
        (what the ``xstate.emit`` action calls)."""
        event = XEvent(EventData(name, dict(data) if data else None))
        for key in (name, "*"):
            for handler in list(self._emit_handlers.get(key, ())):
                try:
                    handler(event)
                except Exception:
                    log.exception("emit handler for %r failed", name)

    def subscribe(self, listener: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``listener(interpreter)`` after every event that changed the active states,
        and when the machine finishes or stops (XState's ``actor.subscribe``). Returns a
        function that unsubscribes it."""
        if not callable(listener):
            raise TypeError("subscribe() takes a callable")
        self._state_listeners.append(listener)
        return _unsubscriber(self._state_listeners, listener)

    def _notify_subscribers(self) -> None:
        for listener in list(self._state_listeners):
            try:
                listener(self)
            except Exception:
                log.exception("subscriber of %r failed", self)
