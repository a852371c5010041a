"""The public face of the core: :class:`Chart` (pure steps) and :class:`Session` (sync driver)."""

from __future__ import annotations

import copy
import heapq
import inspect
import itertools
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from statefleet.core._algorithm import _NO_EFFECTS, BLANK, Interpreter, Rare, _Tables
from statefleet.core._chart import Node, Transition, build_tables
from statefleet.core._effects import (
    AwaitEffect,
    CancelInvokeEffect,
    Effect,
    InvokeEffect,
    LogEffect,
    ScheduleEffect,
    SendEffect,
)
from statefleet.core._errors import InfiniteLoopError, InvalidEventError, StatefleetError
from statefleet.core._events import EventData
from statefleet.core._model import ChartSpec, DataSpec
from statefleet.core._records import (
    ActionFailed,
    ActorSpawned,
    InvocationCancelled,
    InvocationDone,
    InvocationFailed,
    InvocationStarted,
    Listener,
    Record,
    as_listeners,
)
from statefleet.core._routing import (
    CHILD,
    NAMED,
    PARENT,
    SELF,
    SESSION,
    communication_error,
    from_invocation,
    target_kind,
)
from statefleet.core._snapshot import Snapshot, check_snapshot, needs_no_recheck
from statefleet.core._step import Step

if TYPE_CHECKING:
    import logging

__all__ = [
    "Chart",
    "Invocation",
    "RealClock",
    "Session",
    "VirtualClock",
    "compile_chart",
]


def _log() -> logging.Logger:
    """The ``statefleet`` logger, loading :mod:`logging` on first use: it costs about 4 ms, a
    tenth of ``import statefleet.core``, and only a failing listener or a ``<log>`` needs it."""
    import logging

    return logging.getLogger("statefleet")


#: how many events one call may handle at one instant before it raises
#: :class:`~statefleet.InfiniteLoopError`: delayed events falling due within
#: :data:`TIMER_INSTANT` seconds of each other in one ``advance``/``poll``, or events one input
#: (``start``, ``send``, a timer) leads the session to handle. A zero-delay timer or send that
#: re-arms itself would otherwise never return.
MAX_EVENTS_PER_INSTANT = 100_000
#: the width of "one instant" for delayed events (a nanosecond)
TIMER_INSTANT = 1e-9


class Chart:
    """A compiled, immutable statechart shared by all its instances.

    Build one with :func:`compile_chart` (or a reader: ``from_dict``, ``from_yaml``,
    ``from_scxml``, a ``StateChart`` class). ``transition`` is the pure step; ``start`` and
    ``restore`` give a sync :class:`Session`.
    """

    http_type = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"

    def __init__(self, spec: ChartSpec) -> None:
        root, nodes, by_id, transitions = build_tables(spec)
        self.spec = spec
        self.id = spec.id
        self.name = spec.name or spec.id
        self.version = str(spec.version)
        self.binding = spec.binding
        self.max_microsteps = spec.max_microsteps
        self.scripts = tuple(spec.scripts)
        self.meta = spec.meta
        #: ``meta["escape"]``: a front-end's ``escape(exc)`` returning the exception to raise
        #: out of the engine instead of ``error.execution`` (or ``None`` to raise it as usual)
        self.escape: Callable[[BaseException], BaseException | None] | None = (
            spec.meta.get("escape") if isinstance(spec.meta, dict) else None
        )
        self.root = root
        self.nodes: tuple[Node, ...] = tuple(nodes[1:])
        self.nodes_by_id: dict[str, Node] = by_id
        self.transitions: tuple[Transition, ...] = tuple(transitions)
        data: list[DataSpec] = list(root.data)
        for n in self.nodes:
            data.extend(n.data)
        self.all_data: tuple[DataSpec, ...] = tuple(data)
        self._tables = _Tables(self)
        #: the snapshot of this chart's last pure step and its active nodes: the next
        #: ``transition`` from it skips the full check (~25% of a pure step), see _checked
        self._last: tuple[Snapshot, tuple[Node, ...]] | None = None
        names: list[str] = []
        for t in self.transitions:
            for d in t.descriptors:
                if d != "*" and not d.startswith("$") and d not in names:
                    names.append(d)
        #: event names used by the chart's transitions, in document order
        self.events: tuple[str, ...] = tuple(names)

    def __repr__(self) -> str:
        return f"<Chart {self.id!r} v{self.version}: {len(self.nodes)} states>"

    @property
    def state_ids(self) -> tuple[str, ...]:
        """Every state id, in document order."""
        return tuple(n.id for n in self.nodes)

    # -- the pure API -----------------------------------------------------------------------
    def engine(self, rare: Rare = BLANK) -> Interpreter:
        """A fresh engine instance of this chart (for drivers such as the actor runtime,
        which run the SCXML algorithm themselves; most programs use :meth:`start`).
        ``rare``: the driver's shared settings for its engines (``Rare.shared_by``)."""
        return Interpreter(self._tables, rare)

    def _step(self, m: Interpreter, event: EventData | None, before: tuple[str, ...]) -> Step:
        snapshot = m.to_snapshot()
        self._last = (snapshot, m.cfg.ordered)
        return Step(
            snapshot=snapshot,
            event=event,
            microsteps=tuple(m.record or ()),
            effects=tuple(m.effects),
            errors=tuple(m.errors),
            configuration_before=before,
        )

    def initial(
        self,
        *,
        context: Mapping[str, Any] | None = None,
        now: float = 0.0,
        session_id: str | None = None,
    ) -> Step:
        """The initial step: enter the initial configuration. Pure: no clock, no I/O."""
        m = self.engine()
        m.record = []
        m.clock_reading = now
        m.session_id = session_id or new_session_id()
        m.start(dict(copy.deepcopy(context)) if context else None)
        return self._step(m, None, ())

    def transition(
        self, snapshot: Snapshot, event: str | EventData, *, now: float = 0.0, **data: Any
    ) -> Step:
        """Process one event from ``snapshot`` and return the :class:`Step`.

        Never mutates ``snapshot`` (its context is deep-copied) and never reads a clock.
        """
        ev = _event(event, data)
        m = self.engine()
        m.load_snapshot(snapshot, self._checked(snapshot))
        m.context = copy.deepcopy(snapshot.context)
        m.record = []
        m.clock_reading = now
        before = m.cfg.ids
        if m.running:
            m.macrostep(ev)
        return self._step(m, ev, before)

    def _checked(self, snapshot: Snapshot) -> Sequence[Node]:
        """:meth:`validate`, skipped for the very snapshot this chart's last pure step made
        when nothing that can change in place in it needs a check again (a snapshot from
        anywhere else, decoded, rebuilt or replaced, always gets the full check)."""
        last = self._last
        if last is not None and last[0] is snapshot and needs_no_recheck(snapshot):
            return last[1]
        return self.validate(snapshot)

    def validate(self, snapshot: Snapshot) -> list[Node]:
        """Check that ``snapshot`` fits this chart; return its active nodes.

        Raises :class:`SnapshotError` naming what does not fit.
        """
        return check_snapshot(self, snapshot)

    # -- sessions ---------------------------------------------------------------------------
    def start(
        self,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    ) -> Session:
        """Start a new sync :class:`Session` at the initial configuration."""
        return Session(
            self, context=context, clock=clock, session_id=session_id, listeners=listeners
        )

    def restore(
        self,
        snapshot: Snapshot,
        *,
        clock: VirtualClock | RealClock | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    ) -> Session:
        """A sync :class:`Session` resuming ``snapshot`` exactly (history, timers, children)."""
        return Session(self, clock=clock, listeners=listeners, snapshot=snapshot)


def compile_chart(spec: ChartSpec) -> Chart:
    """Validate and compile a :class:`ChartSpec` (raises ``ChartDefinitionError``)."""
    return Chart(spec)


def _event(event: str | EventData, data: Mapping[str, Any] | None) -> EventData:
    if type(event) is str:
        if not event:
            raise InvalidEventError("an event needs a non-empty name")
        return EventData(event, dict(data) if data else None)
    if isinstance(event, EventData):
        return event
    raise InvalidEventError(f"an event is a name or an EventData, not {type(event).__name__}")


class VirtualClock:
    """A clock that moves only when told to: time-based tests take no time."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current virtual time, in seconds."""
        return self._now

    def set(self, now: float) -> None:
        """Move the clock to ``now`` (never backwards)."""
        self._now = max(self._now, now)


class RealClock:
    """Wall-clock time (``time.time()``), so due times survive restarts."""

    __slots__ = ()

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def set(self, now: float) -> None:
        """Real time cannot be moved; this does nothing."""


class Invocation:
    """What a callable invoked service receives: the same object in every driver (a sync
    :class:`Session`, ``statefleet simulate``, an ``ActorSystem``).

    ``id`` is the invoke id, ``data`` the evaluated params, ``context`` the parent's
    datamodel (read it, do not mutate it), ``event`` the event whose macrostep entered the
    invoking state, ``parent`` the id of the invoking session or actor, ``cancelled`` whether
    the invoking state was left (events sent then are dropped). ``send(name, **data)`` sends
    an event to the parent. ``owner`` is the driver's own object (the :class:`Session`, or
    the ``ActorRef``): code that uses it runs under that driver only.
    """

    def __init__(
        self,
        id: str,
        data: Any,
        context: dict[str, Any],
        event: EventData | None,
        send: Callable[..., None],
        owner: Any = None,
        *,
        parent: str = "",
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.id = id
        self.data = data
        self.context = context
        self.event = event
        self._send = send
        self.owner = owner
        #: the id of the invoking session or actor
        self.parent = parent
        self._cancelled = cancelled

    @property
    def cancelled(self) -> bool:
        """Was the invocation cancelled (its state left, its parent stopped)?"""
        return self._cancelled is not None and self._cancelled()

    def send(self, name: str, /, **data: Any) -> None:
        """Send an event to the invoking session or actor (dropped once cancelled)."""
        self._send(name, data or None)


_NO_QUEUE: list[EventData] = []
_NO_CHILDREN: dict[str, Any] = {}


class _Family:
    """The timers a session tree shares (created when the first timer is set)."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, int, Session, str]] = []
        self.seq = itertools.count()


_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def new_session_id() -> str:
    """A process-unique session id (cheap: a random prefix and a counter)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):x}"


class Session:
    """A chart instance driven synchronously, in process.

    ``send`` processes the event as one macrostep before returning (events sent from inside
    callbacks are queued and processed right after, run-to-completion). Delayed events wait on
    the session's clock: a :class:`VirtualClock` by default (move it with :meth:`advance`), or
    a :class:`RealClock` (call :meth:`poll`; ``send`` never sleeps).
    """

    def __init__(
        self,
        chart: Chart,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        snapshot: Snapshot | None = None,
        owner: Any = None,
        _parent: Session | None = None,
        _invokeid: str | None = None,
        _start: bool = True,
    ) -> None:
        self.chart = chart
        m = self._m = chart.engine()
        m.owner = owner if owner is not None else self
        self._queue: list[EventData] = _NO_QUEUE
        self._busy = False
        self._parent = _parent
        self._invokeid = _invokeid
        self._children: dict[str, Session | None] = _NO_CHILDREN
        self._cancelled = False
        self._reported = False
        # a listener declaring ``record_types = ()`` wants nothing (a no-op tracer): skipped
        self._listeners = (
            tuple(
                fn
                for fn in as_listeners(listeners)
                if getattr(getattr(fn, "__self__", None), "record_types", None) != ()
            )
            if listeners
            else ()
        )
        self._trace_fns = _trace_fns(self._listeners) if self._listeners else ()
        self._logs: list[tuple[str | None, Any]] | None = None
        #: a hook for send targets the session does not know: ``router(target, event)``
        #: returns True when it took the event
        self.router: Callable[[str, EventData], bool] | None = None
        self._fam: _Family | None = None  # timers, created when first needed
        if _parent is not None:
            self._clock: VirtualClock | RealClock = _parent._clock
        else:
            self._clock = clock if clock is not None else VirtualClock()
        if snapshot is not None:
            nodes = chart.validate(snapshot)
            m.load_snapshot(snapshot, nodes)
            m.context = copy.deepcopy(snapshot.context)
            for de in snapshot.pending:
                self._push_timer(de.due, de.sendid)
            for rec, spec in m.invocations.values():
                if isinstance(spec.src, Chart) and rec.invokeid in snapshot.children:
                    child = Session(
                        spec.src,
                        snapshot=snapshot.children[rec.invokeid],
                        _parent=self,
                        _invokeid=rec.invokeid,
                    )
                    self._add_child(rec.invokeid, child)
            return
        m.session_id = session_id or new_session_id()
        if _start:
            self._start(context)

    # No ``__slots__``, on purpose: on Python >= 3.12 an instance keeps its attributes
    # inline (fast ``self.x``) only if no base class has slots, and a class-DSL chart
    # subclasses Session (issue 16: W3 class DSL on 3.13 1,560 -> 1,287 ns an event; an
    # idle Session ~48 B bigger)

    @property
    def logs(self) -> list[tuple[str | None, Any]]:
        """``(label, value)`` pairs of ``<log>`` effects, in order."""
        if self._logs is None:
            self._logs = []
        return self._logs

    def _start(self, context: Mapping[str, Any] | None) -> None:
        m = self._m
        m.clock_reading = self._clock.now()
        self._busy = True
        try:
            if self._listeners:
                m.record = []
                self._publish(
                    ActorSpawned(
                        actor=m.session_id,
                        ts=m.now,
                        chart_id=self.chart.id,
                        chart_version=self.chart.version,
                        parent=self._parent.session_id if self._parent is not None else None,
                    )
                )
                t0 = time.perf_counter()
                m.start(dict(context) if context else None)
                self._after_step(None, (), t0)
            else:
                m.start(dict(context) if context else None)
                if m.effects:
                    self._apply_effects()
                m.clear_errors()
        finally:
            self._busy = False
        if self._queue:
            self._run()
        self._check_done()

    @property
    def _family(self) -> _Family:
        root = self._root()
        if root._fam is None:
            root._fam = _Family()
        return root._fam

    def _root(self) -> Session:
        s = self
        while s._parent is not None:
            s = s._parent
        return s

    def _find(self, session_id: str) -> Session | None:
        if self._m.session_id == session_id:
            return self
        for child in self._children.values():
            if isinstance(child, Session):
                found = child._find(session_id)
                if found is not None:
                    return found
        return None

    # -- public API -------------------------------------------------------------------------
    @property
    def clock(self) -> VirtualClock | RealClock:
        """The clock delayed events wait on."""
        return self._clock

    @property
    def configuration(self) -> frozenset[str]:
        """Ids of every active state."""
        return self._m.cfg.id_set

    @property
    def configuration_values(self) -> frozenset[str]:
        """Ids of every active state (named as in python-statemachine)."""
        return self._m.cfg.id_set

    @property
    def active_leaves(self) -> tuple[str, ...]:
        """Ids of the active atomic states, in document order."""
        return tuple(n.id for n in self._m.cfg.atomic)

    @property
    def context(self) -> dict[str, Any]:
        """The datamodel (mutable; changes outside callbacks are yours to own)."""
        return self._m.context

    @property
    def status(self) -> str:
        """``"active"``, ``"done"`` (a top-level final state was reached) or ``"error"``."""
        return self._m.status

    @property
    def done(self) -> bool:
        """True once a top-level final state was reached."""
        return self._m.status == "done"

    @property
    def done_data(self) -> Any:
        """The donedata of the top-level final state reached, if any."""
        return self._m.done_data

    @property
    def session_id(self) -> str:
        """This session's id (SCXML ``_sessionid``)."""
        return self._m.session_id

    def is_active(self, state_id: str) -> bool:
        """Is ``state_id`` in the configuration?"""
        return state_id in self._m.cfg.id_set

    def send(self, event: str | EventData, /, **data: Any) -> None:
        """Process ``event`` (with ``data`` as its payload) as one macrostep.

        Never raises for user errors (they become ``error.execution``); raises
        :class:`~statefleet.InvalidEventError` for a malformed event and
        :class:`~statefleet.InfiniteLoopError` for a runaway macrostep.
        """
        if type(event) is str and event:
            ev = EventData(event, data or None)
        elif type(event) is EventData:
            ev = event  # a front-end's own event (the class DSL builds one per send)
        else:
            ev = _event(event, data)
        self._send_event(ev)

    def _send_event(self, ev: EventData, /) -> None:
        """:meth:`send` of a ready event: what ``send`` does once it has its event, and
        what a front-end holding one calls itself (a class-DSL event method's own
        payload-less event: without ``send``'s keyword dict and type dispatch, ~60 ns of a
        ~600 ns guarded counter event on 3.13, ~25 on 3.11)."""
        if self._busy or self._queue or self._listeners:
            self._enqueue(ev)
            return
        # fast path: an idle session, nothing queued, nobody listening. It repeats the quiet
        # branch of _run's loop on purpose: a shared helper costs ~5% of a plain event (W1)
        m = self._m
        if not m.x.running:  # (the engine's Rare: a descriptor call less per event)
            return
        self._busy = True
        try:
            # the clock itself: the engine reads it only if the step needs the time (issue
            # 16: a clock call is ~8% of a plain event)
            m.clock_reading = self._clock
            m.macrostep(ev)
            # ``attention``: the step left effects or errors (one test for both; settled
            # once they are handled)
            if m.attention:
                if m.effects:
                    self._apply_effects()
                m.clear_errors()
                m.settle()
        finally:
            self._busy = False
        if self._queue:
            self._run()
        elif self._parent is not None:
            self._check_done()

    def raise_(self, event: str, /, **data: Any) -> None:
        """Raise an internal event from inside a callback (processed in this macrostep)."""
        self._m.raise_(event, data or None)

    def snapshot(self) -> Snapshot:
        """An immutable snapshot of this session, its children included."""
        snap = self._m.to_snapshot()
        ctx = copy.deepcopy(snap.context)
        children = {k: c.snapshot() for k, c in self._children.items() if isinstance(c, Session)}
        return msgspec.structs.replace(snap, context=ctx, children=children)

    def enabled_events(self) -> list[str]:
        """Event names that would trigger a transition now (guards evaluated, side-effect free)."""
        return self._m.enabled_events()

    def advance(self, seconds: float) -> None:
        """Move a virtual clock forward, firing due delayed events in due-time order.

        Raises :class:`~statefleet.InfiniteLoopError` when more than
        :data:`MAX_EVENTS_PER_INSTANT` delayed events fall due at one instant (a zero-delay
        timer that re-arms itself); the clock then stays at that instant."""
        clock = self._clock
        if not isinstance(clock, VirtualClock):
            raise StatefleetError("advance() needs a VirtualClock; use poll() with a real one")
        if seconds < 0:
            raise ValueError("cannot advance by a negative duration")
        until = clock.now() + seconds
        self._fire_due(until)
        clock.set(until)

    def poll(self) -> int:
        """Fire every delayed event that is due now; return how many fired."""
        return self._fire_due(self._clock.now())

    @property
    def next_due(self) -> float | None:
        """When the next delayed event is due (clock seconds), or None."""
        timers = self._family.timers
        while timers:
            due, _, sess, sid = timers[0]
            de = sess._m.pending.get(sid)
            if de is not None and de.due == due and not sess._cancelled:
                return due
            heapq.heappop(timers)
        return None

    # -- the run loop -----------------------------------------------------------------------
    def _run(self) -> None:
        m = self._m
        self._busy = True
        handled = 0
        try:
            while self._queue:
                ev = self._queue.pop(0)
                if not m.x.running:
                    continue
                handled += 1
                if handled > MAX_EVENTS_PER_INSTANT:
                    self._queue.insert(0, ev)  # still queued, not lost
                    raise InfiniteLoopError(
                        f"chart {m.chart.id!r}: more than {MAX_EVENTS_PER_INSTANT} events"
                        f" handled for one input (last {ev.name!r}); events the chart sends"
                        " itself without delay keep it busy forever"
                    )
                m.clock_reading = self._clock.now()
                if self._listeners:
                    m.record = []
                    m.clear_errors()
                    before = m.cfg.ids
                    t0 = time.perf_counter()
                    m.macrostep(ev)
                    self._after_step(ev, before, t0)
                else:
                    m.macrostep(ev)
                    if m.attention:
                        if m.effects:
                            self._apply_effects()
                        m.clear_errors()
                        m.settle()
        finally:
            self._busy = False
        self._check_done()

    def _publish(self, record: Record) -> None:
        for fn in self._listeners:
            try:
                fn(record)
            except Exception:
                _log().exception("statefleet listener %r failed", fn)

    def _after_step(self, ev: EventData | None, before: tuple[str, ...], t0: float) -> None:
        m = self._m
        duration = time.perf_counter() - t0
        for err in m.errors:
            self._publish(
                ActionFailed(actor=m.session_id, ts=m.now, error=err, event=ev.name if ev else None)
            )
        self._publish(m.step_record(m.session_id, ev, before, duration))
        m.start_record()  # (the next step's)
        if self._trace_fns and m.effects:
            for fn in self._trace_fns:
                headers = fn(m.session_id)
                if headers:
                    m.stamp_trace(headers)
                    break
        if m.effects:
            self._apply_effects()
        m.clear_errors()

    def _check_done(self) -> None:
        if self._parent is not None and not self._reported and self._m.status == "done":
            self._reported = True
            if not self._cancelled:
                self._parent._invocation_record(InvocationDone, self._invokeid or "")
                self._parent._enqueue(
                    EventData(
                        f"done.invoke.{self._invokeid}",
                        self._m.done_data,
                        invokeid=self._invokeid,
                        origin=f"#_{self._invokeid}",
                    )
                )

    def _add_child(self, invokeid: str, child: Session | None) -> None:
        if self._children is _NO_CHILDREN:
            self._children = {}
        self._children[invokeid] = child

    def _enqueue(self, ev: EventData) -> None:
        if self._queue is _NO_QUEUE:
            self._queue = [ev]
        else:
            self._queue.append(ev)
        if not self._busy:
            self._run()

    # -- effects ----------------------------------------------------------------------------
    def _apply_effects(self) -> None:
        m = self._m
        while (x := m.x).effects:  # (the engine's Rare; not empty: a private one)
            effects = x.effects
            x.effects = _NO_EFFECTS
            for e in effects:
                self._apply(e)

    def _apply(self, e: Effect) -> None:
        if isinstance(e, SendEffect):
            self._deliver(e.event, e.target)
        elif isinstance(e, ScheduleEffect):
            self._push_timer(e.due, e.sendid)
        elif isinstance(e, InvokeEffect):
            self._start_invoke(e)
        elif isinstance(e, CancelInvokeEffect):
            child = self._children.pop(e.invokeid, None)
            self._invocation_record(InvocationCancelled, e.invokeid)
            if isinstance(child, Session):
                child._cancel()
        elif isinstance(e, LogEffect):
            if self._logs is None:
                self._logs = []
            self._logs.append((e.label, e.value))
            _log().info("%s: %r", e.label or "log", e.value)
        elif isinstance(e, AwaitEffect):
            self._run_awaitable(e.awaitable, e.label)
        # CancelEffect: the timer heap drops cancelled timers lazily

    def _push_timer(self, due: float, sendid: str) -> None:
        fam = self._family
        heapq.heappush(fam.timers, (due, next(fam.seq), self, sendid))

    def _fire_due(self, until: float) -> int:
        fam = self._family
        fired = 0
        instant, at_instant = -math.inf, 0  # the current instant and how many fired in it
        while fam.timers and fam.timers[0][0] <= until:
            due, _, sess, sid = heapq.heappop(fam.timers)
            de = sess._m.pending.get(sid)
            if de is None or de.due != due or sess._cancelled or not sess._m.running:
                continue
            if due - instant > TIMER_INSTANT:
                instant, at_instant = due, 0
            at_instant += 1
            if at_instant > MAX_EVENTS_PER_INSTANT:
                heapq.heappush(fam.timers, (due, _, sess, sid))  # still pending, not lost
                raise InfiniteLoopError(
                    f"chart {sess._m.chart.id!r}: more than {MAX_EVENTS_PER_INSTANT} delayed"
                    f" events fell due at t={due:g} (last: {de.event.name!r}, send id"
                    f" {sid!r}); a zero-delay timer re-arms itself and time cannot pass"
                )
            self._clock.set(due)
            fired += 1
            if de.target is None:
                sess._enqueue(de.event)
            else:
                sess._m.take_timer(sid)
                sess._apply_effects()
                sess._deliver(de.event, de.target)
        return fired

    def _deliver(self, ev: EventData, target: str | None) -> None:
        if self._cancelled:
            return
        kind, key = target_kind(target)
        if kind == SELF:
            self._enqueue(ev)
            return
        assert target is not None
        if kind == PARENT:
            if self._parent is not None:
                self._parent._enqueue(from_invocation(ev, self._invokeid))
                return
        elif kind == SESSION:
            sess = self._root()._find(key)
            if sess is not None:
                sess._enqueue(ev)
                return
        elif kind == CHILD:
            child = self._children.get(key)
            if isinstance(child, Session):
                child._enqueue(ev)
                return
        elif kind == NAMED and self.router is not None and self.router(target, ev):
            return
        self._enqueue(communication_error(target, ev))

    def _invocation_record(self, cls: Callable[..., Record], invokeid: str, **fields: Any) -> None:
        if self._listeners:
            m = self._m
            self._publish(cls(actor=m.session_id, ts=m.now, invokeid=invokeid, **fields))

    def _start_invoke(self, e: InvokeEffect) -> None:
        src = e.src
        invokeid = e.invokeid
        self._invocation_record(InvocationStarted, invokeid, state=e.state, kind=e.kind)
        if isinstance(src, Chart):
            data = e.data if isinstance(e.data, dict) else None
            child = Session(
                src,
                _parent=self,
                _invokeid=invokeid,
                _start=False,
                listeners=self._listeners,
            )
            self._add_child(invokeid, child)
            child._start(data)
            return
        if callable(src):
            self._add_child(invokeid, None)

            def to_parent(name: str, data: Any = None) -> None:
                if invokeid in self._children:
                    self._enqueue(EventData(name, data, invokeid=invokeid))

            inv = Invocation(
                invokeid,
                e.data,
                self._m.context,
                self._m.event,
                to_parent,
                self,
                parent=self._m.session_id,
                cancelled=lambda: invokeid not in self._children,
            )
            try:
                result = src(inv)
                if inspect.isawaitable(result):
                    result = _run_sync(result)
                elif isinstance(result, Iterator):
                    for item in result:
                        if isinstance(item, EventData):
                            to_parent(item.name, item.data)
                        else:
                            to_parent(str(item))
                    result = None
            except Exception as exc:
                self._invocation_record(InvocationFailed, invokeid, error=str(exc))
                if e.kind == "service":
                    self._enqueue(
                        EventData(
                            f"error.invoke.{invokeid}",
                            {"error": str(exc)},
                            "platform",
                            invokeid=invokeid,
                            error=exc,
                        )
                    )
                return
            if e.kind == "service" and invokeid in self._children:
                self._invocation_record(InvocationDone, invokeid)
                self._enqueue(EventData(f"done.invoke.{invokeid}", result, invokeid=invokeid))
            return
        self._enqueue(
            EventData(
                f"error.invoke.{invokeid}",
                {"error": f"cannot invoke {src!r}"},
                "platform",
                invokeid=invokeid,
            )
        )

    def _cancel(self) -> None:
        """Terminate this (child) session: run its exits, deliver nothing more."""
        m = self._m
        if m.running:
            m.running = False
            m.exit_interpreter()
            m.status = "cancelled"
        self._cancelled = True
        for child in self._children.values():
            if isinstance(child, Session):
                child._cancel()
        self._children.clear()
        m.effects = _NO_EFFECTS

    def _run_awaitable(self, aw: Any, label: str) -> None:
        try:
            _run_sync(aw)
        except Exception as exc:
            err = EventData("error.execution", {"error": str(exc)}, "platform", error=exc)
            if self._queue is _NO_QUEUE:
                self._queue = [err]
            else:
                self._queue.append(err)


def _trace_fns(
    listeners: tuple[Callable[[Record], Any], ...],
) -> tuple[Callable[[str], dict[str, str] | None], ...]:
    """The ``trace_headers(actor)`` methods of listeners that propagate trace context."""
    out = []
    for fn in listeners:
        th = getattr(getattr(fn, "__self__", None), "trace_headers", None)
        if th is not None:
            out.append(th)
    return tuple(out)


def _run_sync(aw: Any) -> Any:
    """Run an awaitable that completes without suspending; async work needs the actors."""
    if not inspect.iscoroutine(aw):
        raise StatefleetError(f"cannot run {aw!r} in a sync Session; use an ActorSystem")
    try:
        aw.send(None)
    except StopIteration as stop:
        return stop.value
    aw.close()
    raise StatefleetError(
        "an async action or service suspended in a sync Session; run the chart in an"
        " ActorSystem to await it"
    )
