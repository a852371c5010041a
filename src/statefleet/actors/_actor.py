"""Actors: one chart instance with a mailbox, run by its system's dispatcher.

An idle actor is a plain object (an engine :class:`Interpreter`, a few fields, no task, no
mailbox container). Sending to it appends to a deque created on demand and puts the actor on
the system's run queue; the dispatcher then runs a bounded batch of its events, one macrostep
each, synchronously. An actor only gets a task of its own while it has something to *await*:
the async actions of a step (awaited in order before its next event), or a store commit.

Invocations are owned by the state that started them: a child chart is a child actor, a
callable runs as a task in the system's task group under a cancel scope. Leaving the state
cancels it; events it sends after that are dropped (those already queued are processed,
as SCXML says).
"""

from __future__ import annotations

import copy
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import msgspec

from statefleet.actors._invocation import ActorInvocation
from statefleet.actors._supervision import Supervision
from statefleet.core import (
    ActionFailed,
    ActorError,
    ActorEscalated,
    ActorRestarted,
    ActorStopped,
    ActorStoppedError,
    AwaitEffect,
    CancelEffect,
    CancelInvokeEffect,
    Chart,
    EventData,
    InvalidEventError,
    InvocationCancelled,
    InvocationDone,
    InvocationFailed,
    InvocationStarted,
    InvokeEffect,
    LogEffect,
    MacrostepRecord,
    MailboxFullError,
    ScheduleEffect,
    SendEffect,
    Snapshot,
    SnapshotCommitted,
    _algorithm,
)
from statefleet.core._algorithm import _NO_ERRORS, NOTHING, Interpreter, Micro

if TYPE_CHECKING:
    from statefleet.actors._system import ActorSystem

__all__ = ["ActorCrashedError", "ActorRef", "Subscription"]

log = logging.getLogger("statefleet.actors")

# actor states (ints: compared on the hot path)
IDLE = 0  # no work, no task
QUEUED = 1  # on the run queue
RUNNING = 2  # being run by the dispatcher (synchronously)
OWNED = 3  # a task of its own is running it (awaiting async actions or a commit)
RESTARTING = 4  # crashed, waiting for its backoff timer
STOPPED = 5  # terminal

# _run results
DRAINED = 0
MORE = 1
AWAIT = 2
ENDED = 3

# the engine's shared empty effect list, when it has one (a fresh list otherwise)
_NO_EFFECTS: list[Any] | None = getattr(_algorithm, "_NO_EFFECTS", None)

_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})
_RESTART = object()  # timer key of a pending restart


class ActorCrashedError(ActorError):
    """The actor crashed while processing the event you asked about (the event is dropped;
    the supervisor restarts or stops the actor)."""


def _copy_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """A copy of a datamodel that later mutations cannot reach (fast for flat contexts).

    A value that cannot be deep-copied (a lock, a live view of the session) is shared: the
    copy is shallow then."""
    for v in ctx.values():
        if type(v) not in _ATOMIC:
            try:
                return copy.deepcopy(ctx)
            except Exception:
                log.debug("context cannot be deep-copied; copying it shallowly", exc_info=True)
                return dict(ctx)
    return dict(ctx)


def _make_event(event: Any, data: Mapping[str, Any]) -> EventData:
    if type(event) is str:
        if event:
            return EventData(event, dict(data) if data else None)
        raise InvalidEventError("an event needs a non-empty name")
    if isinstance(event, EventData):
        if data:
            raise InvalidEventError(
                "pass event data either inside the EventData or as keywords, not both"
            )
        return event
    raise InvalidEventError(f"an event is a name or an EventData, not {type(event).__name__}")


def _item_event(item: Any) -> EventData:
    """An item yielded by an invoked iterator, as an event."""
    if isinstance(item, EventData):
        return item
    if isinstance(item, str) and item:
        return EventData(item)
    if isinstance(item, Mapping):
        name = item.get("type", item.get("name"))
        if isinstance(name, str) and name:
            rest = {k: v for k, v in item.items() if k not in ("type", "name")}
            return EventData(name, rest or None)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and item[0]:
        return EventData(item[0], item[1])
    raise InvalidEventError(
        "an invoked iterator yields events: an EventData, a name, a (name, data) pair or a"
        f" mapping with a 'type', not {item!r}"
    )


def _no_effects() -> list[Any]:
    return _NO_EFFECTS if _NO_EFFECTS is not None else []


def _close(aw: Any) -> None:
    """Close an awaitable that will never be awaited (no 'never awaited' warning)."""
    close = getattr(aw, "close", None)
    if close is not None and inspect.iscoroutine(aw):
        close()


class _Interp(Interpreter):
    """The engine, noting error events no transition took (for the error policy)."""

    __slots__ = ("unhandled",)

    def __init__(self, chart: Chart) -> None:
        super().__init__(chart, chart._tables)
        self.unhandled: list[EventData] | None = None

    def select_transitions(self, event: EventData) -> Micro:
        m = Interpreter.select_transitions(self, event)
        if m is NOTHING and event.name.startswith("error."):
            if self.unhandled is None:
                self.unhandled = []
            self.unhandled.append(event)
        return m

    def raise_error(self, exc: BaseException, name: str = "error.execution", **kw: Any) -> None:
        internal = self.internal
        n = len(internal)
        Interpreter.raise_error(self, exc, name, **kw)
        if self.internal is internal and len(internal) == n:
            # the engine recorded it without raising it (a handler of error.execution failed
            # in a way that would loop): nothing will take it
            if self.unhandled is None:
                self.unhandled = []
            self.unhandled.append(EventData(name, {"error": str(exc)}, "platform", error=exc))


class _Task:
    """Something that finishes later and can be waited for."""

    __slots__ = ("finished", "waiter")

    def __init__(self) -> None:
        self.finished = False
        self.waiter: anyio.Event | None = None

    def finish(self) -> None:
        self.finished = True
        if self.waiter is not None:
            self.waiter.set()

    async def wait(self) -> None:
        if not self.finished:
            if self.waiter is None:
                self.waiter = anyio.Event()
            await self.waiter.wait()


class _Inv(_Task):
    """The runtime side of one invocation."""

    __slots__ = ("actor", "cancelled", "id", "inv", "kind", "owner", "scope", "state")

    def __init__(self, owner: ActorRef, invokeid: str, kind: str, state: str) -> None:
        super().__init__()
        self.owner = owner
        self.id = invokeid
        self.kind = kind
        self.state = state
        self.actor: ActorRef | None = None
        self.inv: ActorInvocation | None = None
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def send(self, name: str, data: Any = None) -> None:
        self.owner._from_inv(self, EventData(name, data, invokeid=self.id, origin=f"#_{self.id}"))

    async def wait(self) -> None:
        if self.actor is not None:
            await self.actor._wait_stopped()
        elif self.scope is not None:
            await _Task.wait(self)


class _Waiter:
    """A one-shot result for ``ask`` / ``wait_for`` (its event is made only if awaited)."""

    __slots__ = ("done", "error", "event", "value")

    def __init__(self) -> None:
        self.event: anyio.Event | None = None
        self.value: Snapshot | None = None
        self.error: BaseException | None = None
        self.done = False

    def resolve(self, value: Snapshot) -> None:
        if not self.done:
            self.done = True
            self.value = value
            if self.event is not None:
                self.event.set()

    def fail(self, exc: BaseException) -> None:
        if not self.done:
            self.done = True
            self.error = exc
            if self.event is not None:
                self.event.set()

    async def wait(self) -> Snapshot:
        if not self.done:
            if self.event is None:
                self.event = anyio.Event()
            await self.event.wait()
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


class _Watch(_Waiter):
    __slots__ = ("actor", "pred", "state_id")

    def __init__(
        self, actor: ActorRef, state_id: str | None, pred: Callable[[Snapshot], Any] | None
    ) -> None:
        super().__init__()
        self.actor = actor
        self.state_id = state_id
        self.pred = pred

    # timer protocol (the timeout)
    def _timer_valid(self, key: Any, due: float) -> bool:
        return not self.done

    def _on_timer(self, key: Any, due: float) -> None:
        if not self.done:
            what = repr(self.state_id) if self.state_id is not None else "the predicate"
            self.fail(TimeoutError(f"actor {self.actor.id!r}: timed out waiting for {what}"))
            x = self.actor._x
            if x is not None and x.watchers and self in x.watchers:
                x.watchers.remove(self)


class Subscription:
    """An async iterator of an actor's snapshots (``ref.subscribe()``).

    It yields the current snapshot first, then one after every macrostep, and ends when the
    actor stops (after its final snapshot). A slow subscriber never blocks the actor: at most
    ``buffer`` snapshots wait; older ones are dropped and counted in :attr:`dropped`. Use it as
    ``async with ref.subscribe() as sub: async for snap in sub: ...`` (or call :meth:`close`)
    so the actor stops building snapshots for it.
    """

    __slots__ = ("_actor", "_closed", "_items", "_waiter", "dropped")

    def __init__(self, actor: ActorRef, buffer: int) -> None:
        self._actor = actor
        self._items: deque[Snapshot] = deque(maxlen=buffer)
        self._waiter: anyio.Event | None = None
        self._closed = False
        #: snapshots dropped because the subscriber was slower than the actor
        self.dropped = 0

    def _push(self, snap: Snapshot) -> None:
        items = self._items
        if len(items) == items.maxlen:
            self.dropped += 1
        items.append(snap)
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.set()

    def _end(self) -> None:
        self._closed = True
        self._wake()

    def close(self) -> None:
        """Stop receiving snapshots (iteration ends once the buffer is consumed)."""
        x = self._actor._x
        if x is not None and x.subs and self in x.subs:
            x.subs.remove(self)
        self._end()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Snapshot:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            w = self._waiter = anyio.Event()
            await w.wait()
        return self._items.popleft()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class _Extra:
    """Per-actor state most actors never need (created on first use)."""

    __slots__ = (
        "armed",
        "asks",
        "await_ev",
        "children",
        "committed",
        "crashes",
        "invs",
        "last_snap",
        "model",
        "owned",
        "restart",
        "space",
        "spawn_context",
        "stopped",
        "subs",
        "task_scope",
        "watchers",
    )

    def __init__(self) -> None:
        #: timers armed on the system heap: send id -> due
        self.armed: dict[str, float] | None = None
        self.asks: deque[tuple[EventData, _Waiter]] | None = None
        #: the event whose async actions are being awaited
        self.await_ev: EventData | None = None
        #: spawned (not invoked) children, in spawn order
        self.children: dict[str, ActorRef] | None = None
        #: the last snapshot a store committed
        self.committed: Snapshot | None = None
        #: clock times of recent crashes (restart intensity)
        self.crashes: list[float] | None = None
        self.invs: dict[str, _Inv] | None = None
        #: the last snapshot made for an observer (a checkpoint too, while its version holds)
        self.last_snap: Snapshot | None = None
        #: the class-DSL instance this actor drives (its callbacks' ``self``)
        self.model: Any = None
        self.owned: _Task | None = None
        #: (snapshot or None for a fresh start, attempt, delay, error)
        self.restart: tuple[Snapshot | None, int, float, str] | None = None
        self.space: list[anyio.Event] | None = None
        self.spawn_context: dict[str, Any] | None = None
        self.stopped: anyio.Event | None = None
        self.subs: list[Subscription] | None = None
        self.task_scope: anyio.CancelScope | None = None
        self.watchers: list[_Watch] | None = None


class ActorRef:
    """A running chart instance with a mailbox, and the handle to it.

    Get one from :meth:`ActorSystem.spawn` (or :meth:`ActorSystem.get`). Events sent to it are
    processed strictly in order, one macrostep each. The same ref stays valid across
    restarts; after the actor stopped it still answers :meth:`snapshot`, :attr:`status` and
    :attr:`configuration` (the last state) but refuses events with
    :class:`~statefleet.ActorStoppedError`.

    Inside the chart's actions, ``ctx.owner`` is this ref (``ctx.owner.spawn(...)`` spawns a
    child, ``ctx.owner.system`` is the system).
    """

    __slots__ = (
        "_awaits",
        "_cap",
        "_end",
        "_invokeid",
        "_m",
        "_mb",
        "_parent",
        "_state",
        "_sup",
        "_system",
        "_x",
        "chart",
        "id",
        "system_id",
    )

    def __init__(
        self,
        system: ActorSystem,
        chart: Chart,
        id: str,
        parent: ActorRef | None,
        invokeid: str | None,
        system_id: str | None,
        supervision: Supervision,
        mailbox_size: int,
    ) -> None:
        self._system = system
        #: the compiled chart this actor runs
        self.chart = chart
        #: the actor's id, unique in its system (also its SCXML session id)
        self.id = id
        #: the well-known name it is registered under, if any
        self.system_id = system_id
        self._parent = parent
        self._invokeid = invokeid
        self._sup = supervision
        self._cap = mailbox_size
        self._state = IDLE
        self._mb: deque[EventData] | None = None
        self._x: _Extra | None = None
        self._awaits: list[AwaitEffect] | None = None
        self._end: str | None = None
        m = self._m = _Interp(chart)
        m.owner = self
        m.session_id = id

    def _bind_model(self, model: Any) -> None:
        """Drive a class-DSL instance: callbacks get it as ``self``; its ``send``/``raise_``
        and state views go to this actor."""
        self._extra().model = model
        self._m.owner = model
        model._m = self._m
        model._sf_actor = self

    def __repr__(self) -> str:
        return f"<ActorRef {self.id!r} ({self.chart.id}) {self.status}>"

    # -- read-only views --------------------------------------------------------------------
    @property
    def system(self) -> ActorSystem:
        """The system running this actor."""
        return self._system

    @property
    def parent(self) -> ActorRef | None:
        """The parent actor (the invoking or spawning one), if any."""
        return self._parent

    @property
    def invokeid(self) -> str | None:
        """The invocation id, when this actor is a chart invoked by its parent."""
        return self._invokeid

    @property
    def supervision(self) -> Supervision:
        """The supervision settings of this actor."""
        return self._sup

    @property
    def status(self) -> str:
        """``"active"``, ``"restarting"``, or once stopped why: ``"done"`` (it reached a
        top-level final state), ``"stopped"``, ``"cancelled"`` (its invoking state exited) or
        ``"failed"`` (crashed past its restart limit, or stopped by its error policy)."""
        st = self._state
        if st == STOPPED:
            return self._end or "stopped"
        if st == RESTARTING:
            return "restarting"
        return "active"

    @property
    def configuration(self) -> frozenset[str]:
        """Ids of the active states."""
        return self._m.cfg.id_set

    @property
    def context(self) -> dict[str, Any]:
        """The live datamodel (read it between steps; :meth:`snapshot` gives a copy)."""
        return self._m.context

    @property
    def done(self) -> bool:
        """True once the chart reached a top-level final state."""
        return self._m.status == "done"

    @property
    def done_data(self) -> Any:
        """The donedata of the top-level final state reached, if any."""
        return self._m.done_data

    @property
    def mailbox_size(self) -> int:
        """Events waiting in the mailbox."""
        mb = self._mb
        return len(mb) if mb is not None else 0

    def is_active(self, state_id: str) -> bool:
        """Is ``state_id`` in the configuration?"""
        return state_id in self._m.cfg.id_set

    def snapshot(self) -> Snapshot:
        """An immutable snapshot of the actor now (its invoked child charts included)."""
        m = self._m
        snap = m.to_snapshot()
        ctx = _copy_context(snap.context)
        x = self._x
        if x is not None and x.invs:
            children = {k: h.actor.snapshot() for k, h in x.invs.items() if h.actor is not None}
            if children:
                return msgspec.structs.replace(snap, context=ctx, children=children)
        return msgspec.structs.replace(snap, context=ctx)

    # -- sending ----------------------------------------------------------------------------
    def _stopped_error(self) -> ActorStoppedError:
        return ActorStoppedError(f"actor {self.id!r} is stopped ({self.status})")

    def send_nowait(self, event: str | EventData, /, **data: Any) -> None:
        """Queue ``event`` (a name with ``data`` as payload, or an :class:`EventData`).

        Raises :class:`~statefleet.MailboxFullError` when the mailbox is full and
        :class:`~statefleet.ActorStoppedError` when the actor is stopped.
        """
        if type(event) is str and event:
            ev = EventData(event, data or None)
        else:
            ev = _make_event(event, data)
        if self._state >= STOPPED:
            raise self._stopped_error()
        mb = self._mb
        if mb is None:
            mb = self._mb = deque()
        elif len(mb) >= self._cap:
            raise MailboxFullError(
                f"mailbox of actor {self.id!r} is full ({self._cap} events waiting)"
            )
        mb.append(ev)
        if self._state == IDLE:
            self._schedule()
        if self._system._recv_fns:
            self._system._received(self, ev)

    async def send(self, event: str | EventData, /, **data: Any) -> None:
        """Queue ``event``, waiting while the mailbox is full.

        Raises :class:`~statefleet.ActorStoppedError` when the actor is (or gets) stopped.
        """
        if type(event) is str and event:
            ev = EventData(event, data or None)
        else:
            ev = _make_event(event, data)
        d = self._system._durable
        if d is not None and await d.send_committed(self, ev):
            return  # an idle actor: returns once the macrostep applying it is committed
        await self._put(ev)

    async def _put(self, ev: EventData) -> None:
        while True:
            if self._state >= STOPPED:
                raise self._stopped_error()
            mb = self._mb
            if mb is None or len(mb) < self._cap:
                break
            w = anyio.Event()
            x = self._extra()
            if x.space is None:
                x.space = []
            x.space.append(w)
            await w.wait()
        d = self._system._durable
        if d is not None:
            await d.accept(self, ev)  # durable before it is queued
            if self._state >= STOPPED:
                if self._end == "passivated" and d.deliver(self.id, ev):
                    return
                raise self._stopped_error()
        self._enqueue(ev)

    async def ask(self, event: str | EventData, /, **data: Any) -> Snapshot:
        """Send ``event`` and return the snapshot after its macrostep (and its async actions;
        with a store, after the commit).

        Raises :class:`ActorCrashedError` if the actor crashed on it and
        :class:`~statefleet.ActorStoppedError` if it stopped first.
        """
        if type(event) is str and event:
            ev = EventData(event, data or None)
        else:
            ev = _make_event(event, data)
        s = self._system
        w = _Waiter()
        await anyio.lowlevel.checkpoint()
        if self._state == IDLE and not self._mb and s._store is None:
            # nothing is queued before it: run it now, in this task, without a round trip
            # through the dispatcher (same order, same macrostep, one scheduling point)
            self._mb = deque((ev,))
            self._add_ask(ev, w)
            if s._recv_fns:
                s._received(self, ev)
            self._state = RUNNING
            s._run_one(self)
        else:
            await self._put(ev)
            self._add_ask(ev, w)
        return await w.wait()

    def _add_ask(self, ev: EventData, w: _Waiter) -> None:
        x = self._extra()
        if x.asks is None:
            x.asks = deque()
        x.asks.append((ev, w))

    async def wait_for(
        self,
        target: str | Callable[[Snapshot], Any],
        /,
        *,
        timeout: float | None = None,
    ) -> Snapshot:
        """Wait until state ``target`` is active (or ``target(snapshot)`` is true) and return
        the snapshot. Checked now and after every macrostep.

        ``timeout`` is in seconds on the system clock (virtual in tests): past it,
        :class:`TimeoutError`. Raises :class:`~statefleet.ActorStoppedError` if the actor
        stops without satisfying it, and whatever the predicate raises.
        """
        state_id: str | None = None
        pred: Callable[[Snapshot], Any] | None = None
        if isinstance(target, str):
            if target not in self.chart.nodes_by_id:
                raise ActorError(f"wait_for: chart {self.chart.id!r} has no state {target!r}")
            state_id = target
            if target in self._m.cfg.id_set:
                return self.snapshot()
        elif callable(target):
            pred = target
            snap = self.snapshot()
            if pred(snap):
                return snap
        else:
            raise ActorError(
                f"wait_for needs a state id or a predicate, not {type(target).__name__}"
            )
        if self._state == STOPPED:
            raise self._stopped_error()
        w = _Watch(self, state_id, pred)
        x = self._extra()
        if x.watchers is None:
            x.watchers = []
        x.watchers.append(w)
        if timeout is not None:
            s = self._system
            s._arm_timer(s._clock_now() + float(timeout), w, None)
        try:
            return await w.wait()
        finally:
            if not w.done and x.watchers and w in x.watchers:
                x.watchers.remove(w)

    def subscribe(self, *, buffer: int = 16) -> Subscription:
        """Snapshots of this actor as they happen (see :class:`Subscription`)."""
        if buffer < 1:
            raise ActorError("subscribe: buffer must be at least 1")
        sub = Subscription(self, buffer)
        sub._push(self.snapshot())
        if self._state == STOPPED:
            sub._end()
            return sub
        x = self._extra()
        if x.subs is None:
            x.subs = []
        x.subs.append(sub)
        return sub

    def spawn(self, chart: Chart, **kwargs: Any) -> ActorRef:
        """Spawn a child of this actor (see :meth:`ActorSystem.spawn`); it lives until it is
        stopped or this actor stops."""
        return self._system.spawn(chart, parent=self, **kwargs)

    async def stop(self) -> None:
        """Stop the actor: its children first, then its exit actions run (async ones are
        awaited) and its invocations are cancelled (this waits for their cleanup). Queued
        events are dropped; pending ``ask`` calls get :class:`~statefleet.ActorStoppedError`.
        Stopping a stopped actor does nothing."""
        waits: list[_Task] = []
        self._terminate("stopped", waits)
        for t in waits:
            await t.wait()
        await self._wait_stopped()

    # -- internals: mailbox -----------------------------------------------------------------
    def _extra(self) -> _Extra:
        x = self._x
        if x is None:
            x = self._x = _Extra()
        return x

    def _schedule(self) -> None:
        self._state = QUEUED
        s = self._system
        s._runq.append(self)
        w = s._wake
        if w is not None:
            s._wake = None
            w.set()

    def _enqueue(self, ev: EventData) -> bool:
        """Queue an event from inside the system (no capacity limit); False if stopped."""
        st = self._state
        if st == STOPPED:
            return False
        mb = self._mb
        if mb is None:
            mb = self._mb = deque()
        mb.append(ev)
        if st == IDLE:
            self._schedule()
        if self._system._recv_fns:
            self._system._received(self, ev)
        return True

    def _idle(self) -> None:
        """The run ended with an empty mailbox."""
        self._state = IDLE
        self._mb = None
        x = self._x
        if x is not None and x.space:
            self._wake_senders()

    def _wake_senders(self) -> None:
        x = self._x
        assert x is not None
        space, x.space = x.space, None
        for w in space or ():
            w.set()

    async def _wait_stopped(self) -> None:
        if self._state == STOPPED:
            return
        x = self._extra()
        if x.stopped is None:
            x.stopped = anyio.Event()
        await x.stopped.wait()

    # -- internals: running -----------------------------------------------------------------
    def _run(self, budget: int) -> int:
        """Process up to ``budget`` events synchronously; returns DRAINED, MORE, AWAIT or
        ENDED (stopped, or crashed and restarting)."""
        s = self._system
        m = self._m
        mb = self._mb
        if not mb:
            return DRAINED
        m.now = s._clock_now()
        ckpt: Snapshot | None = None
        if s._ckpt_batch:
            x = self._x
            ckpt = x.last_snap if x is not None else None
            if ckpt is None or ckpt.version != m.version:
                ckpt = self._checkpoint()
        step_ckpt = s._ckpt_step
        traced = s._step_fns
        n = 0
        ev: EventData | None = None
        before: tuple[str, ...] = ()
        t0 = 0.0
        try:
            while n < budget and mb:
                ev = mb.popleft()
                n += 1
                if ev.invokeid is not None:
                    self._inv_event(ev)
                if step_ckpt:
                    ckpt = self._checkpoint()
                if traced:
                    m.record = []
                    before = m.cfg.ids
                    t0 = time.perf_counter()
                m.macrostep(ev)
                if traced:
                    self._traced(ev, before, t0)
                if m.effects:
                    self._apply_effects()
                if m.errors:
                    self._on_errors(ev)
                if self._awaits is not None:
                    self._extra().await_ev = ev
                    if m.unhandled is not None:
                        self._on_unhandled()
                        if self._state == STOPPED:
                            return ENDED
                    return AWAIT
                if self._x is not None:
                    self._observe(ev)
                if m.unhandled is not None:
                    self._on_unhandled()
                    if self._state == STOPPED:
                        return ENDED
                if not m.running:
                    self._on_final()
                    return ENDED
        except Exception as exc:
            self._crash(exc, ev, ckpt)
            return ENDED
        finally:
            s._count += n
        return MORE if mb else DRAINED

    def _durable_step(self, ev: EventData) -> None:
        """One macrostep of a store-backed actor, published to the listeners that want it
        (and its sends and timers stamped with trace context) before the caller commits it,
        so stored timers carry the trace. Raises what the engine raises (a crash)."""
        m = self._m
        s = self._system
        m.now = s._clock_now()
        if not s._step_fns:
            m.macrostep(ev)
            return
        m.record = []
        before = m.cfg.ids
        t0 = time.perf_counter()
        m.macrostep(ev)
        self._traced(ev, before, t0)

    def _traced(self, ev: EventData | None, before: tuple[str, ...], t0: float) -> None:
        """Publish the macrostep record (listeners asked for it) and stamp trace context."""
        s = self._system
        m = self._m
        duration = time.perf_counter() - t0
        now = m.now
        errors = tuple(m.errors)
        for err in errors:
            s._publish(
                ActionFailed(actor=self.id, ts=now, error=err, event=ev.name if ev else None)
            )
        rec = MacrostepRecord(
            actor=self.id,
            ts=now,
            chart_id=self.chart.id,
            chart_version=self.chart.version,
            event=ev,
            microsteps=tuple(m.record or ()),
            configuration_before=before,
            configuration_after=m.cfg.ids,
            duration=duration,
            version=m.version,
            errors=errors,
            effects=tuple(m.effects),
        )
        m.record = None
        m.errors = _NO_ERRORS
        s._publish(rec, s._step_fns)
        if s._trace_fns and m.effects:
            for fn in s._trace_fns:
                headers = fn(self.id)
                if headers:
                    m.stamp_trace(headers)
                    break

    def _checkpoint(self) -> Snapshot | None:
        """The state now, safe from later mutation (what a crash restarts from)."""
        m = self._m
        try:
            snap = m.to_snapshot()
            return msgspec.structs.replace(snap, context=_copy_context(snap.context))
        except Exception:
            log.warning("actor %r: cannot copy its state for a checkpoint", self.id, exc_info=True)
            return None

    def _on_errors(self, ev: EventData | None) -> None:
        m = self._m
        s = self._system
        if s._fns:
            now = m.now
            for err in m.errors:
                s._publish(
                    ActionFailed(actor=self.id, ts=now, error=err, event=ev.name if ev else None)
                )
        m.errors = _NO_ERRORS

    def _on_unhandled(self) -> None:
        """Error events no transition took: apply the error policy."""
        m = self._m
        evs = m.unhandled or []
        m.unhandled = None
        policy = self._sup.on_error
        if policy == "ignore":
            return
        s = self._system
        for ev in evs:
            msg = _error_text(ev)
            if policy == "stop":
                self._terminate("failed", None, error=f"unhandled {ev.name}: {msg}", quiet=True)
                return
            parent = self._parent
            s._publish(
                ActorEscalated(
                    actor=self.id,
                    ts=s._clock_now(),
                    to=parent.id if parent is not None else None,
                    error=f"unhandled {ev.name}: {msg}",
                )
            )
            if parent is None:
                log.warning("actor %r: unhandled %s: %s", self.id, ev.name, msg)
                continue
            key = self._invokeid if self._invokeid is not None else self.id
            out = EventData(
                f"error.child.{key}",
                {"child": self.id, "event": ev.name, "error": msg},
                "platform",
                invokeid=self._invokeid,
                origin=f"#_{self._invokeid}" if self._invokeid is not None else self.id,
                error=ev.error,
            )
            parent._from_child(self, out)

    def _observe(self, ev: EventData | None) -> None:
        """After a step: answer asks, watchers and subscribers."""
        x = self._x
        assert x is not None
        snap: Snapshot | None = None
        asks = x.asks
        if asks and asks[0][0] is ev:
            snap = self.snapshot()
            asks.popleft()[1].resolve(snap)
        if x.watchers:
            snap = self._check_watchers(snap)
        if x.subs:
            if snap is None:
                snap = self.snapshot()
            for sub in x.subs:
                sub._push(snap)
        x.last_snap = snap

    def _check_watchers(self, snap: Snapshot | None) -> Snapshot | None:
        x = self._x
        assert x is not None and x.watchers is not None
        ids = self._m.cfg.id_set
        for w in list(x.watchers):
            try:
                if w.state_id is not None:
                    ok = w.state_id in ids
                else:
                    if snap is None:
                        snap = self.snapshot()
                    assert w.pred is not None
                    ok = bool(w.pred(snap))
            except Exception as exc:
                x.watchers.remove(w)
                w.fail(exc)
                continue
            if ok:
                if snap is None:
                    snap = self.snapshot()
                x.watchers.remove(w)
                w.resolve(snap)
        return snap

    # -- internals: effects -----------------------------------------------------------------
    def _apply_effects(self) -> None:
        m = self._m
        while m.effects:
            effects = m.effects
            m.effects = _no_effects()
            for e in effects:
                c = e.__class__
                if c is SendEffect:
                    self._deliver(e.event, e.target)  # type: ignore[union-attr]
                elif c is ScheduleEffect:
                    self._arm(e.sendid, e.due)  # type: ignore[union-attr]
                elif c is CancelEffect:
                    armed = self._x.armed if self._x is not None else None
                    if armed:
                        armed.pop(e.sendid, None)  # type: ignore[union-attr]
                elif c is InvokeEffect:
                    self._invoke(e)  # type: ignore[arg-type]
                elif c is CancelInvokeEffect:
                    self._cancel_invoke(e.invokeid)  # type: ignore[union-attr]
                elif c is AwaitEffect:
                    if self._awaits is None:
                        self._awaits = []
                    self._awaits.append(e)  # type: ignore[arg-type]
                elif c is LogEffect:
                    log.info("%s %s: %r", self.id, e.label or "log", e.value)  # type: ignore[union-attr]

    def _deliver(self, ev: EventData, target: str | None) -> None:
        if target is None:
            if self._enqueue(ev):
                return
            return  # a stopped actor sending to itself: nothing to do
        s = self._system
        if target == "#_parent":
            parent = self._parent
            if parent is not None:
                if self._invokeid is not None:
                    ev = msgspec.structs.replace(
                        ev, invokeid=self._invokeid, origin=f"#_{self._invokeid}"
                    )
                if parent._from_child(self, ev):
                    return
        elif target.startswith("#_"):
            if target.startswith("#_scxml_"):
                a = s._actors.get(target[8:])
                if a is not None and a._enqueue(ev):
                    return
            else:
                x = self._x
                h = x.invs.get(target[2:]) if x is not None and x.invs else None
                if h is not None:
                    if h.actor is not None:
                        if h.actor._enqueue(ev):
                            return
                    elif h.inv is not None:
                        h.inv._put(ev)
                        return
        else:
            a = s._resolve(target)
            if a is not None and a._enqueue(ev):
                return
        if s._durable is not None and s._durable.deliver(target, ev):
            return  # in the target's durable inbox: activating it delivers it
        self._comm_error(target, ev)

    def _comm_error(self, target: str, ev: EventData) -> None:
        self._enqueue(
            EventData(
                "error.communication",
                {"target": target, "event": ev.name},
                "platform",
                sendid=ev.sendid,
            )
        )

    def _from_child(self, child: ActorRef, ev: EventData) -> bool:
        """An event from a child actor (to ``#_parent``, or an escalation)."""
        iid = child._invokeid
        if iid is not None:
            x = self._x
            h = x.invs.get(iid) if x is not None and x.invs else None
            if h is None or h.actor is not child or h.cancelled:
                return True  # sent after its invocation was cancelled: dropped
        return self._enqueue(ev)

    def _from_inv(self, h: _Inv, ev: EventData) -> None:
        """An event from an invoked callable (dropped once the invocation is cancelled)."""
        if h.cancelled or self._state == STOPPED:
            return
        x = self._x
        if x is None or x.invs is None or x.invs.get(h.id) is not h:
            return
        self._enqueue(ev)

    def _inv_event(self, ev: EventData) -> None:
        """Bookkeeping for an event from an invocation, as it leaves the mailbox."""
        x = self._x
        if x is None or not x.invs:
            return
        h = x.invs.get(ev.invokeid)  # type: ignore[arg-type]
        if h is None:
            return
        if ev.name.startswith(("done.invoke.", "error.invoke.")):
            child = h.actor
            if (child._state == STOPPED) if child is not None else h.finished:
                del x.invs[h.id]  # it is over: the engine forgets it with this event

    # -- internals: timers ------------------------------------------------------------------
    def _arm(self, sendid: str, due: float) -> None:
        x = self._extra()
        armed = x.armed
        if armed is None:
            armed = x.armed = {}
        elif armed.get(sendid) == due:
            return
        armed[sendid] = due
        self._system._arm_timer(due, self, sendid)

    def _timer_valid(self, key: Any, due: float) -> bool:
        if key is _RESTART:
            return self._state == RESTARTING
        x = self._x
        return (
            self._state != STOPPED
            and x is not None
            and x.armed is not None
            and x.armed.get(key) == due
        )

    def _on_timer(self, key: Any, due: float) -> None:
        if key is _RESTART:
            if self._state == RESTARTING:
                self._restart()
            return
        if not self._timer_valid(key, due):
            return
        x = self._x
        assert x is not None and x.armed is not None
        del x.armed[key]
        m = self._m
        de = m.pending.get(key)
        if de is None or de.due != due:
            return
        if de.target is None:
            self._enqueue(de.event)
            return
        # a delayed send to someone else: it leaves now
        x.last_snap = None  # the state changes outside a macrostep
        m.now = self._system._clock_now()
        m.take_timer(key)
        if m.effects:
            self._apply_effects()
        self._deliver(de.event, de.target)

    # -- internals: invocations -------------------------------------------------------------
    def _invoke(self, e: InvokeEffect, child_snapshot: Snapshot | None = None) -> None:
        s = self._system
        x = self._extra()
        if x.invs is None:
            x.invs = {}
        old = x.invs.get(e.invokeid)
        if old is not None:
            self._cancel_invoke(e.invokeid)
        h = _Inv(self, e.invokeid, e.kind, e.state)
        x.invs[e.invokeid] = h
        if s._fns:
            s._publish(
                InvocationStarted(
                    actor=self.id,
                    ts=s._clock_now(),
                    invokeid=e.invokeid,
                    state=e.state,
                    kind=e.kind,
                )
            )
        src = e.src
        if isinstance(src, Chart):
            data = e.data if isinstance(e.data, dict) else None
            try:
                s._spawn(
                    src,
                    id=s._child_id(self, e.invokeid),
                    context=data,
                    parent=self,
                    invokeid=e.invokeid,
                    system_id=None,
                    snapshot=child_snapshot,
                    supervision=self._sup,
                    mailbox_size=s._mailbox_size,
                    handle=h,
                )
            except Exception as exc:
                if x.invs.get(e.invokeid) is h:
                    del x.invs[e.invokeid]
                self._invoke_failed(e.invokeid, exc)
            return
        if callable(src):
            h.scope = anyio.CancelScope()
            h.inv = ActorInvocation(
                e.invokeid, e.data, self._m.context, self._m.event, h.send, self
            )
            s._tg_start(self._run_invocation, h, src)
            return
        del x.invs[e.invokeid]
        self._invoke_failed(e.invokeid, ActorError(f"cannot invoke {src!r}"))

    def _invoke_failed(self, invokeid: str, exc: BaseException) -> None:
        s = self._system
        if s._fns:
            s._publish(
                InvocationFailed(
                    actor=self.id, ts=s._clock_now(), invokeid=invokeid, error=str(exc)
                )
            )
        self._enqueue(
            EventData(
                f"error.invoke.{invokeid}",
                {"error": str(exc)},
                "platform",
                invokeid=invokeid,
                origin=f"#_{invokeid}",
                error=exc,
            )
        )

    async def _run_invocation(self, h: _Inv, src: Callable[[ActorInvocation], Any]) -> None:
        try:
            if h.cancelled:
                return  # cancelled before it ever ran
            assert h.scope is not None and h.inv is not None
            result: Any = None
            with h.scope:
                try:
                    result = src(h.inv)
                    if inspect.isawaitable(result):
                        result = await result
                    elif hasattr(result, "__aiter__"):
                        await self._pump_async(h, result)
                        result = None
                    elif isinstance(result, Iterator):
                        for item in result:
                            h.send(*_split(_item_event(item)))
                        result = None
                except Exception as exc:
                    if not h.cancelled:
                        self._inv_ended(h, None, exc)
                    else:
                        log.debug("invocation %r failed while cancelled", h.id, exc_info=True)
                    return
            if not h.cancelled:
                self._inv_ended(h, result, None)
        finally:
            h.finish()

    async def _pump_async(self, h: _Inv, it: Any) -> None:
        """Forward the items of an async iterator, slowing down when our mailbox is full."""
        if hasattr(it, "aclose"):
            async with aclosing(it):
                async for item in it:
                    await self._forward(h, item)
        else:
            async for item in it:
                await self._forward(h, item)

    async def _forward(self, h: _Inv, item: Any) -> None:
        h.send(*_split(_item_event(item)))
        mb = self._mb
        while mb is not None and len(mb) >= self._cap and self._state != STOPPED:
            w = anyio.Event()
            x = self._extra()
            if x.space is None:
                x.space = []
            x.space.append(w)
            await w.wait()
            mb = self._mb

    def _inv_ended(self, h: _Inv, result: Any, exc: BaseException | None) -> None:
        if self._state == STOPPED:
            return
        s = self._system
        iid = h.id
        if exc is not None:
            if s._fns:
                s._publish(
                    InvocationFailed(actor=self.id, ts=s._clock_now(), invokeid=iid, error=str(exc))
                )
            self._from_inv(
                h,
                EventData(
                    f"error.invoke.{iid}",
                    {"error": str(exc)},
                    "platform",
                    invokeid=iid,
                    origin=f"#_{iid}",
                    error=exc,
                ),
            )
        elif h.kind == "service":
            if s._fns:
                s._publish(InvocationDone(actor=self.id, ts=s._clock_now(), invokeid=iid))
            self._from_inv(
                h, EventData(f"done.invoke.{iid}", result, invokeid=iid, origin=f"#_{iid}")
            )

    def _cancel_invoke(self, invokeid: str, waits: list[_Task] | None = None) -> _Inv | None:
        x = self._x
        if x is None or not x.invs:
            return None
        h = x.invs.pop(invokeid, None)
        if h is None:
            return None
        h.cancelled = True
        s = self._system
        if s._fns:
            s._publish(InvocationCancelled(actor=self.id, ts=s._clock_now(), invokeid=invokeid))
        if h.actor is not None:
            h.actor._terminate("cancelled", waits)
        if h.scope is not None:
            h.scope.cancel()
        return h

    def _reinvoke(self, snap: Snapshot | None) -> None:
        """Start again the invocations of the active states of a restored snapshot."""
        m = self._m
        for rec, spec in list(m.invocations.values()):
            try:
                src = spec.src_expr(m) if spec.src_expr is not None else spec.src
                typ = spec.type_expr(m) if spec.type_expr is not None else spec.type
                data = spec.params(m) if spec.params is not None else None
            except Exception as exc:
                self._invoke_failed(rec.invokeid, exc)
                continue
            child = snap.children.get(rec.invokeid) if snap is not None else None
            self._invoke(
                InvokeEffect(rec.invokeid, rec.state, src, typ, data, spec.autoforward, spec.kind),
                child,
            )

    # -- internals: async work ----------------------------------------------------------------
    def _release_owned(self, x: _Extra, t: _Task) -> None:
        """End an actor's own task: it is idle again (runnable if events arrived meanwhile,
        also when the task was cancelled from outside without a stop)."""
        x.task_scope = None
        x.owned = None
        t.finish()
        if self._state == OWNED:
            self._state = IDLE
            if self._mb:
                self._schedule()
        self._system._owned_done()

    async def _owned_run(self) -> None:
        """The task an actor gets while it has async actions to await."""
        s = self._system
        x = self._extra()
        t = x.owned = _Task()
        try:
            with anyio.CancelScope() as scope:
                x.task_scope = scope
                while True:
                    awaits = self._awaits
                    if awaits is not None:
                        self._awaits = None
                        if self._state == STOPPED:  # stopped before this task first ran
                            for e in awaits:
                                _close(e.awaitable)
                            return
                        await self._await_all(awaits)
                        if self._state == STOPPED:
                            return
                        m = self._m
                        try:
                            if m.effects:
                                self._apply_effects()
                        except Exception as exc:
                            self._crash(exc, x.await_ev, None)
                            return
                        ev, x.await_ev = x.await_ev, None
                        self._observe(ev)
                        if not m.running:
                            self._on_final()
                            return
                        if self._awaits is not None:
                            continue
                    if self._state == STOPPED:
                        return
                    code = self._run(s._batch)
                    if code == DRAINED:
                        self._idle()
                        return
                    if code == ENDED:
                        return
                    if code == MORE:
                        await anyio.lowlevel.checkpoint()
        finally:
            self._release_owned(x, t)

    async def _await_all(self, awaits: list[AwaitEffect]) -> None:
        """Await async actions in order; a failure becomes ``error.execution`` (next event)."""
        errors: list[BaseException] = []
        i = 0
        try:
            for i, e in enumerate(awaits):  # noqa: B007
                try:
                    await e.awaitable
                except Exception as exc:
                    errors.append(exc)
        finally:
            for e in awaits[i + 1 :]:
                _close(e.awaitable)
        if errors:
            s = self._system
            if s._fns:
                ev = self._x.await_ev if self._x is not None else None
                for err in errors:
                    s._publish(
                        ActionFailed(
                            actor=self.id,
                            ts=s._clock_now(),
                            error=err,
                            event=ev.name if ev is not None else None,
                        )
                    )
            mb = self._mb
            if mb is None:
                mb = self._mb = deque()
            for err in reversed(errors):
                mb.appendleft(
                    EventData("error.execution", {"error": str(err)}, "platform", error=err)
                )

    async def _store_run(self) -> None:
        """With a store: commit each macrostep before its effects (in a task of its own)."""
        s = self._system
        store = s._store
        assert store is not None
        x = self._extra()
        t = x.owned = _Task()
        try:
            with anyio.CancelScope() as scope:
                x.task_scope = scope
                if x.committed is None:
                    # the initial step (its effects are held until it is committed)
                    if not await self._commit(None):
                        return
                    if not self._after_commit(None):
                        return
                while True:
                    awaits = self._awaits
                    if awaits is not None:
                        self._awaits = None
                        await self._await_all(awaits)
                        if self._state == STOPPED:
                            return
                        if self._m.effects:
                            self._apply_effects()
                        ev, x.await_ev = x.await_ev, None
                        self._observe(ev)
                        if not self._m.running:
                            self._on_final()
                            return
                    mb = self._mb
                    if self._state == STOPPED:
                        return
                    if not mb:
                        self._idle()
                        return
                    ev = mb.popleft()
                    if ev.invokeid is not None:
                        self._inv_event(ev)
                    try:
                        self._durable_step(ev)
                    except Exception as exc:
                        self._crash(exc, ev, x.committed)
                        return
                    if not await self._commit(ev):
                        return
                    if not self._after_commit(ev):
                        return
        finally:
            self._release_owned(x, t)

    async def _commit(self, ev: EventData | None) -> bool:
        s = self._system
        m = self._m
        x = self._extra()
        store = s._store
        assert store is not None
        snap = self._checkpoint()
        try:
            if snap is None:
                raise ActorError(f"actor {self.id!r}: its state cannot be snapshotted")
            t_commit = time.perf_counter()
            await store.commit_step(
                self.id, snap, previous=x.committed, event=ev, effects=tuple(m.effects)
            )
        except Exception as exc:
            self._crash(exc, ev, x.committed)
            return False
        if s._fns:
            s._publish(
                SnapshotCommitted(
                    actor=self.id,
                    ts=s._clock_now(),
                    version=snap.version,
                    latency=time.perf_counter() - t_commit,
                )
            )
        if self._state == STOPPED:
            return False
        x.committed = snap
        return True

    def _after_commit(self, ev: EventData | None) -> bool:
        """Run a committed step's effects; False when the actor ended."""
        m = self._m
        x = self._extra()
        try:
            if m.effects:
                self._apply_effects()
            if m.errors:
                self._on_errors(ev)
        except Exception as exc:
            self._crash(exc, ev, x.committed)
            return False
        if self._awaits is None:
            self._observe(ev)
        else:
            x.await_ev = ev
        if m.unhandled is not None:
            self._on_unhandled()
            if self._state == STOPPED:
                return False
        if self._awaits is not None:
            return True
        if not m.running:
            self._on_final()
            return False
        return True

    # -- internals: supervision -------------------------------------------------------------
    def _on_final(self) -> None:
        """The chart reached a top-level final state."""
        if self._sup.restart == "permanent":
            self._schedule_restart(None, "reached a final state")
            return
        self._terminate("done", None)

    def _crash(self, exc: BaseException, ev: EventData | None, ckpt: Snapshot | None) -> None:
        """The runtime failed around this actor: restart it from ``ckpt`` or escalate."""
        log.error(
            "actor %r crashed processing %r: %s",
            self.id,
            ev.name if ev is not None else "(start)",
            exc,
            exc_info=exc,
        )
        m = self._m
        for e in m.effects:
            if isinstance(e, AwaitEffect):
                _close(e.awaitable)
        m.effects = _no_effects()
        if self._awaits is not None:
            for e in self._awaits:
                _close(e.awaitable)
            self._awaits = None
        x = self._extra()
        x.last_snap = None
        if x.asks and ev is not None and x.asks[0][0] is ev:
            x.asks.popleft()[1].fail(
                ActorCrashedError(
                    f"actor {self.id!r} crashed processing {ev.name!r}: {type(exc).__name__}: {exc}"
                )
            )
        snap = x.committed if self._system._store is not None else ckpt
        error = f"{type(exc).__name__}: {exc}"
        if snap is None:
            self._give_up(error + " (no snapshot to restart from)")
            return
        self._schedule_restart(snap, error)

    def _schedule_restart(self, snap: Snapshot | None, error: str) -> None:
        s = self._system
        sup = self._sup
        x = self._extra()
        if sup.restart == "temporary" and snap is not None:
            self._give_up(error)
            return
        now = s._clock_now()
        crashes = [t for t in x.crashes or () if t > now - sup.period]
        if len(crashes) >= sup.max_restarts:
            self._give_up(f"{error} (restart limit: {sup.max_restarts} in {sup.period}s)")
            return
        crashes.append(now)
        x.crashes = crashes
        delay = sup.delay(len(crashes), s._rng)
        # the crashed instance's invocations and timers die with it
        if x.invs:
            for iid in list(x.invs)[::-1]:
                self._cancel_invoke(iid)
        x.armed = None
        self._state = RESTARTING
        x.restart = (snap, len(crashes), delay, error)
        s._arm_timer(now + delay, self, _RESTART)

    def _restart(self) -> None:
        x = self._extra()
        assert x.restart is not None
        snap, attempt, delay, error = x.restart
        x.restart = None
        s = self._system
        chart = self.chart
        try:
            m = _Interp(chart)
            model = x.model
            m.owner = self if model is None else model
            if model is not None:
                model._m = m
            if snap is not None:
                m.load_snapshot(snap, chart.validate(snap))
                m.context = _copy_context(snap.context)
                m.session_id = self.id
            else:
                m.session_id = self.id
                m.now = s._clock_now()
                ctx = x.spawn_context
                m.start(dict(ctx) if ctx else None)
                m.errors = _NO_ERRORS
                m.unhandled = None
        except Exception as exc:
            self._give_up(f"restart failed: {type(exc).__name__}: {exc}")
            return
        self._m = m
        if s._durable is not None:
            s._durable.restarted(self)
        s._publish(
            ActorRestarted(
                actor=self.id,
                ts=s._clock_now(),
                attempt=attempt,
                delay=delay,
                error=error,
                from_version=snap.version if snap is not None else 0,
            )
        )
        self._state = RUNNING  # nothing schedules it while it resumes
        try:
            if snap is not None:
                self._resume(snap)
            elif s._store is not None:
                x.committed = None
            else:
                self._apply_effects()
        except Exception as exc:
            self._state = IDLE
            self._crash(exc, None, snap)
            return
        self._state = IDLE
        if self._x is not None and (x.watchers or x.subs):
            self._observe(None)  # the restored state is news to watchers and subscribers
        if (s._store is not None and snap is None) or self._awaits is not None:
            self._state = OWNED
            s._start_owned(self)
        elif self._mb:
            self._schedule()

    def _resume(self, snap: Snapshot) -> None:
        """After loading ``snap``: re-arm its timers and restart its invocations."""
        m = self._m
        if m.pending:
            queued = {ev.sendid for ev in self._mb or () if ev.sendid is not None}
            for de in m.pending.values():
                if de.target is None and de.sendid in queued:
                    continue  # already fired: its event is waiting in the mailbox
                self._arm(de.sendid, de.due)
        if m.invocations:
            self._reinvoke(snap)
        if m.effects:
            self._apply_effects()

    def _give_up(self, error: str) -> None:
        """Escalate a failure the actor cannot recover from: it (and its subtree) stops."""
        s = self._system
        parent = self._parent
        s._publish(
            ActorEscalated(
                actor=self.id,
                ts=s._clock_now(),
                to=parent.id if parent is not None else None,
                error=error,
            )
        )
        if parent is None:
            log.error("actor %r failed and was stopped: %s", self.id, error)
        self._terminate("failed", None, error=error)

    def _terminate(
        self, reason: str, waits: list[_Task] | None, *, error: str = "", quiet: bool = False
    ) -> None:
        """Stop now (synchronously): children first, then exit actions; invocations are
        cancelled. ``waits`` collects the tasks whose cleanup is still running. A failed
        spawned child tells its parent (``error.child.<id>``) unless ``quiet``."""
        if self._state == STOPPED:
            return
        prev = self._state
        self._state = STOPPED
        self._end = reason
        s = self._system
        x = self._x
        m = self._m
        if x is not None:
            if x.children:
                for child in list(x.children.values())[::-1]:
                    child._terminate("stopped", waits)
            if x.invs:
                for iid in list(x.invs)[::-1]:
                    h = self._cancel_invoke(iid, waits)
                    if h is not None and h.scope is not None and waits is not None:
                        waits.append(h)
        if m.running:
            m.running = False
            try:
                m.exit_interpreter()
            except Exception:
                log.exception("actor %r: exit failed", self.id)
        if reason != "done":
            m.status = "error" if reason == "failed" else reason
        # what the exit actions asked for: messages go out, async ones are awaited
        exit_awaits: list[AwaitEffect] = []
        effects, m.effects = m.effects, _no_effects()
        for e in effects:
            if isinstance(e, SendEffect):
                try:
                    self._deliver(e.event, e.target)
                except Exception:
                    log.exception("actor %r: delivering an exit message failed", self.id)
            elif isinstance(e, AwaitEffect):
                exit_awaits.append(e)
            elif isinstance(e, LogEffect):
                log.info("%s %s: %r", self.id, e.label or "log", e.value)
        if self._awaits is not None and prev != OWNED:
            for e in self._awaits:
                _close(e.awaitable)
            self._awaits = None
        if exit_awaits:
            t = _Task()
            if waits is not None:
                waits.append(t)
            s._tg_start(self._await_exit, exit_awaits, t)
        self._mb = None
        if x is not None:
            if x.owned is not None:
                if waits is not None:
                    waits.append(x.owned)
                if x.task_scope is not None:
                    x.task_scope.cancel()
            x.armed = None
            x.restart = None
            stopped_err = self._stopped_error()
            if x.asks:
                for _ev, w in x.asks:
                    w.fail(stopped_err)
                x.asks = None
            if x.watchers or x.subs:
                snap = self.snapshot()
                if x.watchers:
                    self._check_watchers(snap)
                    for w2 in x.watchers or ():
                        w2.fail(stopped_err)
                    x.watchers = None
                for sub in x.subs or ():
                    sub._push(snap)
                    sub._end()
                x.subs = None
            if x.space:
                self._wake_senders()
        s._unregister(self)
        if s._durable is not None:
            s._durable.forgotten(self, reason)
        parent = self._parent
        if parent is not None and parent._x is not None and parent._x.children:
            parent._x.children.pop(self.id, None)
        if s._fns:
            s._publish(ActorStopped(actor=self.id, ts=s._clock_now(), reason=reason))
        if parent is not None and parent._state != STOPPED:
            self._notify_parent(parent, reason, error, quiet)
        if x is not None and x.stopped is not None:
            x.stopped.set()

    def _notify_parent(self, parent: ActorRef, reason: str, error: str, quiet: bool) -> None:
        iid = self._invokeid
        s = self._system
        if iid is not None:
            if reason == "done":
                if s._fns:
                    s._publish(InvocationDone(actor=parent.id, ts=s._clock_now(), invokeid=iid))
                parent._from_child(
                    self,
                    EventData(
                        f"done.invoke.{iid}", self._m.done_data, invokeid=iid, origin=f"#_{iid}"
                    ),
                )
            elif reason in ("failed", "stopped"):
                msg = error or f"invoked actor {self.id!r} {reason}"
                if s._fns:
                    s._publish(
                        InvocationFailed(
                            actor=parent.id, ts=s._clock_now(), invokeid=iid, error=msg
                        )
                    )
                parent._from_child(
                    self,
                    EventData(
                        f"error.invoke.{iid}",
                        {"error": msg},
                        "platform",
                        invokeid=iid,
                        origin=f"#_{iid}",
                    ),
                )
        elif reason == "failed" and not quiet:
            parent._enqueue(
                EventData(
                    f"error.child.{self.id}",
                    {"child": self.id, "event": None, "error": error},
                    "platform",
                    origin=self.id,
                )
            )

    async def _await_exit(self, awaits: list[AwaitEffect], t: _Task) -> None:
        try:
            for i, e in enumerate(awaits):
                try:
                    await e.awaitable
                except Exception:
                    log.exception("actor %r: async exit action failed", self.id)
                except BaseException:
                    for rest in awaits[i + 1 :]:
                        _close(rest.awaitable)
                    raise
        finally:
            t.finish()


def _split(ev: EventData) -> tuple[str, Any]:
    return ev.name, ev.data


def _error_text(ev: EventData) -> str:
    if ev.error is not None:
        return str(ev.error)
    data = ev.data
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return ev.name
