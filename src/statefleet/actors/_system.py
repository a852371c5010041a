"""The actor system: registry, dispatcher, timers, listeners, lifecycle."""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import anyio
import anyio.abc
import anyio.lowlevel
import msgspec

from statefleet.actors._actor import (
    AWAIT,
    DRAINED,
    MORE,
    OWNED,
    QUEUED,
    RUNNING,
    STOPPED,
    ActorRef,
    _copy_context,
    _Inv,
    _Task,
)
from statefleet.actors._durable import Durable, DurableStore, VirtualRef
from statefleet.actors._inspect import Inspection
from statefleet.actors._store import ActorStore
from statefleet.actors._supervision import ErrorPolicy, RestartPolicy, Supervision
from statefleet.core import (
    ActorError,
    ActorSpawned,
    ActorStoppedError,
    Chart,
    EventData,
    EventReceived,
    Listener,
    MacrostepRecord,
    RealClock,
    Record,
    Session,
    Snapshot,
    VirtualClock,
    as_listeners,
)

__all__ = ["ActorSystem"]

log = logging.getLogger("statefleet.actors")

Checkpoint = Literal["batch", "step", "none"]

#: the name of the tasks the system starts (naming them saves anyio a lookup per task)
_TASK_NAME = "statefleet.actors"


class _Sleeper:
    """``system.sleep``: a timer that sets an event."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = anyio.Event()

    def _timer_valid(self, key: Any, due: float) -> bool:
        return not self.event.is_set()

    def _on_timer(self, key: Any, due: float) -> None:
        self.event.set()


def _record_types(fn: Callable[[Record], Any]) -> tuple[type, ...] | None:
    """The record types a listener asked for (``record_types`` on it), or None for all."""
    owner = getattr(fn, "__self__", None)
    types = getattr(owner, "record_types", None) if owner is not None else None
    if types is None:
        types = getattr(fn, "record_types", None)
    return tuple(types) if types is not None else None


class ActorSystem:
    """Runs actors: ``async with ActorSystem(...) as system: ref = system.spawn(chart)``.

    - ``clock``: a :class:`~statefleet.VirtualClock` for tests (time jumps to the next timer
      as soon as every actor is idle and every task is blocked; ``autojump=False`` leaves it to
      :meth:`advance`) or a :class:`~statefleet.RealClock` (the default).
    - ``listeners``: objects with ``on_record(record)`` or callables; they receive the
      inspection records (:class:`~statefleet.core.ActorSpawned`, ``ActorStopped``,
      ``ActorRestarted``, ``ActorEscalated``, ``ActionFailed``, ``Invocation*``, and
      ``MacrostepRecord`` / ``EventReceived``). A listener with a ``record_types`` attribute
      (a tuple of record classes) receives only those; macrostep and received-event records
      are only built when some listener wants them, so the path without listeners stays fast.
    - ``store``: an :class:`ActorStore`; every macrostep is committed before its effects run.
    - ``supervision``: the default :class:`Supervision` of top-level actors (children inherit
      their parent's).
    - ``mailbox_size``: default mailbox capacity (``send`` waits, ``send_nowait`` raises).
    - ``batch``: events an actor processes per turn before the next actor runs; the dispatcher
      yields to other tasks every ``turn`` events.
    - ``checkpoint``: what a crash restarts from without a store: ``"batch"`` (default) a copy
      of the actor's state taken when it starts a batch, ``"step"`` one taken before every
      macrostep (exact, costs a context copy per event), ``"none"`` no copies (a crash then
      escalates instead of restarting). With a store, the last committed snapshot.
    - ``seed``: seeds the backoff jitter.
    - ``idle_timeout``, ``charts`` (with a durable store, such as ``statefleet.persistence``'s
      ``SQLiteStore``): sends are accepted durably, the fleet recovers on start, entities are
      addressed with :meth:`ref` and passivated after ``idle_timeout`` seconds idle; ``charts``
      registers the charts stored actors run (see ``_durable``).

    Leaving the block stops every actor (children before parents, exit actions run,
    invocations cancelled and their cleanup awaited).
    """

    def __init__(
        self,
        *,
        clock: VirtualClock | RealClock | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        store: ActorStore | None = None,
        supervision: Supervision | None = None,
        mailbox_size: int = 1000,
        batch: int = 64,
        turn: int = 512,
        checkpoint: Checkpoint = "batch",
        autojump: bool = True,
        seed: int | None = None,
        idle_timeout: float | None = None,
        charts: Iterable[Chart] = (),
    ) -> None:
        if clock is not None and not isinstance(clock, VirtualClock | RealClock):
            raise ActorError(f"clock must be a VirtualClock or RealClock, not {clock!r}")
        if checkpoint not in ("batch", "step", "none"):
            raise ActorError(f"checkpoint must be 'batch', 'step' or 'none', not {checkpoint!r}")
        for name, value in (("mailbox_size", mailbox_size), ("batch", batch), ("turn", turn)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ActorError(f"{name} must be an int >= 1, not {value!r}")
        if store is not None and not isinstance(store, ActorStore):
            raise ActorError(f"store must implement ActorStore (commit_step), not {store!r}")
        self._clock: VirtualClock | RealClock = clock if clock is not None else RealClock()
        self._clock_now = self._clock.now
        self._virtual = isinstance(self._clock, VirtualClock)
        self._autojump = autojump
        self._store = store
        charts = tuple(charts)
        self._durable: Durable | None = None
        if isinstance(store, DurableStore):
            self._durable = Durable(self, store, idle_timeout=idle_timeout, charts=charts)
            self._store = self._durable  # commits go through it (a virtual clock waits)
        elif idle_timeout is not None or charts:
            raise ActorError(
                "idle_timeout and charts need a durable store (statefleet.persistence)"
            )
        self._supervision = supervision if supervision is not None else Supervision()
        self._mailbox_size = mailbox_size
        self._batch = batch
        self._turn = turn
        self._ckpt_batch = checkpoint == "batch"
        self._ckpt_step = checkpoint == "step"
        self._rng = random.Random(seed)
        self._listeners: list[Listener | Callable[[Record], Any]] = list(listeners)
        self._fns: tuple[Callable[[Record], Any], ...] = ()
        self._filters: tuple[tuple[Callable[[Record], Any], tuple[type, ...] | None], ...] = ()
        self._step_fns: tuple[Callable[[Record], Any], ...] = ()
        self._recv_fns: tuple[Callable[[Record], Any], ...] = ()
        self._trace_fns: tuple[Callable[[str], dict[str, str] | None], ...] = ()
        self._update_listeners()
        self._actors: dict[str, ActorRef] = {}
        self._sys_ids: dict[str, ActorRef] = {}
        self._seq = 0
        self._runq: deque[ActorRef] = deque()
        self._wake: anyio.Event | None = None
        self._sleeping = False
        self._owned = 0
        self._count = 0
        self._idle_waiters: list[anyio.Event] = []
        self._quiet_waiters: list[anyio.Event] = []
        self._timers: list[tuple[float, int, Any, Any]] = []
        self._tseq = itertools.count()
        self._twake: anyio.Event | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._running = False
        self._closing = False
        self._closed: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"<ActorSystem {len(self._actors)} actors>"

    # -- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> ActorSystem:
        if self._running or self._closing:
            raise ActorError("an ActorSystem can be entered only once")
        if self._durable is not None:
            await self._durable.open()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._running = True
        tg.start_soon(self._dispatch)
        tg.start_soon(self._timer_loop)
        if self._durable is not None:
            await self._durable.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._tg
        assert tg is not None
        try:
            with anyio.CancelScope(shield=True):
                await self.stop()
        finally:
            # the dispatcher, the timer task and anything left are ours to cancel; an
            # exception from the block propagates as it is (not wrapped in a group)
            tg.cancel_scope.cancel()
            try:
                await tg.__aexit__(None, None, None)
            finally:
                if self._durable is not None:
                    await self._durable.close()  # flushes what is queued, then closes
        return None

    async def stop(self) -> None:
        """Stop every actor (children before parents, exit actions run, invocations
        cancelled, their cleanup awaited). Leaving ``async with`` does this."""
        if self._closing:
            if self._running:
                if self._closed is None:
                    self._closed = anyio.Event()
                await self._closed.wait()
            return
        self._closing = True
        waits: list[_Task] = []
        for a in reversed(list(self._actors.values())):
            if a._parent is None:
                a._terminate("stopped", waits)
        for a in reversed(list(self._actors.values())):
            a._terminate("stopped", waits)
        for t in waits:
            await t.wait()
        self._running = False
        if self._closed is not None:
            self._closed.set()

    # -- spawning and lookup ----------------------------------------------------------------
    def spawn(
        self,
        chart: Chart | Session,
        *,
        id: str | None = None,
        context: Mapping[str, Any] | None = None,
        parent: ActorRef | None = None,
        system_id: str | None = None,
        snapshot: Snapshot | None = None,
        supervision: Supervision | None = None,
        on_error: ErrorPolicy | None = None,
        restart: RestartPolicy | None = None,
        mailbox_size: int | None = None,
    ) -> ActorRef:
        """Start an actor running ``chart`` and return its :class:`ActorRef`.

        ``id`` must be unique in the system (default: ``"<chart id>-<n>"``); ``system_id``
        registers it under a well-known name too (see :meth:`get`). ``context`` is the
        initial datamodel; ``snapshot`` resumes a stored instance instead (its timers are
        re-armed, the invocations of its active states started again, its child charts
        restored). ``parent`` makes it a child: it stops when the parent stops and escalates
        to it. ``supervision`` (or just ``on_error`` / ``restart``) overrides the inherited
        :class:`Supervision`. The initial entry runs before this returns.

        ``chart`` may also be a class-DSL ``StateChart`` instance: the actor takes it over at
        its current state, its callbacks run with the instance as ``self``, and the
        instance's ``send`` / ``raise_`` go to the actor.

        Raises :class:`~statefleet.ActorError` for a duplicate id or system id, a system that
        is not running, or a chart that fails to start (its entry looping forever);
        :class:`~statefleet.SnapshotError` for a snapshot that does not fit the chart.
        """
        if not self._running or self._closing:
            raise ActorError(
                "the ActorSystem is not running: spawn inside `async with ActorSystem() as s:`"
            )
        model: Session | None = None
        if isinstance(chart, Session):
            model = chart
            if getattr(model, "_sf_actor", None) is not None:
                raise ActorError(f"{model!r} is already driven by an actor")
            if snapshot is None:
                snapshot = model.snapshot()
            chart = model.chart
        if not isinstance(chart, Chart):
            raise ActorError(f"spawn needs a compiled Chart, not {type(chart).__name__}")
        if parent is not None:
            if not isinstance(parent, ActorRef) or parent._system is not self:
                raise ActorError(f"parent must be an actor of this system, not {parent!r}")
            if parent._state == STOPPED:
                raise ActorStoppedError(f"cannot spawn a child of stopped actor {parent.id!r}")
        if context is not None and not isinstance(context, Mapping):
            raise ActorError(f"context must be a mapping, not {type(context).__name__}")
        if snapshot is not None and not isinstance(snapshot, Snapshot):
            raise ActorError(f"snapshot must be a Snapshot, not {type(snapshot).__name__}")
        sup = supervision
        if sup is None:
            sup = parent._sup if parent is not None else self._supervision
        elif not isinstance(sup, Supervision):
            raise ActorError(f"supervision must be a Supervision, not {sup!r}")
        if on_error is not None or restart is not None:
            fields = msgspec.structs.asdict(sup)
            if on_error is not None:
                fields["on_error"] = on_error
            if restart is not None:
                fields["restart"] = restart
            sup = Supervision(**fields)
        cap = self._mailbox_size if mailbox_size is None else mailbox_size
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ActorError(f"mailbox_size must be an int >= 1, not {cap!r}")
        return self._spawn(
            chart,
            id=id,
            context=context,
            parent=parent,
            invokeid=None,
            system_id=system_id,
            snapshot=snapshot,
            supervision=sup,
            mailbox_size=cap,
            model=model,
        )

    def _spawn(
        self,
        chart: Chart,
        *,
        id: str | None,
        context: Mapping[str, Any] | None,
        parent: ActorRef | None,
        invokeid: str | None,
        system_id: str | None,
        snapshot: Snapshot | None,
        supervision: Supervision,
        mailbox_size: int,
        handle: _Inv | None = None,
        model: Session | None = None,
    ) -> ActorRef:
        actors = self._actors
        if id is None:
            id = self._new_id(chart.id)
        elif type(id) is not str or not id:
            raise ActorError(f"an actor id is a non-empty string, not {id!r}")
        elif id in actors:
            raise ActorError(f"an actor with id {id!r} already exists in this system")
        if system_id is not None:
            if type(system_id) is not str or not system_id:
                raise ActorError(f"a system_id is a non-empty string, not {system_id!r}")
            if system_id in self._sys_ids:
                raise ActorError(f"system_id {system_id!r} is already registered")
        a = ActorRef(self, chart, id, parent, invokeid, system_id, supervision, mailbox_size)
        if handle is not None:
            handle.actor = a
        m = a._m
        if model is not None:
            a._bind_model(model)
        if snapshot is not None:
            m.load_snapshot(snapshot, chart.validate(snapshot))
            m.context = _copy_context(snapshot.context)
            m.session_id = id
        actors[id] = a
        if system_id is not None:
            self._sys_ids[system_id] = a
        if parent is not None and invokeid is None:
            px = parent._extra()
            if px.children is None:
                px.children = {}
            px.children[id] = a
        if supervision.restart == "permanent":
            a._extra().spawn_context = dict(context) if context else None
        if self._fns:
            self._publish(
                ActorSpawned(
                    actor=id,
                    ts=self._clock_now(),
                    chart_id=chart.id,
                    chart_version=chart.version,
                    parent=parent.id if parent is not None else None,
                )
            )
        a._state = RUNNING  # nothing schedules it while it starts
        if snapshot is not None:
            if self._store is not None:
                a._extra().committed = snapshot
            a._resume(snapshot)
            if not m.running:
                a._terminate("done", None)
                return a
            return self._started(a)
        m.now = self._clock_now()
        traced = self._step_fns
        t0 = 0.0
        if traced:
            m.record = []
            t0 = time.perf_counter()
        try:
            m.start(dict(context) if context else None)
        except Exception as exc:
            a._state = STOPPED
            a._end = "failed"
            self._unregister(a)
            if parent is not None and parent._x is not None and parent._x.children:
                parent._x.children.pop(id, None)
            raise ActorError(f"actor {id!r} failed to start: {exc}") from exc
        if traced:
            a._traced(None, (), t0)
        if self._store is not None:
            a._state = OWNED
            self._start_owned(a)  # commits the initial step, then runs its effects
            return a
        if m.effects:
            a._apply_effects()
        if m.errors:
            a._on_errors(None)
        if m.unhandled is not None:
            a._on_unhandled()
        if a._state == STOPPED:
            return a
        if a._awaits is not None:
            a._state = OWNED
            self._start_owned(a)
            return a
        if not m.running:
            a._on_final()
            return a
        return self._started(a)

    def _started(self, a: ActorRef) -> ActorRef:
        a._state = 0  # IDLE
        if a._mb:
            a._schedule()
        return a

    def _new_id(self, base: str) -> str:
        actors = self._actors
        while True:
            self._seq += 1
            id = f"{base}-{self._seq}"
            if id not in actors:
                return id

    def _child_id(self, parent: ActorRef, invokeid: str) -> str:
        id = f"{parent.id}/{invokeid}"
        if id in self._actors:
            id = self._new_id(id)
        return id

    def _unregister(self, a: ActorRef) -> None:
        if self._actors.get(a.id) is a:
            del self._actors[a.id]
        if a.system_id is not None and self._sys_ids.get(a.system_id) is a:
            del self._sys_ids[a.system_id]

    def register(self, *charts: Chart) -> None:
        """Register charts by id (a durable store restores stored actors onto them)."""
        if self._durable is None:
            raise ActorError("register needs a durable store (statefleet.persistence)")
        for chart in charts:
            self._durable.register(chart)

    def ref(self, chart: Chart, entity_id: str) -> VirtualRef:
        """The entity ``entity_id`` running ``chart``, whether or not it is in memory: its
        first message activates it from the store (or creates it at its initial state)."""
        if self._durable is None:
            raise ActorError("ref needs a durable store (statefleet.persistence)")
        if type(entity_id) is not str or not entity_id:
            raise ActorError(f"an entity id is a non-empty string, not {entity_id!r}")
        self._durable.register(chart)
        return VirtualRef(self._durable, chart, entity_id)

    async def activate(self, entity_id: str) -> ActorRef:
        """The live actor of a stored entity (restored from the store if needed)."""
        if self._durable is None:
            raise ActorError("activate needs a durable store (statefleet.persistence)")
        return await self._durable.activate(entity_id)

    def get(self, key: str) -> ActorRef | None:
        """The running actor with id ``key``, else the one registered as system id ``key``,
        else None."""
        a = self._actors.get(key)
        if a is None:
            a = self._sys_ids.get(key)
        return a

    def _resolve(self, target: str) -> ActorRef | None:
        a = self._actors.get(target)
        if a is None:
            a = self._sys_ids.get(target)
            if a is None and target.startswith("#") and len(target) > 1:
                a = self._actors.get(target[1:]) or self._sys_ids.get(target[1:])
        return a

    @property
    def actors(self) -> tuple[ActorRef, ...]:
        """Every running actor, in spawn order."""
        return tuple(self._actors.values())

    @property
    def clock(self) -> VirtualClock | RealClock:
        """The clock timers, delayed sends and timeouts run on."""
        return self._clock

    @property
    def now(self) -> float:
        """The system clock's time, in seconds."""
        return self._clock_now()

    # -- listeners --------------------------------------------------------------------------
    def add_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Start publishing records to ``listener``."""
        self._listeners.append(listener)
        self._update_listeners()

    def remove_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Stop publishing records to ``listener``."""
        self._listeners.remove(listener)
        self._update_listeners()

    def inspect(self, buffer: int = 1024) -> Inspection:
        """Every record published from now on, as a bounded async iterator.

        ``async with system.inspect() as records: async for record in records: ...``. A slow
        reader never slows the actors: past ``buffer`` records it loses them and then reads a
        :class:`~statefleet.core.RecordsDropped` saying how many.
        """
        return Inspection(self, buffer)

    def _update_listeners(self) -> None:
        fns = as_listeners(self._listeners)
        self._fns = fns
        self._filters = tuple((fn, _record_types(fn)) for fn in fns)
        self._step_fns = tuple(
            fn for fn, types in self._filters if types is None or MacrostepRecord in types
        )
        self._recv_fns = tuple(
            fn for fn, types in self._filters if types is None or EventReceived in types
        )
        traces = []
        for fn in fns:
            th = getattr(getattr(fn, "__self__", None), "trace_headers", None)
            if th is not None:
                traces.append(th)
        self._trace_fns = tuple(traces)

    def _publish(
        self, record: Record, fns: tuple[Callable[[Record], Any], ...] | None = None
    ) -> None:
        if fns is not None:
            for fn in fns:
                try:
                    fn(record)
                except Exception:
                    log.exception("statefleet listener %r failed", fn)
            return
        for fn, types in self._filters:
            if types is not None and not isinstance(record, types):
                continue
            try:
                fn(record)
            except Exception:
                log.exception("statefleet listener %r failed", fn)

    def _received(self, a: ActorRef, ev: EventData) -> None:
        self._publish(
            EventReceived(actor=a.id, ts=self._clock_now(), event=ev.name, origin=ev.origin),
            self._recv_fns,
        )

    # -- the dispatcher ---------------------------------------------------------------------
    def _tg_start(self, fn: Callable[..., Any], *args: Any) -> None:
        tg = self._tg
        if tg is None or not self._running:
            raise ActorError("the ActorSystem is not running")
        tg.start_soon(fn, *args, name=_TASK_NAME)

    def _start_owned(self, a: ActorRef) -> None:
        self._owned += 1
        self._tg_start(a._store_run if self._store is not None else a._owned_run)

    def _owned_done(self) -> None:
        self._owned -= 1
        if self._owned == 0 and self._sleeping and not self._runq:
            self._notify_idle()

    def _notify_idle(self) -> None:
        waiters = self._idle_waiters
        if waiters:
            self._idle_waiters = []
            for w in waiters:
                w.set()

    def _is_idle(self) -> bool:
        return self._sleeping and not self._runq and self._owned == 0

    async def wait_idle(self) -> None:
        """Wait until no actor has an event to process or async work in progress.

        Invocations may still be running, and timers pending."""
        while not self._is_idle():
            w = anyio.Event()
            self._idle_waiters.append(w)
            await w.wait()

    def _run_one(self, a: ActorRef) -> None:
        """Run a batch of ``a`` now (it is RUNNING), outside the dispatcher."""
        code = a._run(self._batch)
        if code == DRAINED:
            a._idle()
        elif code == MORE:
            a._schedule()
        elif code == AWAIT:
            a._state = OWNED
            self._start_owned(a)

    async def _dispatch(self) -> None:
        runq = self._runq
        store = self._store is not None
        batch = self._batch
        turn = self._turn
        checkpoint = anyio.lowlevel.checkpoint
        while True:
            if not runq:
                self._sleeping = True
                if self._quiet_waiters:
                    quiet, self._quiet_waiters = self._quiet_waiters, []
                    for q in quiet:
                        q.set()
                if self._owned == 0:
                    self._notify_idle()
                w = self._wake = anyio.Event()
                await w.wait()
                self._sleeping = False
                continue
            self._count = 0
            while runq and self._count < turn:
                a = runq.popleft()
                if a._state != QUEUED:
                    continue
                if store:
                    a._state = OWNED
                    if self._durable is not None:
                        self._durable.dispatch(a)  # batched with other actors' commits
                    else:
                        self._start_owned(a)
                    self._count += 1
                    continue
                a._state = RUNNING
                code = a._run(batch)
                if code == DRAINED:
                    a._idle()
                elif code == MORE:
                    a._state = QUEUED
                    runq.append(a)
                elif code == AWAIT:
                    a._state = OWNED
                    self._start_owned(a)
            if runq:
                await checkpoint()  # let other tasks run between turns

    # -- time -------------------------------------------------------------------------------
    def _arm_timer(self, due: float, target: Any, key: Any) -> None:
        heap = self._timers
        first = not heap or due < heap[0][0]
        heapq.heappush(heap, (due, next(self._tseq), target, key))
        if first:
            w = self._twake
            if w is not None:
                self._twake = None
                w.set()

    def _drop_stale(self) -> None:
        heap = self._timers
        while heap:
            due, _, target, key = heap[0]
            if target._timer_valid(key, due):
                return
            heapq.heappop(heap)

    def _fire(self, limit: float) -> None:
        heap = self._timers
        while heap and heap[0][0] <= limit:
            due, _, target, key = heapq.heappop(heap)
            target._on_timer(key, due)

    async def _timer_wait(self, delay: float | None) -> None:
        w = self._twake = anyio.Event()
        if delay is None:
            await w.wait()
        else:
            with anyio.move_on_after(delay):
                await w.wait()
        self._twake = None

    async def _timer_loop(self) -> None:
        heap = self._timers
        clock = self._clock
        while True:
            self._drop_stale()
            if not heap or (self._virtual and not self._autojump):
                await self._timer_wait(None)
                continue
            due = heap[0][0]
            if self._virtual:
                # time jumps once the dispatcher has nothing to run and every task (actors
                # awaiting async actions, invocations, the program) is blocked
                await self._settle()
                self._drop_stale()
                if not self._quiet() or not heap or heap[0][0] != due:
                    continue
                clock.set(due)
                self._fire(due)
            else:
                delay = due - clock.now()
                if delay > 0:
                    await self._timer_wait(delay)
                    continue
                self._fire(clock.now())

    def _quiet(self) -> bool:
        d = self._durable
        return self._sleeping and not self._runq and (d is None or not d.busy)

    async def _settle(self) -> None:
        """Wait until the dispatcher has nothing to run and every other task is blocked."""
        while True:
            if not self._quiet():
                w = anyio.Event()
                self._quiet_waiters.append(w)
                await w.wait()
                continue
            await anyio.wait_all_tasks_blocked()
            if self._quiet():
                return

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on the system clock (with a virtual clock this returns as soon
        as time has jumped there)."""
        s = _Sleeper()
        self._arm_timer(self._clock_now() + max(0.0, float(seconds)), s, None)
        await s.event.wait()

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock (with ``autojump=False``) forward by ``seconds``, firing the
        timers due on the way in order and letting the actors process each before the next."""
        if not self._virtual:
            raise ActorError("advance() needs a VirtualClock")
        if self._autojump:
            raise ActorError("advance() is for autojump=False; with autojump time moves itself")
        if seconds < 0:
            raise ActorError("cannot advance by a negative duration")
        clock = self._clock
        until = clock.now() + seconds
        heap = self._timers
        await self._settle()
        while True:
            self._drop_stale()
            if not heap or heap[0][0] > until:
                break
            due = heap[0][0]
            clock.set(due)
            self._fire(due)
            await self._settle()
        clock.set(until)
