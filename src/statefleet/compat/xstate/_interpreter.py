"""XState's interpreter on statefleet: :class:`XStateSession` (seed 001's ``SyncInterpreter``).

It drives a chart read by :func:`statefleet.formats.from_dict` through a core
:class:`~statefleet.core.Session`, like every front-end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from statefleet.compat.xstate._errors import RunawayChainError, StateNotFoundError
from statefleet.compat.xstate._machine import event_checker, initial_context
from statefleet.compat.xstate._observers import Observable
from statefleet.compat.xstate._plugins import Pluggable, PluginBase, notify, report_step
from statefleet.compat.xstate._snapshots import snapshot_from_json, snapshot_json
from statefleet.core import (
    Chart,
    EventData,
    InfiniteLoopError,
    Listener,
    RealClock,
    Record,
    Session,
    Snapshot,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._xstate import XEvent, sets_done

__all__ = [
    "ActiveStates",
    "ActorSystemView",
    "Event",
    "StateIds",
    "XStateSession",
    "active_meta",
    "active_tags",
    "event_parts",
    "matches",
    "runaway",
    "state_by_id",
]


def runaway(chart: Chart, exc: InfiniteLoopError) -> RunawayChainError:
    """The :class:`RunawayChainError` for the core's bound being hit while running
    ``chart``."""
    return RunawayChainError(chart.id, chart.max_microsteps, f" ({exc})")


def state_by_id(chart: Chart, state_id: str) -> Any:
    """The chart's state node ``state_id`` (``"checkout.cart"``), or
    :class:`StateNotFoundError` naming the closest id."""
    node = chart.nodes_by_id.get(state_id) if isinstance(state_id, str) else None
    if node is None:
        raise StateNotFoundError(
            f"machine {chart.id!r} has no state {state_id!r}"
            + did_you_mean(state_id, chart.nodes_by_id)
        )
    return node


@dataclass(frozen=True)
class Event:
    """xstate-statemachine's event object, to send: ``send(Event("GO", payload={"n": 1}))``
    (callbacks receive an :class:`~statefleet.compat.xstate.XEvent`)."""

    type: str
    payload: Mapping[str, Any] = field(default_factory=dict)


def event_parts(
    event: str | Event | Mapping[str, Any], payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The name and payload of ``send(event, **payload)``: ``event`` is a name, an
    :class:`Event` or an XState event object ``{"type": name, ...}`` (its other keys join
    the payload)."""
    if isinstance(event, Event):
        return event.type, {**event.payload, **payload}
    if not isinstance(event, Mapping):
        return event, payload
    data = dict(event)
    name = data.pop("type", None)
    if not isinstance(name, str):
        raise StatefleetError(f"an event object needs a string 'type', got {event!r}")
    data.update(payload)
    return name, data


def matches(chart: Chart, configuration: frozenset[str], value: str) -> bool:
    """Is ``value`` active in ``configuration``: a state id (``"m.a.b"``, ``"#m.a"``) or a
    dotted key path from the machine's top-level states (``"a.b"``)?"""
    if value.startswith("#"):
        value = value[1:]
    if value in configuration:
        return True
    meta = chart.meta if isinstance(chart.meta, Mapping) else {}
    wrapper = meta.get("wrapper")
    node = chart.nodes_by_id[wrapper] if wrapper is not None else chart.root
    for part in value.split("."):
        nxt = next((c for c in node.child_states if _key(c) == part), None)
        if nxt is None or nxt.id not in configuration:
            return False
        node = nxt
    return True


def active_tags(chart: Chart, configuration: frozenset[str]) -> set[str]:
    """The ``tags`` of the active states (a config's ``"tags": [...]`` or ``"tags": "x"``)."""
    out: set[str] = set()
    nodes = chart.nodes_by_id
    for i in configuration:
        meta = nodes[i].meta if i in nodes else None
        tags = meta.get("tags") if isinstance(meta, Mapping) else None
        if isinstance(tags, str):
            out.add(tags)
        elif isinstance(tags, list | tuple):
            out.update(str(t) for t in tags)
    return out


def active_meta(chart: Chart, configuration: frozenset[str]) -> dict[str, Any]:
    """The ``meta`` of the active states that have one, by state id."""
    nodes = chart.nodes_by_id
    out: dict[str, Any] = {}
    for i in nodes:
        meta = nodes[i].meta if i in configuration else None
        if isinstance(meta, Mapping) and "meta" in meta:
            out[i] = meta["meta"]
    return out


class ActiveStates:
    """What both interpreters answer about the active states (``_active()`` gives the chart
    and the configuration): ``tags``, ``has_tag``, ``get_meta``, ``matches``."""

    def _active(self) -> tuple[Chart, frozenset[str]]:
        raise NotImplementedError

    @property
    def tags(self) -> set[str]:
        """The tags of the active states."""
        return active_tags(*self._active())

    def has_tag(self, tag: str) -> bool:
        """Does an active state carry ``tag``?"""
        return tag in self.tags

    def get_meta(self) -> dict[str, Any]:
        """The ``meta`` of the active states, by state id."""
        return active_meta(*self._active())

    def matches(self, value: str) -> bool:
        """Is ``value`` active: a dotted key path (``"processing.step1"``), or a state id
        (``"machine.processing.step1"``, ``"#machine.processing"``)?"""
        chart, configuration = self._active()
        return matches(chart, configuration, value)


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


class ActorSystemView:
    """The ``systemId`` registry of one interpreter hierarchy: ``get(id)``, ``get_all()``,
    ``id in system``."""

    def __init__(self, root: XStateSession) -> None:
        self._root = root

    def get_all(self) -> dict[str, XStateSession]:
        """Every actor registered under a ``systemId``, by that id."""
        out: dict[str, XStateSession] = {}
        stack = [self._root]
        while stack:
            node = stack.pop()
            for child in node.children.values():
                if child.system_id is not None:
                    out.setdefault(child.system_id, child)
                stack.append(child)
        return out

    def get(self, system_id: str) -> XStateSession | None:
        """The actor registered as ``system_id``, or None."""
        return self.get_all().get(system_id)

    def __contains__(self, system_id: object) -> bool:
        return system_id in self.get_all()


class _XSession(Session):
    """A core Session that knows its XStateSession (services receive it as ``interpreter``)
    and lets the built-in actions schedule and cancel delayed events, as the class DSL's
    session does (``compat.psm``)."""

    __slots__ = ("xstate",)

    def __init__(self, chart: Chart, xstate: XStateSession, **kw: Any) -> None:
        self.xstate = xstate
        # the initial entry's actions (a spawnChild, a delayed raise) already see this session
        xstate._session = self
        super().__init__(chart, owner=xstate, **kw)

    def schedule(
        self, name: str, data: dict[str, Any] | None, delay: float, sendid: str | None
    ) -> None:
        """From inside an action: send ``name`` to this session after ``delay`` seconds."""
        self._m.send(name, data or None, delay=delay, sendid=sendid)

    def cancel_send(self, sendid: str) -> None:
        """From inside an action: cancel the delayed send ``sendid`` (if still pending)."""
        self._m.cancel(sendid)

    @property
    def handled(self) -> bool:
        """Did a transition take the last event sent?"""
        return bool(self._m.handled)


class XStateSession(Observable, ActiveStates, Pluggable):
    """Run an XState chart synchronously, with seed 001's ``SyncInterpreter`` view.

    ``XStateSession(chart, context=...).start()`` enters the initial states (invoked services
    run now: their return value is the ``done.invoke`` event's data, an exception goes to
    ``onError``). ``send("EVENT", **payload)`` processes one event (the payload is
    ``event.data`` in callbacks). ``active_state_ids`` is the set of active leaf ids;
    ``context`` the machine's context; ``stop()`` ends it (later events are ignored).
    ``advance(seconds)`` moves the virtual clock, firing ``after`` timers. Actions receive this
    object as their ``interpreter`` argument.

    ``strict=True`` refuses events the machine never declares (:class:`UnknownEventError`;
    default: the config's ``strict``); a machine's ``event_schemas`` check payloads
    (:class:`InvalidEventPayloadError`). More than ``maxIterations`` microsteps in one
    macrostep is a :class:`RunawayChainError`. Children spawned by the ``spawnChild``
    built-in are in :attr:`children`.
    """

    def __init__(
        self,
        chart: Chart,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        strict: bool | None = None,
        input: Any = None,
    ) -> None:
        if not isinstance(chart, Chart):
            raise TypeError(f"XStateSession needs a compiled Chart, got {type(chart).__name__}")
        #: what the machine was started with (xstate-statemachine's ``input``)
        self.input = input
        self._check = event_checker(chart, strict)
        self._init_observers()
        #: children spawned by ``spawnChild``, by id
        self.children: dict[str, XStateSession] = {}
        #: the interpreter that spawned this one (``sendParent`` goes there)
        self.parent: XStateSession | None = None
        self.id: str = session_id or chart.id
        #: other names ``sendTo`` finds this one by in its parent (``systemId``, source)
        self.names: frozenset[str] = frozenset()
        #: the ``systemId`` it was spawned under, if any
        self.system_id: str | None = None
        self.chart = chart
        self._context = dict(context) if context is not None else None
        self._clock = clock
        self._session_id = session_id
        self._listeners = tuple(listeners)
        self._session: _XSession | None = None
        self._stopped = False
        meta = chart.meta if isinstance(chart.meta, Mapping) else {}
        self._done_sets: tuple[tuple[str, ...], ...] = tuple(meta.get("done_sets", ()))
        self._wrapper: str | None = meta.get("wrapper")
        self._plugins: list[PluginBase] = []

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
            try:
                _XSession(
                    self.chart,
                    self,
                    context=initial_context(self.chart, self._context, self.input),
                    clock=self._clock,
                    session_id=self._session_id,
                    listeners=self._listeners,
                )
            except RunawayChainError:
                raise
            except InfiniteLoopError as exc:
                raise runaway(self.chart, exc) from exc
            notify(self._plugins, "on_interpreter_start", self)
            nodes = self.chart.nodes_by_id
            report_step(self._plugins, self, nodes, "xstate.init", frozenset(), self.configuration)
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

    def send(self, event: str | Event | Mapping[str, Any], /, **payload: Any) -> None:
        """Process one event: a name (``payload`` becomes ``event.data``) or an XState event
        object ``{"type": name, ...}``. Ignored once the session is stopped or done.

        Raises :class:`UnknownEventError` / :class:`InvalidEventPayloadError` for an event
        strict mode or its schema refuses (nothing is processed) and
        :class:`RunawayChainError` when it leads to more than ``maxIterations`` microsteps.
        """
        if self._stopped:
            return
        # (a name, the usual event, is taken as it is: no call per event)
        name, data = (event, payload) if type(event) is str else event_parts(event, payload)
        if self._check is not None:
            self._check(name, data)
        session: Session | None = self._session
        if session is None:
            session = self.session  # raises: not started
        if not self._plugins and not self._state_listeners:
            self._step(session, name, data)
            return
        notify(self._plugins, "on_event_received", self, XEvent(EventData(name, data or None)))
        was_done = self.done
        before = session.configuration
        self._step(session, name, data)
        after = session.configuration
        taken = session.handled if isinstance(session, _XSession) else False
        report_step(self._plugins, self, self.chart.nodes_by_id, name, before, after, taken)
        if not was_done:
            self._report_done()
        if before != after:
            self._notify_subscribers()

    def _step(self, session: Session, name: str, data: dict[str, Any]) -> None:
        try:
            session.send(name, **data)
        except RunawayChainError:
            raise
        except InfiniteLoopError as exc:
            raise runaway(self.chart, exc) from exc

    def raise_(self, event: str, /, **payload: Any) -> None:
        """From inside an action: raise an internal event, processed in this macrostep
        before any event sent from outside (XState's ``raise``; strict mode and event schemas
        apply)."""
        if self._check is not None:
            self._check(event, payload)
        self.session.raise_(event, **payload)

    def stop(self) -> None:
        """Stop the session (and the children it spawned): timers stop firing and later
        events are ignored."""
        if self._stopped:
            return
        for child in list(self.children.values()):
            child.stop()
        self.children.clear()
        self._stopped = True
        if self._session is not None:
            notify(self._plugins, "on_interpreter_stop", self)
            self._notify_subscribers()

    # -- what the built-in actions use (sendTo, spawnChild, stopChild, delays, cancel) -------
    def schedule(self, name: str, data: dict[str, Any], delay: float, send_id: str | None) -> None:
        """From inside an action: send ``name`` to this machine after ``delay`` seconds on
        its clock (``send_id`` lets :meth:`cancel_send` cancel it)."""
        if self._check is not None:
            self._check(name, data)
        s = self._session
        if s is None:
            raise StatefleetError("the session is not started: call start() first")
        s.schedule(name, data, delay, send_id)

    def cancel_send(self, send_id: str) -> None:
        """From inside an action: cancel the delayed send ``send_id`` (nothing if it fired)."""
        s = self._session
        if s is not None:
            s.cancel_send(send_id)

    def actor(self, target: Any) -> XStateSession | None:
        """The interpreter ``target`` names for ``sendTo``: this one (its id), a child spawned
        by ``spawnChild`` (its id, ``systemId`` or source name), ``"parent"``/``"#parent"``,
        or an interpreter given as is."""
        if isinstance(target, XStateSession):
            return target
        if not isinstance(target, str):
            return None
        if target == self.id:
            return self
        if target in ("parent", "#parent", "#_parent"):
            return self.parent
        child = self.children.get(target)
        if child is not None:
            return child
        found = next((c for c in self.children.values() if target in c.names), None)
        return found if found is not None else self.system.get(target)

    def spawn_child(
        self, machine: Chart, child_id: str | None, system_id: str | None, input: Any
    ) -> XStateSession:
        """Start ``machine`` as a child interpreter (``spawnChild``): its id is ``child_id``
        (default ``<src>:<n>``), it may send to this one with ``sendParent``, and
        :meth:`stop` stops it. ``input`` is its ``input`` (see :func:`initial_context`)."""
        key = child_id or f"{machine.id}:{len(self.children)}"
        if key in self.children:
            raise StatefleetError(f"machine {self.chart.id!r} already has a child {key!r}")
        clock = self.session.clock
        child = XStateSession(machine, clock=clock, session_id=key, input=input)
        child.parent = self
        child.names = frozenset(n for n in (system_id, machine.id) if n)
        child.system_id = system_id
        self.children[key] = child
        child.start()
        return child

    def stop_child(self, child_id: Any) -> None:
        """Stop the child ``child_id`` names (see :meth:`actor`); nothing if there is none."""
        child = self.actor(child_id)
        if child is None or child is self or child is self.parent:
            return
        child.stop()
        for key, c in list(self.children.items()):
            if c is child:
                del self.children[key]

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
    def system(self) -> ActorSystemView:
        """The actors spawned with a ``systemId`` anywhere in this interpreter's hierarchy
        (xstate-statemachine's ``interpreter.system``)."""
        root = self
        while root.parent is not None:
            root = root.parent
        return ActorSystemView(root)

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
        """xstate-statemachine's status: ``"uninitialized"`` (not started), ``"running"``,
        ``"done"``, ``"stopped"`` or ``"error"`` (a runaway macrostep)."""
        if self._stopped:
            return "stopped"
        if self._session is None:
            return "uninitialized"
        if self.done:
            return "done"
        return "error" if self._session.status == "error" else "running"

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

    def _active(self) -> tuple[Chart, frozenset[str]]:
        return self.chart, self.session.configuration

    def can(self, event: str | Event | Mapping[str, Any]) -> bool:
        """Would ``event`` (a name or an event object) trigger a transition now (guards
        evaluated, nothing changes)?"""
        event = event_parts(event, {})[0]
        return not self._stopped and event in self.session.enabled_events()

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward, firing due ``after`` timers (not once stopped)."""
        if not self._stopped:
            self.session.advance(seconds)

    def poll(self) -> int:
        """Fire the timers due by a real clock; return how many fired."""
        return 0 if self._stopped else self.session.poll()

    def get_snapshot(self) -> str:
        """xstate-statemachine's snapshot: a JSON string with ``status``, ``context`` and
        ``state_ids`` (the active leaves), plus statefleet's whole snapshot (timers, history,
        children) under ``"statefleet"``; :meth:`from_snapshot` resumes it. The context must
        be JSON data (:class:`~statefleet.SnapshotError` otherwise)."""
        return snapshot_json(self.chart, self.status, self.current_state_ids, self.snapshot())

    @classmethod
    def from_snapshot(cls, snapshot: str | bytes, machine: Chart) -> XStateSession:
        """A started interpreter resuming :meth:`get_snapshot`'s JSON. A snapshot written by
        xstate-statemachine itself (``state_ids`` and ``context`` only) is adopted too: its
        states are entered as they are, without running entry actions or timers. An unknown
        state id is a :class:`StateNotFoundError`; anything else that does not fit the
        machine a :class:`~statefleet.SnapshotError`."""
        snap, status = snapshot_from_json(machine, snapshot)
        self = cls.restore(machine, snap)
        if status == "stopped":
            self._stopped = True
        return self

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
