"""XState's interpreter on statefleet: :class:`XStateSession` (seed 001's ``SyncInterpreter``).

It drives a chart read by :func:`statefleet.formats.from_dict` through a core
:class:`~statefleet.core.Session`, like every front-end.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from statefleet.compat.xstate._errors import StateNotFoundError
from statefleet.compat.xstate._plugins import PluginBase, check_plugin, notify, report_step
from statefleet.core import (
    Chart,
    EventData,
    Listener,
    RealClock,
    Record,
    Session,
    Snapshot,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._xstate import XEvent, sets_done

__all__ = ["StateIds", "XStateSession", "event_parts", "state_by_id"]


def state_by_id(chart: Chart, state_id: str) -> Any:
    """The chart's state node ``state_id`` (``"checkout.cart"``), or
    :class:`StateNotFoundError` naming the closest id."""
    node = chart.nodes_by_id.get(state_id) if isinstance(state_id, str) else None
    if node is None:
        close = difflib.get_close_matches(str(state_id), list(chart.nodes_by_id), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise StateNotFoundError(f"machine {chart.id!r} has no state {state_id!r}{hint}")
    return node


def event_parts(
    event: str | Mapping[str, Any], payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The name and payload of ``send(event, **payload)``: ``event`` is a name or an XState
    event object ``{"type": name, ...}`` (its other keys join the payload)."""
    if not isinstance(event, Mapping):
        return event, payload
    data = dict(event)
    name = data.pop("type", None)
    if not isinstance(name, str):
        raise StatefleetError(f"an event object needs a string 'type', got {event!r}")
    data.update(payload)
    return name, data


# -- the seed's interpreter view -------------------------------------------------------------
class StateIds(frozenset[str]):
    """A frozen set of state ids that iterates and prints in document order.

    Compares equal to any set with the same ids: ``ids == {"checkout.cart"}``.
    """

    _order: tuple[str, ...]

    def __new__(cls, ids: Iterable[str] = ()) -> StateIds:
        order = tuple(dict.fromkeys(ids))
        self = super().__new__(cls, order)
        self._order = order
        return self

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __repr__(self) -> str:
        if not self._order:
            return "set()"
        return "{" + ", ".join(repr(i) for i in self._order) + "}"


class _XSession(Session):
    """A core Session that knows its XStateSession (services receive it as ``interpreter``)."""

    __slots__ = ("xstate",)

    def __init__(self, chart: Chart, xstate: XStateSession, **kw: Any) -> None:
        self.xstate = xstate
        super().__init__(chart, owner=xstate, **kw)


class XStateSession:
    """Run an XState chart synchronously, with seed 001's ``SyncInterpreter`` view.

    ``XStateSession(chart, context=...).start()`` enters the initial states (invoked services
    run now: their return value is the ``done.invoke`` event's data, an exception goes to
    ``onError``). ``send("EVENT", **payload)`` processes one event (the payload is
    ``event.data`` in callbacks). ``active_state_ids`` is the set of active leaf ids;
    ``context`` the machine's context; ``stop()`` ends it (later events are ignored).
    ``advance(seconds)`` moves the virtual clock, firing ``after`` timers. Actions receive this
    object as their ``interpreter`` argument.
    """

    def __init__(
        self,
        chart: Chart,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    ) -> None:
        if not isinstance(chart, Chart):
            raise TypeError(f"XStateSession needs a compiled Chart, got {type(chart).__name__}")
        self.chart = chart
        self._context = dict(context) if context is not None else None
        self._clock = clock
        self._session_id = session_id
        self._listeners = tuple(listeners)
        self._session: Session | None = None
        self._stopped = False
        meta = chart.meta if isinstance(chart.meta, Mapping) else {}
        self._done_sets: tuple[tuple[str, ...], ...] = tuple(meta.get("done_sets", ()))
        self._wrapper: str | None = meta.get("wrapper")
        self._plugins: list[PluginBase] = []
        self._subscribers: dict[str, list[Callable[[XEvent], Any]]] = {}

    def on(self, event_type: str, handler: Callable[[XEvent], Any]) -> Callable[[], None]:
        """Call ``handler(event)`` for every event the machine emits (``xstate.emit``) of type
        ``event_type`` (``"*"``: all). Returns a function that unsubscribes it."""
        if not isinstance(event_type, str) or not callable(handler):
            raise TypeError("on() takes an event type and a callable")
        handlers = self._subscribers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, name: str, data: Mapping[str, Any] | None = None) -> None:
        """Deliver an emitted event to the :meth:`on` subscribers of its type and of ``"*"``
        (what the ``xstate.emit`` action calls)."""
        event = XEvent(EventData(name, dict(data) if data else None))
        for key in (name, "*"):
            for handler in list(self._subscribers.get(key, ())):
                handler(event)

    def use(self, plugin: PluginBase) -> XStateSession:
        """Register a :class:`PluginBase` (xstate-statemachine's ``use``); returns ``self``."""
        check_plugin(plugin)
        self._plugins.append(plugin)
        return self

    @classmethod
    def restore(
        cls,
        chart: Chart,
        snapshot: Snapshot,
        *,
        clock: VirtualClock | RealClock | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    ) -> XStateSession:
        """A started session resuming ``snapshot`` (see :meth:`snapshot`)."""
        self = cls(chart, clock=clock, listeners=listeners)
        self._session = _XSession(
            chart, self, snapshot=snapshot, clock=clock, listeners=self._listeners
        )
        return self

    def start(self) -> XStateSession:
        """Enter the initial states (once; later calls do nothing) and return ``self``."""
        if self._session is None:
            self._session = _XSession(
                self.chart,
                self,
                context=self._context,
                clock=self._clock,
                session_id=self._session_id,
                listeners=self._listeners,
            )
            notify(self._plugins, "on_interpreter_start", self)
            self._report_done()
        return self

    def _report_done(self) -> None:
        if self._plugins and self.done:
            notify(self._plugins, "on_done", self, self.output)

    def __enter__(self) -> XStateSession:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def session(self) -> Session:
        """The core :class:`~statefleet.Session` underneath (started on first use)."""
        if self._session is None:
            raise StatefleetError("the session is not started: call start() first")
        return self._session

    def send(self, event: str | Mapping[str, Any], /, **payload: Any) -> None:
        """Process one event: a name (``payload`` becomes ``event.data``) or an XState event
        object ``{"type": name, ...}``. Ignored once the session is stopped or done."""
        if self._stopped:
            return
        name, data = event_parts(event, payload)
        if not self._plugins:
            self.session.send(name, **data)
            return
        notify(self._plugins, "on_event_received", self, XEvent(EventData(name, data or None)))
        was_done = self.done
        before = self.session.configuration
        self.session.send(name, **data)
        report_step(
            self._plugins, self, self.chart.nodes_by_id, name, before, self.session.configuration
        )
        if not was_done:
            self._report_done()

    def raise_(self, event: str, /, **payload: Any) -> None:
        """From inside an action: raise an internal event, processed in this macrostep
        before any event sent from outside (XState's ``raise``)."""
        self.session.raise_(event, **payload)

    def stop(self) -> None:
        """Stop the session: timers stop firing and later events are ignored."""
        if not self._stopped and self._session is not None:
            notify(self._plugins, "on_interpreter_stop", self)
        self._stopped = True

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopped

    @property
    def active_state_ids(self) -> StateIds:
        """Ids of the active leaf states (a set that prints in document order)."""
        return StateIds(self.session.active_leaves)

    def get_state_by_id(self, state_id: str) -> Any:
        """The state node ``state_id`` (:class:`StateNotFoundError` if there is none)."""
        return state_by_id(self.chart, state_id)

    @property
    def current_state_ids(self) -> StateIds:
        """xstate-statemachine's name for :attr:`active_state_ids`."""
        return StateIds(self.session.active_leaves)

    @property
    def configuration(self) -> frozenset[str]:
        """Ids of every active state, leaves and their ancestors."""
        return self.session.configuration

    @property
    def context(self) -> dict[str, Any]:
        """The machine's context (the datamodel dict; actions mutate it in place)."""
        return self.session.context

    @property
    def done(self) -> bool:
        """True once the machine reached a top-level final state (every region of a parallel
        machine in a final state)."""
        s = self.session
        if s.done:
            return True
        if self._wrapper is None or s.status != "active":
            return False
        cfg = s.configuration
        return sets_done(self._done_sets, cfg.__contains__)

    @property
    def status(self) -> str:
        """``"active"``, ``"done"``, ``"stopped"`` or ``"error"``."""
        if self._stopped:
            return "stopped"
        return "done" if self.done else self.session.status

    @property
    def output(self) -> Any:
        """The top-level final state's ``output`` (``data``), when the machine is done."""
        return self.session.done_data

    @property
    def value(self) -> str | dict[str, Any]:
        """XState's state value: ``"cart"``, ``{"processing": "step1"}``,
        ``{"processing": {"upload": "uploading", "validate": "checking"}}``."""
        chart = self.chart
        active = self.session.configuration
        top = chart.root
        if self._wrapper is not None:
            top = chart.nodes_by_id[self._wrapper]
            if top.is_parallel:
                return {_key(c): _value(c, active) for c in top.child_states}
        value: str | dict[str, Any] = _value(top, active)
        return value

    def matches(self, value: str) -> bool:
        """Is the dotted key path ``value`` (``"processing.step1"``) active?"""
        node = self.chart.root
        if self._wrapper is not None:
            node = self.chart.nodes_by_id[self._wrapper]
        active = self.session.configuration
        for part in value.split("."):
            nxt = next((c for c in node.child_states if _key(c) == part), None)
            if nxt is None or nxt.id not in active:
                return False
            node = nxt
        return True

    def can(self, event: str) -> bool:
        """Would ``event`` trigger a transition now (guards evaluated)?"""
        return not self._stopped and event in self.session.enabled_events()

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward, firing due ``after`` timers (not once stopped)."""
        if not self._stopped:
            self.session.advance(seconds)

    def poll(self) -> int:
        """Fire the timers due by a real clock; return how many fired."""
        return 0 if self._stopped else self.session.poll()

    def snapshot(self) -> Snapshot:
        """An immutable snapshot (restore it with :meth:`XStateSession.restore`)."""
        return self.session.snapshot()

    def __repr__(self) -> str:
        ids = self.active_state_ids if self._session is not None else "not started"
        return f"<XStateSession {self.chart.id!r} {ids!r}>"


def _key(node: Any) -> str:
    meta = node.meta
    key = meta.get("xstate_key") if isinstance(meta, Mapping) else None
    return str(key) if key else str(node.id)


def _value(node: Any, active: frozenset[str]) -> Any:
    """XState state value below ``node`` (a compound state or the root)."""
    if node.is_parallel:
        return {_key(c): _value(c, active) for c in node.child_states}
    for c in node.child_states:
        if c.id in active:
            if not c.child_states:
                return _key(c)
            return {_key(c): _value(c, active)}
    return {}
