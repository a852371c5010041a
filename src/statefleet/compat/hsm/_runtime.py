"""stateforward hsm's runtime on statefleet: ``hsm.start`` / ``sm.dispatch`` / ``hsm.stop``.

:func:`start` runs a model made by :func:`statefleet.formats.hsm.define` (a core
:class:`~statefleet.core.Chart`) on a core :class:`~statefleet.core.Session`; see
``docs/formats-builder.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from statefleet.core import (
    ActorStoppedError,
    Chart,
    EventData,
    InvocationCancelled,
    Listener,
    RealClock,
    Record,
    Session,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._builder import (
    STOP_EVENT,
    Behavior,
    Context,
    Driver,
    Event,
    event_data,
    event_view,
)

__all__ = ["HSM", "Instance", "start", "stop"]

log = logging.getLogger("statefleet.hsm")


class Instance:
    """Base class for the object behaviours receive as ``instance`` (seed 004's ``hsm.Instance``).

    Subclass it and keep your machine's data on ``self``. While started, ``state()`` and
    ``dispatch()`` reach the running machine.
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
        """The path of the machine's current (deepest) state."""
        return self.machine.state()

    async def dispatch(self, event: Event | str, data: Any = None) -> None:
        """Dispatch ``event`` to the running machine (see :meth:`HSM.dispatch`)."""
        await self.machine.dispatch(event, data)


_IDS = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]


class _DriverSession(Session):
    """A core Session that knows the machine driving it (its activities start there)."""

    __slots__ = ("driver",)

    def __init__(self, driver: HSM, chart: Chart, **kw: Any) -> None:
        self.driver = driver
        super().__init__(chart, **kw)


class HSM(Driver):
    """A machine started by :func:`start`: seed 004's ``sm``.

    Built on the core sync :class:`~statefleet.core.Session` (``session``): ``dispatch``
    processes the event as one macrostep, then awaits, in order, the awaitables returned by
    ``async def`` behaviours during it (their errors are dispatched as ``error.execution``)
    and the activities it cancelled. Activities run as asyncio tasks. With a
    :class:`~statefleet.RealClock` (the default) a timer task fires ``after``/``every``; with a
    :class:`~statefleet.VirtualClock` time moves only by :meth:`advance`.
    """

    def __init__(
        self,
        ctx: Context,
        instance: Any,
        model: Chart,
        *,
        clock: VirtualClock | RealClock | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        id: str | None = None,
    ) -> None:
        info = model.meta.get("hsm") if isinstance(model, Chart) else None
        if not isinstance(info, dict):
            raise StatefleetError(f"start() needs a model made by hsm.define(), got {model!r}")
        if not isinstance(ctx, Context):
            raise StatefleetError(f"start() needs an hsm.Context, got {type(ctx).__name__}")
        if isinstance(instance, Instance):
            running = instance._hsm
            if running is not None and not running.stopped:
                raise StatefleetError(
                    f"this {type(instance).__name__} is already running in another machine"
                )
        self.ctx = ctx
        self.instance = instance
        self.model = model
        self._finals: frozenset[str] = frozenset(info.get("finals", ()))
        self._pending: deque[Awaitable[Any]] = deque()
        self._activities: dict[str, tuple[asyncio.Task[None], Context]] = {}
        self._cancelling: set[asyncio.Task[None]] = set()
        self._fresh = False
        self._flusher: asyncio.Task[Any] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._closing = False
        sid = id if id is not None else f"hsm-{_PREFIX}{next(_IDS):x}"
        if not isinstance(sid, str) or not sid:
            raise StatefleetError(f"a machine id must be a non-empty string, got {sid!r}")
        if isinstance(instance, Instance):
            instance._hsm = self
        try:
            self.session: Session = _DriverSession(
                self,
                model,
                clock=clock if clock is not None else RealClock(),
                session_id=sid,
                listeners=(self._on_record, *listeners),
                owner=self,
            )
        except BaseException:
            self._stopped = self._closing = True
            if isinstance(instance, Instance):
                instance._hsm = None
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
        return sum(not task.done() for task, _ in self._activities.values())

    # -- driving --------------------------------------------------------------------------
    async def dispatch(self, event: Event | EventData | str, data: Any = None) -> None:
        """Process ``event`` (an :class:`Event`, or a name and ``data``) as one macrostep,
        then await the behaviours' awaitables. Raises
        :class:`~statefleet.ActorStoppedError` once stopped."""
        if self._closing:
            raise ActorStoppedError(f"machine {self.model.id!r} is stopped")
        self.session.send(event_data(event, data))
        await self._flush()

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
            self.session.advance(max(0.0, due - clock.now()))
            await self._flush()
        self.session.advance(max(0.0, until - clock.now()))
        await self._flush()

    async def stop(self) -> None:
        """Exit every state (exit behaviours run, activities and timers are cancelled) and stop
        accepting events. Stopping twice does nothing."""
        if self._closing:
            return
        self._closing = True
        if self._timer_task is not None:  # let it finish what it is doing, then end
            self._wake.set()
            await self._timer_task
            self._timer_task = None
        self.session.send(STOP_EVENT)
        await self._flush()
        self._stopped = True
        for invokeid in list(self._activities):
            self._cancel_activity(invokeid)
        await self._flush()
        while self._pending:  # nothing should be left; never leave a coroutine unawaited
            aw = self._pending.popleft()
            if inspect.iscoroutine(aw):
                aw.close()
        if isinstance(self.instance, Instance) and self.instance._hsm is self:
            self.instance._hsm = None

    # -- internals ------------------------------------------------------------------------
    def defer(self, awaitable: Awaitable[Any]) -> None:
        """Await ``awaitable`` after the current macrostep (see :meth:`dispatch`)."""
        self._pending.append(awaitable)

    async def _flush(self) -> None:
        """Await pending awaitables, cancelled activities and the first step of new
        activities, until there are none."""
        me = asyncio.current_task()
        while self._flusher is not None:
            if self._flusher is me:
                return  # the flush in progress further up our stack takes them
            await self._idle.wait()
        self._flusher = me
        self._idle.clear()
        try:
            while True:
                if self._pending:
                    aw = self._pending.popleft()
                    try:
                        await aw
                    except Exception as exc:
                        self._send_error(exc)
                elif self._cancelling:
                    tasks = {t for t in self._cancelling if t is not me}
                    self._cancelling.clear()
                    if tasks:
                        await asyncio.wait(tasks)
                elif self._fresh:
                    # let new activities run up to their first await before returning
                    self._fresh = False
                    await asyncio.sleep(0)
                else:
                    break
        finally:
            self._flusher = None
            self._idle.set()
            self._wake.set()

    def _send_error(self, exc: Exception) -> None:
        self.session.send(EventData("error.execution", {"error": str(exc)}, "platform", error=exc))

    def _on_record(self, record: Record) -> None:
        if isinstance(record, InvocationCancelled):
            self._cancel_activity(record.invokeid)

    def start_activity(self, invokeid: str, fn: Behavior, event: EventData | None) -> None:
        ctx = Context(self.ctx)
        task = asyncio.get_running_loop().create_task(
            self._run_activity(fn, ctx, event_view(event)), name=f"hsm activity {invokeid}"
        )
        self._activities[invokeid] = (task, ctx)
        self._fresh = True

        def finished(t: asyncio.Task[None]) -> None:
            entry = self._activities.get(invokeid)
            if entry is not None and entry[0] is t:
                del self._activities[invokeid]

        task.add_done_callback(finished)

    async def _run_activity(self, fn: Behavior, ctx: Context, event: Event) -> None:
        try:
            result = fn(ctx, self.instance, event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            if not ctx.is_done() and not self._closing:
                self._send_error(exc)
                await self._flush()

    def _cancel_activity(self, invokeid: str) -> None:
        entry = self._activities.pop(invokeid, None)
        if entry is None:
            return
        task, ctx = entry
        ctx.cancel()
        if task is not asyncio.current_task() and not task.done():
            task.cancel()
            self._cancelling.add(task)

    def _start_timers(self) -> None:
        if isinstance(self.session.clock, RealClock):
            self._timer_task = asyncio.get_running_loop().create_task(
                self._timer_loop(), name=f"hsm timers {self.model.id}"
            )

    async def _timer_loop(self) -> None:
        session = self.session
        while not self._closing:
            self._wake.clear()
            due = session.next_due
            if due is None:
                await self._wake.wait()
                continue
            wait = due - session.clock.now()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            try:
                session.poll()
            except Exception:  # a runaway step (InfiniteLoopError): nothing left to time
                log.exception("statefleet.hsm: timers of %r stopped", self.model.id)
                return
            await self._flush()


async def start(
    ctx: Context,
    instance: Any,
    model: Chart,
    *,
    clock: VirtualClock | RealClock | None = None,
    listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    id: str | None = None,
) -> HSM:
    """Start ``model`` (from :func:`define`) for ``instance``: seed 004's ``hsm.start``.

    Enters the initial states, awaits their ``async def`` entry behaviours and starts their
    activities. ``clock`` defaults to a :class:`~statefleet.RealClock` (timers fire on their
    own); pass a :class:`~statefleet.VirtualClock` and call :meth:`HSM.advance` to move time by
    hand. ``listeners`` receive the session's inspection records; ``id`` names the machine
    (its session id; unique among running machines).
    """
    sm = HSM(ctx, instance, model, clock=clock, listeners=listeners, id=id)
    await sm._flush()
    sm._start_timers()
    return sm


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
