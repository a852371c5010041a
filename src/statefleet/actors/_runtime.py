"""The runtime behind an :class:`~statefleet.actors.ActorSystem`: the registry of actor
cells, the dispatcher that runs them, the listeners records are published to, the timers and
the store pipeline.

The dispatcher runs queued cells in turns: a cell in memory-only mode runs a batch of its
events synchronously (:meth:`ActorCell.run`). With a store a cell is never queued here: it
goes straight to the commit pipeline (:mod:`statefleet.actors._commit`, from
:meth:`ActorCell.schedule`), which runs and commits each macrostep before it is published
and its effects run. A cell gets a task of its own only while it awaits something
(async actions, a commit of its initial step).
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from types import coroutine
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import msgspec
import sniffio

from statefleet.actors._cell import ActorCell, Placement, TraceHeaders
from statefleet.actors._commit import CommitPipeline
from statefleet.actors._durable import Durable, DurableStore
from statefleet.actors._invocations import RunningInvocation
from statefleet.actors._lifecycle import (
    AWAIT,
    ENDED,
    MORE,
    OWNED,
    QUEUED,
    RUNNING,
    STOPPED,
    contained,
    copy_context,
)
from statefleet.actors._models import ChartModel
from statefleet.actors._ref import ActorRef
from statefleet.actors._store import ActorStore
from statefleet.actors._supervision import Supervision
from statefleet.actors._timers import Timers
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActorError,
    ActorSpawned,
    Chart,
    EventData,
    EventReceived,
    Listener,
    MacrostepRecord,
    RealClock,
    Record,
    Snapshot,
    VirtualClock,
    as_listeners,
)
from statefleet.core._algorithm import Rare

if TYPE_CHECKING:
    from statefleet.actors._system import ActorSystem

__all__ = ["Runtime"]

log = logging.getLogger("statefleet.actors")

#: the name of the tasks the system starts (naming them saves anyio a lookup per task)
_TASK_NAME = "statefleet.actors"


@coroutine
def _asyncio_checkpoint() -> Generator[None, None, None]:
    """A checkpoint on asyncio: what ``asyncio.sleep(0)`` does (a bare yield: the task runs
    again on the loop's next turn, or is cancelled there), without the coroutine and the
    ``functools.partial`` around it (~10% of an inline ``ask``'s own work)."""
    yield


def _record_types(fn: Callable[[Record], Any]) -> tuple[type, ...] | None:
    """The record types a listener asked for (``record_types`` on it), or None for all."""
    owner = getattr(fn, "__self__", None)
    types = getattr(owner, "record_types", None) if owner is not None else None
    if types is None:
        types = getattr(fn, "record_types", None)
    return tuple(types) if types is not None else None


def _ignoring_event(
    fn: Callable[[str], dict[str, str] | None],
) -> Callable[[str, EventData | None], dict[str, str] | None]:
    """A listener's ``trace_headers(actor)`` as a ``begin_macrostep(actor, event)``."""
    return lambda actor, ev: fn(actor)


class Runtime:
    """The machinery of one :class:`~statefleet.actors.ActorSystem` (see the module doc)."""

    # Slots: every send, run and dispatch reads its fields, and an instance with this many
    # attributes keeps them in a dict on 3.12+ (a hinted dict look-up each); a slot is
    # read at a fixed offset (issue 16: ~13 ns of a ~190 ns ``send_nowait`` on 3.13)
    __slots__ = (
        "arm_timer",
        "batch",
        "busy",
        "caller_fns",
        "cells",
        "checkpoint",
        "ckpt_batch",
        "ckpt_step",
        "clock",
        "clock_now",
        "closed",
        "closing",
        "count",
        "default_place",
        "durable",
        "engine_rare",
        "filters",
        "fns",
        "idle_waiters",
        "listeners",
        "mailbox_size",
        "owned",
        "pipeline",
        "quiet_waiters",
        "recv_fns",
        "rng",
        "running",
        "runq",
        "send_hooks",
        "seq",
        "sleeping",
        "step_fns",
        "store",
        "supervision",
        "sys_ids",
        "system",
        "tg",
        "timers",
        "trace_fns",
        "turn",
        "wake",
        "wakes",
        "wants_step",
        "works",
    )

    def __init__(
        self,
        system: ActorSystem,
        *,
        clock: VirtualClock | RealClock,
        listeners: Iterable[Listener | Callable[[Record], Any]],
        store: ActorStore | None,
        supervision: Supervision,
        mailbox_size: int,
        batch: int,
        turn: int,
        checkpoint: str,
        autojump: bool | float,
        seed: int | None,
        idle_timeout: float | None,
        charts: tuple[Chart | type, ...],
    ) -> None:
        #: the public face
        self.system = system
        self.clock = clock
        self.clock_now = clock.now
        self.store: ActorStore | None = store
        self.durable: Durable | None = None
        if isinstance(store, DurableStore):
            self.durable = Durable(self, store, idle_timeout=idle_timeout, charts=charts)
        elif idle_timeout is not None or charts:
            raise ActorError(
                "idle_timeout and charts need a durable store (statefleet.persistence)"
            )
        self.supervision = supervision
        self.mailbox_size = mailbox_size
        #: where the top-level actors spawned with the system's defaults sit (one shared)
        self.default_place = Placement(self, None, None, None, supervision, mailbox_size)
        #: what every actor's engine starts with (one shared): error events nobody takes
        #: are collected for the error policy, and the time is read from the clock only
        #: when a step needs it (see ``Interpreter.now``)
        self.engine_rare = Rare.shared_by(track_unhandled=True, clock=clock.now)
        self.batch = batch
        self.turn = turn
        self.ckpt_batch = checkpoint == "batch"
        self.ckpt_step = checkpoint == "step"
        self.rng = random.Random(seed)
        self.listeners: list[Listener | Callable[[Record], Any]] = list(listeners)
        self.fns: tuple[Callable[[Record], Any], ...] = ()
        self.filters: tuple[tuple[Callable[[Record], Any], tuple[type, ...] | None], ...] = ()
        self.step_fns: tuple[Callable[[Record], Any], ...] = ()
        self.recv_fns: tuple[Callable[[Record], Any], ...] = ()
        #: None: some step listener wants every macrostep's record; else whether one of
        #: them wants the record of the step an actor just began (``wants_macrostep``)
        self.wants_step: Callable[[str], bool] | None = None
        #: per listener that propagates trace context: (actor id, event) -> headers for the
        #: events the actor's macrostep sends (``begin_macrostep``, else ``trace_headers``)
        self.trace_fns: tuple[Callable[[str, EventData | None], TraceHeaders], ...] = ()
        #: per listener that propagates trace context: () -> headers of the caller's span
        self.caller_fns: tuple[Callable[[], dict[str, str] | None], ...] = ()
        self.send_hooks = False
        self.update_listeners()
        self.cells: dict[str, ActorCell] = {}
        self.sys_ids: dict[str, ActorCell] = {}
        self.seq = 0
        self.runq: deque[ActorCell] = deque()
        self.wake: anyio.Event | None = None
        self.sleeping = False
        #: how many times the dispatcher woke up (a measure of work, for the timers)
        self.wakes = 0
        #: how many pieces of store work began (commits, activations, recovery)
        self.works = 0
        self.owned = 0
        self.count = 0
        #: store work under way that a virtual clock must not jump over (commits,
        #: recovery, activations, timer wake-ups)
        self.busy = 0
        self.idle_waiters: list[anyio.Event] = []
        self.quiet_waiters: list[anyio.Event] = []
        self.timers = Timers(
            clock,
            autojump=autojump,
            quiet=self.quiet,
            add_quiet_waiter=self.quiet_waiters_add,
            activity=self.activity,
        )
        self.arm_timer = self.timers.arm
        self.tg: anyio.abc.TaskGroup | None = None
        #: ``anyio.lowlevel.checkpoint`` for the backend the system runs on, looked up once
        #: when it opens (anyio looks the backend up on every call: ~15% of an ``ask``)
        self.checkpoint: Callable[[], Awaitable[None]] = anyio.lowlevel.checkpoint
        self.running = False
        self.closing = False
        self.closed: Latch | None = None
        self.pipeline = CommitPipeline(self, store) if store is not None else None

    # -- lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        """Start: open the store, start the dispatcher and the timers, recover."""
        if self.running or self.closing:
            raise ActorError("an ActorSystem can be entered only once")
        if sniffio.current_async_library() == "asyncio":
            # what anyio's asyncio backend does for a checkpoint, without its lookup
            self.checkpoint = _asyncio_checkpoint
        if self.durable is not None:
            await self.durable.open()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self.tg = tg
        self.running = True
        tg.start_soon(self.dispatch)
        tg.start_soon(self.timers.run)
        if self.durable is not None:
            await self.durable.start()

    async def close(self) -> None:
        """Stop every actor, then the system's tasks, then the store."""
        tg = self.tg
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
                if self.durable is not None:
                    await self.durable.close()  # flushes what is queued, then closes

    async def stop(self) -> None:
        """Stop every actor (children before parents)."""
        if self.closing:
            if self.running:
                if self.closed is None:
                    self.closed = Latch()
                await self.closed.wait()
            return
        self.closing = True
        waits: list[Latch] = []
        for a in reversed(list(self.cells.values())):
            if a.parent is None:
                a.terminate("stopped", waits)
        for a in reversed(list(self.cells.values())):
            a.terminate("stopped", waits)
        for t in waits:
            await t.settled()
        self.running = False
        if self.closed is not None:
            self.closed.set()

    # -- registry -----------------------------------------------------------------------------
    def cell_of(self, ref: Any) -> ActorCell | None:
        """The cell behind ``ref`` if it is an :class:`ActorRef` of this system."""
        if not isinstance(ref, ActorRef):
            return None
        a = self.cells.get(ref.id)
        if a is not None and a.ref is ref:
            return a
        return None

    def lookup(self, key: str) -> ActorCell | None:
        """The running cell with id ``key``, else the one registered as system id ``key``."""
        a = self.cells.get(key)
        if a is None:
            a = self.sys_ids.get(key)
        return a

    def spawn_top(
        self,
        chart: Chart,
        id: str,
        snapshot: Snapshot | None,
        *,
        model: ChartModel | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> ActorCell:
        """Spawn a top-level actor with the system's defaults (a durable activation; a chart
        class's runs ``model``)."""
        return self.spawn_cell(
            chart,
            id=id,
            context=context,
            model=model,
            parent=None,
            invokeid=None,
            system_id=None,
            snapshot=snapshot,
            supervision=self.supervision,
            mailbox_size=self.mailbox_size,
        )

    def spawn_cell(
        self,
        chart: Chart,
        *,
        id: str | None,
        context: Mapping[str, Any] | None,
        parent: ActorCell | None,
        invokeid: str | None,
        system_id: str | None,
        snapshot: Snapshot | None,
        supervision: Supervision,
        mailbox_size: int,
        handle: RunningInvocation | None = None,
        model: ChartModel | None = None,
        stored: bool = True,
    ) -> ActorCell:
        """Make, register and start an actor cell. ``stored``: ``snapshot`` is the actor's
        last committed one (an activation, a restored child); else it is committed first."""
        actors = self.cells
        if id is None:
            id = self.new_id(chart.id)
        elif type(id) is not str or not id:
            raise ActorError(f"an actor id is a non-empty string, not {id!r}")
        elif id in actors:
            raise ActorError(f"an actor with id {id!r} already exists in this system")
        if system_id is not None:
            if type(system_id) is not str or not system_id:
                raise ActorError(f"a system_id is a non-empty string, not {system_id!r}")
            if system_id in self.sys_ids:
                raise ActorError(f"system_id {system_id!r} is already registered")
        a = ActorCell(self, chart, id, parent, invokeid, system_id, supervision, mailbox_size)
        if handle is not None:
            handle.actor = a
        m = a.engine
        if model is not None:
            a.bind_model(model)
        if snapshot is not None:
            m.load_snapshot(snapshot, chart.validate(snapshot))
            m.context = copy_context(snapshot.context)
            m.session_id = id
        actors[id] = a
        if system_id is not None:
            self.sys_ids[system_id] = a
        if parent is not None and invokeid is None:
            px = parent.extra()
            if px.children is None:
                px.children = {}
            px.children[id] = a
        if supervision.restart == "permanent":
            a.extra().spawn_context = dict(context) if context else None
        if self.fns:
            self.publish(
                ActorSpawned(
                    actor=id,
                    ts=self.clock_now(),
                    chart_id=chart.id,
                    chart_version=chart.version,
                    parent=parent.id if parent is not None else None,
                )
            )
        a.state = RUNNING  # nothing schedules it while it starts
        if snapshot is not None:
            if self.store is not None and stored:
                a.extra().committed = snapshot
            a.resume(snapshot)
            if not m.running:
                a.terminate("done", None)
                return a
            if self.pipeline is not None and not stored:
                # a snapshot from the program (or a class-DSL instance's state), not from
                # the store: it is stored (created) before anything else it does commits
                a.state = OWNED
                self.commit_initial(a, None)
                return a
            return self.started(a)
        try:
            rec = a.start_step(dict(context) if context else None)
        except BaseException as exc:
            err = contained(exc)
            if err is None:
                raise
            a.state = STOPPED
            a.end = "failed"
            self.unregister(a)
            if parent is not None and parent.x is not None and parent.x.children:
                parent.x.children.pop(id, None)
            raise ActorError(f"actor {id!r} failed to start: {err}") from err
        if self.pipeline is not None:
            a.state = OWNED
            self.commit_initial(a, rec)  # its effects run once it is committed
            return a
        if not (m.attention or rec):  # (a fresh engine's: its step's own outcome)
            return self.started(a)  # nothing to do after the step (the common case)
        code = a.after_step(None, None, rec)
        if code == ENDED or a.state == STOPPED:
            return a
        if code == AWAIT:
            a.state = OWNED
            self.start_owned(a)
            return a
        return self.started(a)

    def started(self, a: ActorCell) -> ActorCell:
        a.state = 0  # IDLE
        if a.mailbox:
            a.schedule()
        return a

    def new_id(self, base: str) -> str:
        actors = self.cells
        while True:
            self.seq += 1
            id = f"{base}-{self.seq}"
            if id not in actors:
                return id

    def child_id(self, parent: ActorCell, invokeid: str) -> str:
        id = f"{parent.id}/{invokeid}"
        if id in self.cells:
            id = self.new_id(id)
        return id

    def unregister(self, a: ActorCell) -> None:
        if self.cells.get(a.id) is a:
            del self.cells[a.id]
        if a.system_id is not None and self.sys_ids.get(a.system_id) is a:
            del self.sys_ids[a.system_id]

    def resolve(self, target: str) -> ActorCell | None:
        a = self.cells.get(target)
        if a is None:
            a = self.sys_ids.get(target)
            if a is None and target.startswith("#") and len(target) > 1:
                a = self.cells.get(target[1:]) or self.sys_ids.get(target[1:])
        return a

    # -- listeners --------------------------------------------------------------------------
    def add_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Start publishing records to ``listener``."""
        self.listeners.append(listener)
        self.update_listeners()

    def remove_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Stop publishing records to ``listener``."""
        self.listeners.remove(listener)
        self.update_listeners()

    def update_listeners(self) -> None:
        fns = as_listeners(self.listeners)
        self.fns = fns
        self.filters = tuple((fn, _record_types(fn)) for fn in fns)
        self.step_fns = tuple(
            fn for fn, types in self.filters if types is None or MacrostepRecord in types
        )
        self.recv_fns = tuple(
            fn for fn, types in self.filters if types is None or EventReceived in types
        )
        wants = [
            getattr(getattr(fn, "__self__", None), "wants_macrostep", None) for fn in self.step_fns
        ]
        want_fns = tuple(w for w in wants if w is not None)
        if len(want_fns) < len(wants) or not want_fns:
            self.wants_step = None
        elif len(want_fns) == 1:
            self.wants_step = want_fns[0]
        else:
            self.wants_step = lambda actor: any(fn(actor) for fn in want_fns)
        traces: list[Callable[[str, EventData | None], TraceHeaders]] = []
        # trace context matters only to listeners that see macrosteps
        for fn in self.step_fns:
            owner = getattr(fn, "__self__", None)
            begin = getattr(owner, "begin_macrostep", None)
            if begin is not None:
                traces.append(begin)
                continue
            th = getattr(owner, "trace_headers", None)
            if th is not None:
                traces.append(_ignoring_event(th))
        self.trace_fns = tuple(traces)
        callers: list[Callable[[], dict[str, str] | None]] = []
        for fn in self.step_fns:
            ct = getattr(getattr(fn, "__self__", None), "caller_trace", None)
            if ct is not None:
                callers.append(ct)
        self.caller_fns = tuple(callers)
        #: does a send from outside need either (one check on ``send_nowait``'s hot path)
        self.send_hooks = bool(self.caller_fns or self.recv_fns)

    def from_caller(self, ev: EventData) -> EventData:
        """``ev`` (sent by application code) with the trace context of the caller's span,
        when a listener gives one (``caller_trace``) and it carries none yet."""
        if ev.trace is None:
            for fn in self.caller_fns:
                headers = fn()
                if headers:
                    return msgspec.structs.replace(ev, trace=headers)
        return ev

    def publish(
        self, record: Record, fns: tuple[Callable[[Record], Any], ...] | None = None
    ) -> None:
        if fns is not None:
            for fn in fns:
                try:
                    fn(record)
                except Exception:
                    log.exception("statefleet listener %r failed", fn)
            return
        for fn, types in self.filters:
            if types is not None and not isinstance(record, types):
                continue
            try:
                fn(record)
            except Exception:
                log.exception("statefleet listener %r failed", fn)

    def received(self, a: ActorCell, ev: EventData) -> None:
        self.publish(
            EventReceived(actor=a.id, ts=self.clock_now(), event=ev.name, origin=ev.origin),
            self.recv_fns,
        )

    # -- the dispatcher ---------------------------------------------------------------------
    def tg_start(self, fn: Callable[..., Any], *args: Any) -> None:
        tg = self.tg
        if tg is None or not self.running:
            raise ActorError("the ActorSystem is not running")
        tg.start_soon(fn, *args, name=_TASK_NAME)

    def start_owned(self, a: ActorCell) -> None:
        """Give ``a`` (OWNED) a task of its own to await its async actions."""
        self.owned += 1
        self.tg_start(a.await_actions)

    def commit_initial(self, a: ActorCell, rec: MacrostepRecord | None) -> None:
        """``a`` (OWNED) took its initial step: commit it before its effects run."""
        assert self.pipeline is not None
        a.extra().uncommitted = rec
        self.pipeline.dispatch(a)

    def begin_work(self, owned: bool = True) -> None:
        """Store work starts: the system is not quiet (nor idle, if ``owned``) until it
        ends."""
        self.busy += 1
        self.works += 1
        if owned:
            self.owned += 1

    def end_work(self, owned: bool = True) -> None:
        """Store work ended (see :meth:`begin_work`)."""
        self.busy -= 1
        if not self.busy and self.quiet_waiters and self.quiet():
            waiters, self.quiet_waiters = self.quiet_waiters, []
            for w in waiters:
                w.set()
        if owned:
            self.owned_done()

    def owned_done(self) -> None:
        self.owned -= 1
        if self.owned == 0 and self.sleeping and not self.runq:
            self.notify_idle()

    def notify_idle(self) -> None:
        waiters = self.idle_waiters
        if waiters:
            self.idle_waiters = []
            for w in waiters:
                w.set()

    def is_idle(self) -> bool:
        return self.sleeping and not self.runq and self.owned == 0

    async def wait_idle(self) -> None:
        """Wait until no actor has an event to process or async work in progress.

        Invocations may still be running, and timers pending."""
        while not self.is_idle():
            w = anyio.Event()
            self.idle_waiters.append(w)
            await w.wait()

    def run_one(self, a: ActorCell) -> None:
        """Run a batch of ``a`` now (it is RUNNING), outside the dispatcher."""
        code = a.run(self.batch)  # (DRAINED: it made itself idle)
        if code == MORE:
            a.schedule()
        elif code == AWAIT:
            a.state = OWNED
            self.start_owned(a)

    async def dispatch(self) -> None:
        runq = self.runq
        # with a store no actor is queued here: ActorCell.schedule hands it to the commit
        # pipeline, which runs its step
        batch = self.batch
        turn = self.turn
        checkpoint = self.checkpoint
        while True:
            if not runq:
                self.sleeping = True
                if self.quiet_waiters:
                    quiet, self.quiet_waiters = self.quiet_waiters, []
                    for q in quiet:
                        q.set()
                if self.owned == 0:
                    self.notify_idle()
                w = self.wake = anyio.Event()
                await w.wait()
                self.sleeping = False
                self.wakes += 1
                continue
            self.count = 0
            while runq and self.count < turn:
                a = runq.popleft()
                if a.state != QUEUED:
                    continue
                a.state = RUNNING
                code = a.run(batch)  # (DRAINED: it made itself idle)
                if code == MORE:
                    a.state = QUEUED
                    runq.append(a)
                elif code == AWAIT:
                    a.state = OWNED
                    self.start_owned(a)
            if runq:
                await checkpoint()  # let other tasks run between turns

    # -- quiet (for a virtual clock) --------------------------------------------------------
    def quiet_waiters_add(self, w: anyio.Event) -> None:
        self.quiet_waiters.append(w)

    def activity(self) -> int:
        """Changes whenever the system does work (the dispatcher woke, store work ran)."""
        return self.wakes + self.works

    def quiet(self) -> bool:
        return self.sleeping and not self.runq and not self.busy
