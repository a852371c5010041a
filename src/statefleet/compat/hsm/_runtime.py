"""stateforward hsm's runtime on statefleet: ``hsm.start`` / ``sm.dispatch`` / ``hsm.stop``.

:func:`start` runs a model made by ``hsm.define`` (a core :class:`~statefleet.core.Chart`) on
a core :class:`~statefleet.core.Session`, the driver interface every front-end uses: the
session steps the chart; this module only carries out what the steps leave to a driver
(awaiting ``async def`` behaviours, running activities, firing real-clock timers).

Concurrency is anyio's, so a machine runs on asyncio and on trio. Everything a machine runs
in the background (its activities and its real-clock timer loop) lives in one task group
owned by the machine: an activity is cancelled when its state exits, and :meth:`HSM.stop`
closes the group, so nothing outlives the machine. hsm's ``start`` returns a running machine
rather than entering a block, so by default that group lives in one host task the machine
starts (an asyncio task, or a trio system task); pass ``task_group=`` to host it in a task
group of your own, or use :func:`running` (``async with hsm.running(...) as sm:``) for plain
structured concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import anyio
import anyio.abc
import sniffio

from statefleet.compat.hsm._attributes import AttributeChange, change_event
from statefleet.compat.hsm._clock import sleep_of
from statefleet.compat.hsm._context import ActivityContext
from statefleet.compat.hsm._events import with_kind
from statefleet.core import (
    ActorStoppedError,
    Chart,
    EventData,
    InvocationCancelled,
    InvocationStarted,
    Listener,
    MacrostepRecord,
    RealClock,
    Record,
    Session,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._builder import (
    STOP_EVENT,
    Behavior,
    Driver,
    Event,
    event_data,
    event_view,
)
from statefleet.formats._builder import Context as _BuilderContext

__all__ = ["HSM", "Instance", "Pending", "running", "start", "stop"]

log = logging.getLogger("statefleet.hsm")

#: the datamodel key holding the events deferred by ``hsm.Defer`` (see ``_elements``)
DEFERRED_KEY = "$hsm.deferred"

#: the name of the event behaviours see during the initial entry
INITIAL_EVENT = "hsm_initial"

#: the machine whose session is stepping right now (behaviours ask it to keep their order)
stepping: ContextVar[HSM | None] = ContextVar("statefleet.hsm.stepping", default=None)


class Instance:
    """Base class for the object behaviours receive as ``instance`` (hsm's ``hsm.Instance``).

    Subclass it and keep your machine's data on ``self``. While started, ``state()``,
    ``dispatch()``, ``stop()`` and ``restart()`` reach the running machine (also spelled
    ``State``, ``Dispatch``, ``Stop``, ``Restart``).
    """

    _hsm: HSM | None = None

    def __init__(self) -> None:
        self._hsm = None

    @property
    def machine(self) -> HSM:
        """The running machine this instance is started in."""
        sm = self._hsm
        if sm is None or sm.stopped:
            raise StatefleetError(f"{type(self).__name__} is not running: call hsm.start() first")
        return sm

    def state(self) -> str:
        """The path of the machine's current (deepest) state; ``""`` before it was started,
        the machine's path (``/<name>``) once stopped (as hsm)."""
        sm = self._hsm
        if sm is None:
            return ""
        return sm.state() or sm.path

    def dispatch(self, *args: Any) -> Pending:
        """Dispatch an event to the running machine: ``dispatch(event)``, ``dispatch(name,
        data)`` or hsm's older ``dispatch(ctx, event)`` (see :meth:`HSM.dispatch`)."""
        return self.machine.dispatch(*args)

    async def stop(self, ctx: Any = None) -> None:
        """Stop the machine (hsm's ``instance.stop()``); nothing if it is not running."""
        if self._hsm is not None:
            await self._hsm.stop()

    async def restart(self, data: Any = None) -> None:
        """Stop the machine and start it again from its initial state (hsm's ``Restart``)."""
        await self.machine.restart(data)

    State = state
    Dispatch = dispatch
    Stop = stop
    Restart = restart


_IDS = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]


class _DriverSession(Session):
    """A core Session that knows the machine driving it (its activities start there)."""

    __slots__ = ("driver",)

    def __init__(
        self, driver: HSM, chart: Chart, *, context: dict[str, Any] | None, **kw: Any
    ) -> None:
        self.driver = driver
        super().__init__(chart, _start=False, **kw)
        # the driver knows its session before the initial entry runs: behaviours of that
        # entry (durations reading attributes, hsm.Get) reach it through the instance
        driver.session = self
        token = stepping.set(driver)
        try:
            self._start(context)
        finally:
            stepping.reset(token)


class _Activity:
    """One running (or about to run) activity: its context, cancel scope and task."""

    __slots__ = ("ctx", "done", "event", "fn", "invokeid", "scope", "state", "task_id")

    def __init__(
        self, invokeid: str, fn: Behavior, event: Event, ctx: ActivityContext, state: str
    ) -> None:
        self.invokeid = invokeid
        self.fn = fn
        self.event = event
        self.ctx = ctx
        self.state = state
        self.scope: anyio.CancelScope | None = None
        self.task_id: int | None = None
        self.done = anyio.Event()


class Pending:
    """What :meth:`HSM.dispatch` returns: the event is processed already; awaiting this
    waits for its ``async def`` behaviours and for the activities it started or cancelled.

    hsm lets an activity call ``instance.dispatch(event)`` without awaiting it; the
    macrostep still happens, and when this object is dropped unawaited the machine's
    flusher task carries out what the step left.
    """

    __slots__ = ("_awaited", "_sm")

    def __init__(self, sm: HSM) -> None:
        self._sm = sm
        self._awaited = False

    def __await__(self) -> Generator[Any, None, None]:
        self._awaited = True
        return self._sm._flush().__await__()

    def __del__(self) -> None:
        if not self._awaited:
            with contextlib.suppress(Exception):  # e.g. its event loop is gone already
                self._sm._work.set()


def _current_task() -> int:
    """An id of the running task (anyio's ``get_current_task`` builds a TaskInfo: too slow
    for every dispatch)."""
    if sniffio.current_async_library() == "trio":
        return _trio_task()
    return id(asyncio.current_task())


def _trio_task() -> int:
    import trio

    return id(trio.lowlevel.current_task())


def _asyncio_task() -> int:
    return id(asyncio.current_task())


class HSM(Driver):
    """A machine started by :func:`start`: hsm's ``sm``.

    Built on the core sync :class:`~statefleet.core.Session` (``session``): ``dispatch``
    processes the event as one macrostep, then (when awaited) awaits, in order, the
    awaitables returned by ``async def`` behaviours during it (their errors are dispatched as
    ``error.execution``), the activities it cancelled and the start of those it began. With
    a :class:`~statefleet.RealClock` (the default) a timer task fires ``after``/``every``; with
    a :class:`~statefleet.VirtualClock` time moves only by :meth:`advance`.
    """

    def __init__(
        self,
        ctx: _BuilderContext,
        instance: Any,
        model: Chart,
        *,
        clock: VirtualClock | RealClock | Any = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        id: str | None = None,
        name: str | None = None,
        data: Any = None,
    ) -> None:
        info = model.meta.get("hsm") if isinstance(model, Chart) else None
        if not isinstance(info, dict):
            raise StatefleetError(f"start() needs a model made by hsm.define(), got {model!r}")
        if not isinstance(ctx, _BuilderContext):
            raise StatefleetError(f"start() needs an hsm.Context, got {type(ctx).__name__}")
        if isinstance(instance, Instance):
            running = instance._hsm
            if running is not None and not running.stopped:
                raise StatefleetError(
                    f"this {type(instance).__name__} is already running in another machine"
                )
        sid = id if id is not None else f"hsm-{_PREFIX}{next(_IDS):x}"
        if not isinstance(sid, str) or not sid:
            raise StatefleetError(f"a machine id must be a non-empty string, got {sid!r}")
        self.ctx = ctx
        self.instance = instance
        self.model = model
        #: the machine's path: ``/<name>`` (hsm's ``Config(Name=...)`` renames it)
        self.path: str = name if name is not None else str(info.get("machine", "/" + model.id))
        self._id = sid
        #: an hsm-style clock's ``sleep`` (see ``_clock``): time is then a VirtualClock's
        self._sleep = sleep_of(clock) if not isinstance(clock, VirtualClock | RealClock) else None
        if (
            clock is not None
            and not isinstance(clock, VirtualClock | RealClock)
            and self._sleep is None
        ):
            raise StatefleetError(
                f"a machine's clock is a statefleet VirtualClock or RealClock, or an hsm.Clock "
                f"(an object with an async sleep(timedelta)), not {type(clock).__name__}"
            )
        self._clock: VirtualClock | RealClock = (
            clock
            if isinstance(clock, VirtualClock | RealClock)
            else VirtualClock()
            if self._sleep is not None
            else RealClock()
        )
        self._listeners = tuple(listeners)
        self._finals: frozenset[str] = frozenset(info.get("finals", ()))
        self._attributes: dict[str, Any] = dict(info.get("attributes", {}))
        self._waiters: list[tuple[str, str | None, anyio.Event]] = []
        #: a timer task runs (real clock or hsm clock): it is woken after every step
        self._timed = self._sleep is not None or isinstance(self._clock, RealClock)
        #: the running task's id, for the backend the machine was made on
        self._task = _trio_task if sniffio.current_async_library() == "trio" else _asyncio_task

        #: the data of the initial event (hsm's ``Config(data=...)``, ``Restart(data)``)
        self.startup: Any = data
        self._stopped = self._closing = True
        self.session: Session = self._open_session()

    def _open_session(self) -> Session:
        self._pending: deque[Awaitable[Any]] = deque()
        self._starts: deque[_Activity] = deque()
        self._activities: dict[str, _Activity] = {}
        self._invoked: dict[str, str] = {}
        self._cancelling: list[_Activity] = []
        self._flusher: int | None = None
        #: set when the flush in progress ends (made only when a task waits for it)
        self._idle: anyio.Event | None = None
        self._wake = anyio.Event()
        self._changed = anyio.Event()
        self._work = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self._ready = anyio.Event()
        self._closed = anyio.Event()
        self._host_done = anyio.Event()
        self._inside: set[int] = set()
        self._sleeping: dict[tuple[str, float], anyio.CancelScope] = {}
        self._view: tuple[str, Any, BaseException | None, Event] | None = None
        self._stopped = self._closing = False
        if isinstance(self.instance, Instance):
            self.instance._hsm = self
        try:
            return _DriverSession(
                self,
                self.model,
                clock=self._clock,
                session_id=self._id,
                listeners=(self._on_record, *self._listeners),
                owner=self,
                context={k: _fresh(v) for k, v in self._attributes.items()} or None,
            )
        except BaseException:
            self._stopped = self._closing = True
            if isinstance(self.instance, Instance):
                self.instance._hsm = None
            raise

    def __repr__(self) -> str:
        return f"<HSM {self.model.id!r} {self.state() or '(stopped)'}>"

    # -- inspection -----------------------------------------------------------------------
    def state(self) -> str:
        """The path of the current (deepest) state, ``""`` once stopped."""
        if self._stopped:
            return ""
        leaves = self.session.active_leaves
        return leaves[0] if leaves else ""

    @property
    def id(self) -> str:
        """The machine id (``Config(id=...)``, else a generated one)."""
        return self._id

    @property
    def configuration(self) -> frozenset[str]:
        """Paths of every active state (the machine's own ``/<name>`` included)."""
        return frozenset() if self._stopped else self.session.configuration

    @property
    def done(self) -> bool:
        """True while a final state directly inside the machine is active."""
        return not self._stopped and bool(self._finals & self.session.configuration)

    @property
    def stopped(self) -> bool:
        """True once :func:`stop` ran."""
        return self._stopped

    @property
    def now(self) -> float:
        """The clock's current time, in seconds."""
        return self.session.clock.now()

    @property
    def activities(self) -> int:
        """How many activities are running."""
        return sum(a.scope is not None and not a.done.is_set() for a in self._activities.values())

    @property
    def deferred(self) -> tuple[str, ...]:
        """Names of the events ``hsm.Defer`` holds back, oldest first."""
        held = self.session.context.get(DEFERRED_KEY, ())
        return tuple(str(item[0]) for item in held)

    # -- attributes -----------------------------------------------------------------------
    def attribute_name(self, name: str) -> str:
        """The datamodel key of attribute ``name`` (short, or qualified ``/<machine>/name``)."""
        if not isinstance(name, str) or not name:
            raise StatefleetError(f"an attribute name must be a non-empty string, got {name!r}")
        key = name
        for prefix in (self.path + "/", "/" + self.model.id + "/"):
            if name.startswith(prefix):
                key = name[len(prefix) :]
                break
        if not key or key.startswith("$") or "/" in key or key != "".join(key.split()):
            raise StatefleetError(
                f"invalid attribute name {name!r} for machine {self.path!r}: expected a name "
                "without spaces, '/' or a leading '$' (or /<machine>/<name>)"
            )
        return key

    def get(self, name: str) -> tuple[Any, bool]:
        """``(value, True)`` for a set or declared attribute, ``(None, False)`` otherwise."""
        key = self.attribute_name(name)
        data = self.session.context
        if key in data and key in self._attributes:
            return data[key], True
        return None, False

    def set(self, name: str, value: Any) -> Pending:
        """Set attribute ``name``; when its value changes, dispatch the change event that
        ``hsm.OnSet(name)`` transitions wait for (named ``/<machine>/<name>``, its data an
        ``AttributeChange``)."""
        self._check_running()
        key = self.attribute_name(name)
        data = self.session.context
        existed = key in self._attributes
        old = data.get(key)
        self._attributes.setdefault(key, None)
        data[key] = value
        if existed and old == value:
            return Pending(self)
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        event = change_event(self.model.id, key)
        self._send(EventData(event, AttributeChange(event, value, old)))
        return Pending(self)

    async def changed(self) -> None:
        """Wait until an attribute changes (what ``hsm.When`` conditions re-check on)."""
        await self._changed.wait()

    def attributes(self) -> dict[str, Any]:
        """The attributes by qualified name (``/<machine>/<name>``), as hsm's snapshot."""
        data = self.session.context
        return {f"/{self.model.id}/{k}": data.get(k) for k in self._attributes}

    # -- driving --------------------------------------------------------------------------
    def dispatch(self, *args: Any) -> Pending:
        """Process an event as one macrostep: ``dispatch(event)`` (an :class:`Event`),
        ``dispatch(name, data)``, or hsm's older ``dispatch(ctx, event)``. The step runs
        before this returns; await the result to let its ``async def`` behaviours and
        activities run. Raises :class:`~statefleet.ActorStoppedError` once stopped."""
        if args and isinstance(args[0], _BuilderContext):
            args = args[1:]
        if not args or len(args) > 2:
            raise StatefleetError("dispatch() takes an event, or an event name and data")
        self._check_running()
        ev = event_data(args[0], args[1] if len(args) > 1 else None)
        self._notify("dispatch", ev.name)
        self._send(ev)
        return Pending(self)

    def _send(self, event: EventData | str) -> None:
        """Run ``event``'s macrostep, this machine marked as the one stepping."""
        token = stepping.set(self)
        try:
            self.session.send(event)
        finally:
            stepping.reset(token)

    def view(self, event: Event) -> Event:
        """The event a behaviour sees: with hsm's kind; the initial event carries the
        startup data."""
        # the behaviours of one step see the same event: its view is made once (compared by
        # identity, holding the objects, so a new payload is never mistaken for an old one)
        last = self._view
        if (
            last is not None
            and last[0] == event.name
            and last[1] is event.data
            and last[2] is event.error
        ):
            return last[3]
        seen = with_kind(event, self.model.id)
        if seen.name == INITIAL_EVENT and seen.data is None and self.startup is not None:
            seen = seen.with_data(self.startup)
        self._view = (event.name, event.data, event.error, seen)
        return seen

    @property
    def behind(self) -> bool:
        """True while awaitables of ``async def`` behaviours wait to be awaited: a plain
        behaviour of the step runs after them, to keep hsm's order."""
        return bool(self._pending)

    def _check_running(self) -> None:
        if self._closing:
            raise ActorStoppedError(f"machine {self.model.id!r} is stopped")

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock ``seconds`` forward, firing due timers one by one (each one's
        awaitables are awaited before the next fires)."""
        clock = self.session.clock
        if not isinstance(clock, VirtualClock):
            raise StatefleetError(
                "advance() needs a VirtualClock: start(..., clock=VirtualClock())"
            )
        if seconds < 0:
            raise ValueError("cannot advance by a negative duration")
        until = clock.now() + seconds
        while not self._stopped:
            due = self.session.next_due
            if due is None or due > until:
                break
            self._advance(max(0.0, due - clock.now()))
            await self._flush()
        self._advance(max(0.0, until - clock.now()))
        await self._flush()

    def _advance(self, seconds: float) -> None:
        token = stepping.set(self)
        try:
            self.session.advance(seconds)
        finally:
            stepping.reset(token)

    async def stop(self) -> None:
        """Exit every state (exit behaviours run, activities and timers are cancelled), stop
        accepting events and close the machine's task group. Stopping twice does nothing."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        self._send(STOP_EVENT)
        await self._flush()
        self._stopped = True
        for invokeid in list(self._activities):
            self._cancel_activity(invokeid)
        await self._flush()
        while self._pending:  # nothing should be left; never leave a coroutine unawaited
            aw = self._pending.popleft()
            if inspect.iscoroutine(aw):
                aw.close()
        self._closed.set()
        for _, _, waiter in self._waiters:
            waiter.set()
        self._waiters.clear()
        if _current_task() not in self._inside:  # a task of the group cannot wait for it
            await self._host_done.wait()

    async def restart(self, data: Any = None) -> None:
        """Stop the machine and start it again (a new session and task group, hosted where the
        first one was): attributes back to their defaults, history and deferred events
        forgotten, initial entry run again (hsm's ``Restart``); the initial event carries
        ``data``."""
        group = self._group
        await self.stop()
        self.startup = data
        self.session = self._open_session()
        await self._open(group)

    # -- the machine's task group ---------------------------------------------------------
    _group: anyio.abc.TaskGroup | None = None

    async def _open(self, group: anyio.abc.TaskGroup | None) -> None:
        """Start the host of the machine's task group, then finish the initial entry."""
        from statefleet.compat.hsm._group import note_started

        note_started(self)
        self._group = group
        if group is not None:
            await group.start(self._host)
        elif sniffio.current_async_library() == "trio":
            import trio

            trio.lowlevel.spawn_system_task(self._host)
            await self._ready.wait()
        else:
            task = asyncio.get_running_loop().create_task(self._host(), name=f"hsm {self._id}")
            self._keep = task  # the loop holds tasks weakly
            await self._ready.wait()
        await self._flush()

    async def _host(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if self._sleep is not None:
                    tg.start_soon(self._sleep_loop, self._sleep, name=f"hsm timers {self._id}")
                elif isinstance(self._clock, RealClock):
                    tg.start_soon(self._timer_loop, name=f"hsm timers {self._id}")
                tg.start_soon(self._background_flush, name=f"hsm {self._id}")
                self._ready.set()
                task_status.started()
                await self._closed.wait()
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            self._host_done.set()

    async def _background_flush(self) -> None:
        """Carry out what a step left (awaitables, activities to start or cancel) when the
        dispatch that made it is not awaited (its :class:`Pending` is dropped): hsm lets an
        activity call ``instance.dispatch(event)`` without ``await``."""
        self._inside.add(_current_task())
        while not self._closing:
            self._work = work = anyio.Event()
            if self._pending or self._starts or self._cancelling:
                await self._flush()
                continue
            await work.wait()

    # -- internals ------------------------------------------------------------------------
    def defer(self, awaitable: Awaitable[Any]) -> None:
        """Await ``awaitable`` after the current macrostep (see :meth:`dispatch`)."""
        self._pending.append(awaitable)

    async def _flush(self) -> None:
        """Await pending awaitables, cancelled activities and the start of new activities
        (each runs up to its first suspension), until there are none."""
        if self._flusher is None and not (self._pending or self._starts or self._cancelling):
            if self._timed:
                self._wake.set()  # nothing to await: the timer task looks at the new due time
            return
        me = self._task()
        while self._flusher is not None:
            if self._flusher == me:
                return  # the flush in progress further up our stack takes them
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()
        self._flusher = me
        own: list[_Activity] = []
        try:
            while True:
                if self._pending:
                    aw = self._pending.popleft()
                    try:
                        await aw
                    except Exception as exc:
                        self._send_error(exc)
                elif self._cancelling:
                    batch, self._cancelling = self._cancelling, []
                    for a in batch:
                        if a.task_id == me:
                            own.append(a)
                        elif a.scope is not None:
                            a.scope.cancel()  # left by a step its own task ran: cancel it now
                            await a.done.wait()
                elif self._starts:
                    a = self._starts.popleft()
                    if self._activities.get(a.invokeid) is a and self._tg is not None:
                        await self._tg.start(self._run_activity, a)
                else:
                    break
        finally:
            self._flusher = None
            if self._idle is not None:
                self._idle.set()
                self._idle = None
            self._wake.set()
        # an activity whose own dispatch left its state: cancelled once that dispatch is done
        for a in own:
            if a.scope is not None:
                a.scope.cancel()

    def _send_error(self, exc: Exception) -> None:
        self._send(EventData("error.execution", {"error": str(exc)}, "platform", error=exc))

    def _on_record(self, record: Record) -> None:
        if isinstance(record, InvocationCancelled):
            self._cancel_activity(record.invokeid)
        elif isinstance(record, InvocationStarted):
            self._invoked[record.invokeid] = record.state
        elif isinstance(record, MacrostepRecord) and self._waiters:
            for micro in record.microsteps:
                for path in micro.exited:
                    self._notify("exit", path)
                for path in micro.entered:
                    self._notify("entry", path)
            self._notify("process", record.event.name if record.event is not None else None)

    def waiter(self, kind: str, expected: str | None) -> Awaitable[None]:
        """An awaitable done at the next ``kind`` (``entry``, ``exit``, ``process``,
        ``dispatch``, ``executed``) matching ``expected`` (hsm's ``After*`` helpers)."""
        done = anyio.Event()
        if self._closing:
            done.set()
        else:
            self._waiters.append((kind, expected, done))
        return _Waiter(done)

    def _notify(self, kind: str, name: str | None) -> None:
        if not self._waiters:
            return
        keep: list[tuple[str, str | None, anyio.Event]] = []
        for w in self._waiters:
            if w[0] == kind and (w[1] is None or w[1] == name):
                w[2].set()
            else:
                keep.append(w)
        self._waiters = keep

    def start_activity(self, invokeid: str, fn: Behavior, event: EventData | None) -> None:
        state = self._invoked.get(invokeid, "")
        a = _Activity(invokeid, fn, self.view(event_view(event)), ActivityContext(self.ctx), state)
        self._activities[invokeid] = a
        self._starts.append(a)

    async def _run_activity(
        self, a: _Activity, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        me = a.task_id = _current_task()
        self._inside.add(me)
        try:
            with anyio.CancelScope() as scope:
                a.scope = scope
                task_status.started()
                try:
                    result = a.fn(a.ctx, self.instance, a.event)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    if not a.ctx.is_done() and not self._closing:
                        self._send_error(exc)
                        await self._flush()
                else:
                    self._notify("executed", a.state)
        finally:
            self._inside.discard(me)
            if self._activities.get(a.invokeid) is a:
                del self._activities[a.invokeid]
            a.done.set()

    def _cancel_activity(self, invokeid: str) -> None:
        a = self._activities.pop(invokeid, None)
        if a is None:
            return
        if a.scope is None or a.done.is_set():
            a.ctx.cancel()
            return  # not started yet (the flush drops it) or already over
        if a.task_id != self._task():
            # the scope first: an activity waiting for its context gets the cancellation,
            # not a normal return from wait_done()
            a.scope.cancel()
        a.ctx.cancel()
        self._cancelling.append(a)

    async def _sleep_loop(self, sleep: Callable[[timedelta], Awaitable[Any]]) -> None:
        """Wait out each pending timer with an hsm-style clock's ``sleep``, as hsm does: one
        sleep per timer, cancelled when its timer is (see ``_clock``)."""
        self._inside.add(_current_task())
        async with anyio.create_task_group() as tg:
            while not self._closing:
                self._wake = wake = anyio.Event()
                for key in self._sleeps_to_start():
                    tg.start_soon(self._sleep_timer, sleep, key)
                await wake.wait()
            tg.cancel_scope.cancel()

    def _sleeps_to_start(self) -> list[tuple[str, float]]:
        """Cancel the sleeps of timers gone; the timers no sleep waits for yet, soonest first."""
        pending = {(d.sendid, d.due) for d in self.session.snapshot().pending}
        for key in [k for k in self._sleeping if k not in pending]:
            self._sleeping.pop(key).cancel()  # its timer was cancelled (or fired)
        return sorted(pending - self._sleeping.keys(), key=lambda k: k[1])

    async def _sleep_timer(
        self, sleep: Callable[[timedelta], Awaitable[Any]], key: tuple[str, float]
    ) -> None:
        me = _current_task()
        self._inside.add(me)
        try:
            await self._sleep_timers(sleep, key)
        finally:
            self._inside.discard(me)  # task ids may be reused once a task is over

    async def _sleep_timers(
        self, sleep: Callable[[timedelta], Awaitable[Any]], key: tuple[str, float]
    ) -> None:
        while not self._closing:
            self._sleeping[key] = scope = anyio.CancelScope()
            wait = max(0.0, key[1] - self._clock.now())
            slept = False
            with scope:
                if wait > 0:
                    await sleep(timedelta(seconds=wait))
                slept = True
            if not slept or self._closing:
                return
            try:
                self._advance(max(0.0, key[1] - self._clock.now()))  # fires what is due
            except Exception:  # a runaway step (InfiniteLoopError): nothing left to time
                log.exception("statefleet.hsm: timers of %r stopped", self.model.id)
                return
            await self._flush()
            # re-armed timers (every, or a state entered again) sleep at once, in this task,
            # as hsm's timer loop does: the next sleep has begun when the tick is seen
            self._sleeping.pop(key, None)
            todo = self._sleeps_to_start()
            if not todo:
                return
            key = todo[0]
            self._wake.set()  # the loop starts sleeps for the others

    async def _timer_loop(self) -> None:
        me = _current_task()
        self._inside.add(me)
        session = self.session
        while not self._closing:
            self._wake = wake = anyio.Event()
            due = session.next_due
            if due is None:
                await wake.wait()
                continue
            wait = due - session.clock.now()
            if wait > 0:
                with anyio.move_on_after(wait):
                    await wake.wait()
                continue
            token = stepping.set(self)
            try:
                session.poll()
            except Exception:  # a runaway step (InfiniteLoopError): nothing left to time
                log.exception("statefleet.hsm: timers of %r stopped", self.model.id)
                return
            finally:
                stepping.reset(token)
            await self._flush()


class _Waiter:
    """An awaitable for one of hsm's ``After*`` observations (awaitable more than once)."""

    __slots__ = ("_done",)

    def __init__(self, done: anyio.Event) -> None:
        self._done = done

    def __await__(self) -> Generator[Any, None, None]:
        return self._done.wait().__await__()


def _fresh(value: Any) -> Any:
    return copy.deepcopy(value)


async def start(
    ctx: _BuilderContext,
    instance: Any,
    model: Chart,
    *,
    clock: VirtualClock | RealClock | Any = None,
    listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    id: str | None = None,
    name: str | None = None,
    data: Any = None,
    task_group: anyio.abc.TaskGroup | None = None,
) -> HSM:
    """Start ``model`` (from ``hsm.define``) for ``instance``: hsm's ``hsm.start``.

    Enters the initial states, awaits their ``async def`` entry behaviours and starts their
    activities. ``clock`` defaults to a :class:`~statefleet.RealClock` (timers fire on their
    own); pass a :class:`~statefleet.VirtualClock` and call :meth:`HSM.advance` to move time by
    hand, or an ``hsm.Clock(sleep=...)`` whose ``sleep`` waits out each timer. ``listeners``
    receive the session's inspection records; ``id`` names the machine
    (its session id), ``name`` its path (hsm's ``Config(Name=...)``), ``data`` the data of
    the initial event (``Config(Data=...)``). The machine's activities
    and timers run in a task group it owns, hosted in ``task_group`` if given (else in a host
    task of its own); :func:`stop` closes it. Runs on asyncio and trio.
    """
    sm = HSM(ctx, instance, model, clock=clock, listeners=listeners, id=id, name=name, data=data)
    try:
        await sm._open(task_group)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await sm.stop()
        raise
    return sm


@asynccontextmanager
async def running(
    ctx: _BuilderContext,
    instance: Any,
    model: Chart,
    *,
    clock: VirtualClock | RealClock | None = None,
    listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    id: str | None = None,
) -> AsyncIterator[HSM]:
    """``async with hsm.running(ctx, instance, model) as sm:``: the machine's task group is
    a child of the block, and the machine is stopped when the block ends (structured
    concurrency, on asyncio and trio)."""
    async with anyio.create_task_group() as tg:
        sm = await start(
            ctx, instance, model, clock=clock, listeners=listeners, id=id, task_group=tg
        )
        try:
            yield sm
        finally:
            with anyio.CancelScope(shield=True):
                await sm.stop()


async def stop(sm: HSM | Instance) -> None:
    """Stop a machine started by :func:`start`, given it or its :class:`Instance` (see
    :meth:`HSM.stop`). Stopping an instance that is not running does nothing."""
    if isinstance(sm, Instance):
        running = sm._hsm
        if running is None:
            return
        sm = running
    if not isinstance(sm, HSM):
        raise StatefleetError(f"stop() takes a machine or an hsm.Instance, not {type(sm).__name__}")
    await sm.stop()
