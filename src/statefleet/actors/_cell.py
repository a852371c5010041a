"""The actor cell: one chart instance with a mailbox, run by its system's dispatcher.

Users hold an :class:`~statefleet.actors.ActorRef`, a thin handle; the runtime's modules work
on cells. An idle actor is a plain object (an engine :class:`Interpreter`, a few fields, no
task, no mailbox container). Sending to it appends to a deque created on demand (events, or
envelopes: :mod:`._mailbox`) and puts the cell on the system's run queue; the dispatcher then
runs a bounded batch of its events (without a store) or hands it to the commit pipeline (with
one, :mod:`._commit`). Every step goes ``step`` (the engine), commit, ``after_step`` (publish,
then act). A cell only gets a task of its own while it has async actions to await.

Invocations (:mod:`._invocations`), timers (:mod:`._timers`), the supervisor
(:mod:`._supervisor`) and the observers (:mod:`._observers`) each live in a module of their
own.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import msgspec

from statefleet.actors import _invocations as invocations
from statefleet.actors import _supervisor as supervisor
from statefleet.actors._lifecycle import (
    ATOMIC,
    AWAIT,
    CONTINUE,
    DRAINED,
    ENDED,
    IDLE,
    MORE,
    NO_EFFECTS,
    OWNED,
    QUEUED,
    RESTART,
    RESTARTING,
    RUNNING,
    STOPPED,
    close_awaitable,
    contained,
    copy_context,
)
from statefleet.actors._mailbox import Envelope, Item, event_of, fail_pending
from statefleet.actors._observers import Subscription, Watch
from statefleet.actors._ref import ActorRef
from statefleet.actors._supervision import Supervision
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActionFailed,
    ActorError,
    ActorStopped,
    ActorStoppedError,
    AwaitEffect,
    CancelEffect,
    CancelInvokeEffect,
    Chart,
    EventData,
    InvocationDone,
    InvocationFailed,
    InvokeEffect,
    LogEffect,
    MacrostepRecord,
    ScheduleEffect,
    SendEffect,
    Snapshot,
)
from statefleet.core._algorithm import Interpreter, RawCheckpoint
from statefleet.core._routing import (
    CHILD,
    NAMED,
    NOWHERE,
    PARENT,
    SELF,
    SESSION,
    communication_error,
    done_invoke,
    error_invoke,
    from_invocation,
    target_kind,
)

if TYPE_CHECKING:
    from statefleet.actors._invocations import RunningInvocation
    from statefleet.actors._models import ChartModel
    from statefleet.actors._runtime import Runtime

__all__ = ["HANDED_OVER", "ActorCell", "Placement", "copy_context"]

log = logging.getLogger("statefleet.actors")

#: a listener's trace headers for a step's sends: the headers, or a function formatting them
#: (called only when the step sends or schedules an event)
TraceHeaders = dict[str, str] | Callable[[], dict[str, str] | None] | None
#: the effects that carry trace headers
_TRACED = (SendEffect, ScheduleEffect)

#: why a cluster node dropped an actor of a shard it handed over or lost: it stops at once,
#: without exit actions, effects or commits (its stored state is where its new owner resumes)
HANDED_OVER = "handed over"


class _Extra:
    """Per-actor state most actors never need (created on first use)."""

    __slots__ = (
        "armed",
        "await_env",
        "await_ev",
        "awaits",
        "chart",
        "children",
        "committed",
        "crashes",
        "end",
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
        "uncommitted",
        "watchers",
    )

    def __init__(self) -> None:
        #: timers armed on the system heap: send id -> due
        self.armed: dict[str, float] | None = None
        #: async actions of the last step, awaited (in order) by the actor's own task
        self.awaits: list[AwaitEffect] | None = None
        #: the chart it was moved to (another registered version, when a durable actor is
        #: loaded again): what it runs from its next engine on
        self.chart: Chart | None = None
        #: why it stopped (see ``ActorCell.status``), once it has
        self.end: str | None = None
        #: the event whose async actions are being awaited, and its envelope
        self.await_ev: EventData | None = None
        self.await_env: Envelope | None = None
        #: spawned (not invoked) children, in spawn order
        self.children: dict[str, ActorCell] | None = None
        #: the last snapshot a store committed
        self.committed: Snapshot | None = None
        #: clock times of recent crashes (restart intensity)
        self.crashes: list[float] | None = None
        self.invs: dict[str, RunningInvocation] | None = None
        #: the last snapshot made for an observer (a checkpoint too, while its version holds)
        self.last_snap: Snapshot | None = None
        #: the class-DSL instance this actor drives (its callbacks' ``self``)
        self.model: Any = None
        self.owned: Latch | None = None
        #: (snapshot or None for a fresh start, attempt, delay, error)
        self.restart: tuple[Snapshot | None, int, float, str] | None = None
        self.space: list[anyio.Event] | None = None
        self.spawn_context: dict[str, Any] | None = None
        self.stopped: Latch | None = None
        self.subs: list[Subscription] | None = None
        self.task_scope: anyio.CancelScope | None = None
        self.watchers: list[Watch] | None = None
        #: a step waiting for its commit before its after-step (the initial one)
        self.uncommitted: MacrostepRecord | None = None


class Placement:
    """Where an actor sits, fixed when it is spawned: its system's runtime, its parent, its
    invocation id, the system id it is registered under, its supervision and its mailbox's
    capacity.

    The top-level actors a system spawns with its defaults all share one (the runtime's
    ``default_place``): one slot per actor instead of six, 40 bytes less per idle actor
    (issue 16). The cell reads them as its own attributes."""

    __slots__ = ("capacity", "invokeid", "parent", "rt", "sup", "system_id")

    def __init__(
        self,
        rt: Runtime,
        parent: ActorCell | None,
        invokeid: str | None,
        system_id: str | None,
        sup: Supervision,
        capacity: int,
    ) -> None:
        self.rt = rt
        self.parent = parent
        self.invokeid = invokeid
        self.system_id = system_id
        self.sup = sup
        self.capacity = capacity


class ActorCell:
    """One actor: its engine, mailbox, lifecycle state and the per-actor extras.

    The runtime's modules (dispatcher, commit pipeline, invocations, supervision, the
    durable side) work on cells through their attributes; users hold an :class:`ActorRef`
    (``cell.ref``), a thin handle over it.

    Six slots (80 bytes; issue 16: idle actor bytes): its id is its ref's, its runtime its
    placement's, its chart its engine's, and its async actions and end live in its extras
    (read through properties; the hot paths here read ``place.rt`` and ``ref.id`` directly).
    """

    __slots__ = ("engine", "mailbox", "place", "ref", "state", "x")

    def __init__(
        self,
        rt: Runtime,
        chart: Chart,
        id: str,
        parent: ActorCell | None,
        invokeid: str | None,
        system_id: str | None,
        supervision: Supervision,
        mailbox_size: int,
    ) -> None:
        place = rt.default_place
        if (
            parent is None
            and invokeid is None
            and system_id is None
            and mailbox_size == place.capacity
            and (supervision is place.sup or supervision == place.sup)
        ):
            self.place = place
        else:
            self.place = Placement(rt, parent, invokeid, system_id, supervision, mailbox_size)
        self.state = IDLE
        self.mailbox: deque[Item] | None = None
        self.x: _Extra | None = None
        self.ref = ActorRef(self, id)
        # new_engine(), inlined: spawning is a hot path (no class-DSL instance yet)
        m = self.engine = chart.engine(rt.engine_rare)
        m.session_id = id
        m.owner = self.ref

    def new_engine(self) -> Interpreter:
        """A fresh engine for this actor (its chart's; the class-DSL instance it drives, if
        any, is its callbacks' ``self`` and sees it)."""
        m = self.chart.engine(self.place.rt.engine_rare)
        m.attention = self.watched()  # (see ``run``)
        m.session_id = self.ref.id
        x = self.x
        model = x.model if x is not None else None
        if model is None:
            m.owner = self.ref
        else:
            model.bind(m, self.ref)
        return m

    def bind_model(self, model: ChartModel) -> None:
        """Drive a chart class's instance (:mod:`._models`): callbacks get it as ``self``;
        its ``send``/``raise_`` and state views go to this actor."""
        model.bind(self.engine, self.ref)
        self.extra().model = model

    def __repr__(self) -> str:
        return f"<ActorCell {self.ref.id!r} ({self.chart.id}) {self.status}>"

    # -- what it reads from elsewhere (its ref, placement, engine, extras) ----------------
    @property
    def id(self) -> str:
        """The actor's id (its ref's)."""
        return self.ref.id

    @property
    def rt(self) -> Runtime:
        """The runtime of its system."""
        return self.place.rt

    @property
    def chart(self) -> Chart:
        """The chart it runs (or was moved to, for its next engine: see ``_Extra.chart``)."""
        x = self.x
        if x is not None and x.chart is not None:
            return x.chart
        return self.engine.chart

    @chart.setter
    def chart(self, chart: Chart) -> None:
        self.extra().chart = chart

    @property
    def awaits(self) -> list[AwaitEffect] | None:
        """The async actions of its last step, while they are awaited."""
        x = self.x
        return x.awaits if x is not None else None

    @awaits.setter
    def awaits(self, awaits: list[AwaitEffect] | None) -> None:
        x = self.x
        if x is not None:
            x.awaits = awaits
        elif awaits is not None:
            self.extra().awaits = awaits

    @property
    def end(self) -> str | None:
        """Why it stopped, once it has (see :attr:`status`)."""
        x = self.x
        return x.end if x is not None else None

    @end.setter
    def end(self, end: str | None) -> None:
        if end is not None or self.x is not None:
            self.extra().end = end

    # -- where it sits (its Placement) -------------------------------------------------------
    @property
    def parent(self) -> ActorCell | None:
        """The parent actor (invoking or spawning), if any."""
        return self.place.parent

    @property
    def invokeid(self) -> str | None:
        """The invocation id, when a parent invoked this actor's chart."""
        return self.place.invokeid

    @property
    def system_id(self) -> str | None:
        """The well-known name it is registered under, if any."""
        return self.place.system_id

    @property
    def sup(self) -> Supervision:
        """Its supervision settings."""
        return self.place.sup

    @property
    def capacity(self) -> int:
        """How many events its mailbox holds."""
        return self.place.capacity

    @property
    def stopped(self) -> bool:
        """Is the actor stopped (for good, or passivated)?"""
        return self.state == STOPPED

    @property
    def status(self) -> str:
        """See :attr:`ActorRef.status`."""
        st = self.state
        if st == STOPPED:
            return self.end or "stopped"
        if st == RESTARTING:
            return "restarting"
        return "active"

    def snapshot(self) -> Snapshot:
        """An immutable snapshot of the actor now (its invoked child charts included)."""
        m = self.engine
        snap = m.to_snapshot(copy_context(m.context))
        x = self.x
        if x is not None and x.invs:
            children = {k: h.actor.snapshot() for k, h in x.invs.items() if h.actor is not None}
            if children:
                return msgspec.structs.replace(snap, children=children)
        return snap

    # -- sending ----------------------------------------------------------------------------
    @property
    def full(self) -> bool:
        """Is the mailbox at its capacity?"""
        mb = self.mailbox
        return mb is not None and len(mb) >= self.capacity

    def stopped_error(self) -> ActorStoppedError:
        return ActorStoppedError(f"actor {self.ref.id!r} is stopped ({self.status})")

    async def send(self, ev: EventData) -> None:
        """``ActorRef.send``."""
        if self.place.rt.caller_fns:
            ev = self.place.rt.from_caller(ev)
        d = self.place.rt.durable
        if d is not None and await d.send_committed(self, ev):
            return  # an idle actor: returns once the macrostep applying it is committed
        await self.put(ev)

    async def wait_space(self) -> None:
        """Wait until the mailbox has room (or the actor stopped)."""
        w = anyio.Event()
        x = self.extra()
        if x.space is None:
            x.space = []
        x.space.append(w)
        await w.wait()

    async def put(self, ev: EventData, env: Envelope | None = None) -> None:
        """Queue ``ev`` from outside, waiting for room (durably accepted first, with a
        durable store); ``env``: its envelope, if it has one (``ask``: not accepted into the
        inbox, the commit of its step makes it durable, and its caller learns of that)."""
        while True:
            if self.state >= STOPPED:
                raise self.stopped_error()
            mb = self.mailbox
            if mb is None or len(mb) < self.capacity:
                break
            await self.wait_space()
        d = self.place.rt.durable
        seq: int | None = None
        if d is not None and env is None:
            seq = await d.accept(self, ev)  # durable before it is queued
            if self.state >= STOPPED:
                gone = self.end in ("passivated", HANDED_OVER)
                if env is None and gone and d.deliver(self.ref.id, ev, seq):
                    return
                raise self.stopped_error()
            env = Envelope(ev, seq)
        elif self.state >= STOPPED:
            raise self.stopped_error()
        self.enqueue(ev if env is None else env)

    async def ask(self, ev: EventData) -> tuple[Snapshot, bool]:
        """``ActorRef.ask``: the snapshot after the step, and whether a transition took
        the event."""
        s = self.place.rt
        if s.caller_fns:
            ev = s.from_caller(ev)
        w = Latch()
        env = Envelope(ev, None, None, w)
        await s.checkpoint()
        if self.state == IDLE and not self.mailbox and s.store is None:
            # nothing is queued before it: run it now, in this task, without a round trip
            # through the dispatcher (same order, same macrostep, one scheduling point)
            self.mailbox = deque((env,))
            if s.recv_fns:
                s.received(self, ev)
            self.state = RUNNING
            s.run_one(self)
        else:
            await self.put(ev, env)
        snap: Snapshot = w.result() if w.done else await w.wait()
        return snap, env.handled

    async def wait_for(
        self, target: str | Callable[[Snapshot], Any], timeout: float | None
    ) -> Snapshot:
        """``ActorRef.wait_for``."""
        state_id: str | None = None
        pred: Callable[[Snapshot], Any] | None = None
        if isinstance(target, str):
            if target not in self.chart.nodes_by_id:
                raise ActorError(f"wait_for: chart {self.chart.id!r} has no state {target!r}")
            state_id = target
            if target in self.engine.cfg.id_set:
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
        if self.state == STOPPED:
            raise self.stopped_error()
        w = Watch(state_id, pred)
        x = self.extra()
        if x.watchers is None:
            x.watchers = []
        x.watchers.append(w)
        self.engine.attention = True  # every step is looked at now (see ``run``)
        if timeout is not None:
            what = repr(state_id) if state_id is not None else "the predicate"
            w.timeout_with(TimeoutError(f"actor {self.ref.id!r}: timed out waiting for {what}"))
            s = self.place.rt
            s.arm_timer(s.clock_now() + float(timeout), w, None)
        try:
            result: Snapshot = await w.wait()
            return result
        finally:
            if x.watchers and w in x.watchers:
                x.watchers.remove(w)

    def subscribe(self, buffer: int) -> Subscription:
        """``ActorRef.subscribe``."""
        if buffer < 1:
            raise ActorError("subscribe: buffer must be at least 1")
        sub = Subscription(self.unsubscribe, buffer)
        sub.deliver(self.snapshot())
        if self.state == STOPPED:
            sub.finish()
            return sub
        x = self.extra()
        if x.subs is None:
            x.subs = []
        x.subs.append(sub)
        self.engine.attention = True  # every step is looked at now (see ``run``)
        return sub

    def watched(self) -> bool:
        """Has the actor watchers or subscribers (snapshots wanted after every step)?"""
        x = self.x
        return x is not None and bool(x.watchers or x.subs)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop building snapshots for ``sub``."""
        x = self.x
        if x is not None and x.subs and sub in x.subs:
            x.subs.remove(sub)

    async def stop(self) -> None:
        """``ActorRef.stop``."""
        waits: list[Latch] = []
        self.terminate("stopped", waits)
        for t in waits:
            await t.settled()
        await self.wait_stopped()

    # -- internals: mailbox -----------------------------------------------------------------
    def extra(self) -> _Extra:
        x = self.x
        if x is None:
            x = self.x = _Extra()
        return x

    def schedule(self) -> None:
        s = self.place.rt
        p = s.pipeline
        if p is not None:
            # With a store the commit pipeline runs the step; going to it directly saves the
            # dispatcher's hop (one loop iteration and an Event per durable send: 47-49 ->
            # 37-39 us CPU per send on a MemoryStore, one client).
            self.state = OWNED
            p.dispatch(self)
            return
        self.state = QUEUED
        s.runq.append(self)
        w = s.wake
        if w is not None:
            s.wake = None
            w.set()

    def enqueue(self, item: Item) -> bool:
        """Queue an event (or an envelope) from inside the system (no capacity limit); False
        if the actor is stopped."""
        st = self.state
        if st == STOPPED:
            return False
        mb = self.mailbox
        if mb is None:
            mb = self.mailbox = deque()
        mb.append(item)
        if st == IDLE:
            self.schedule()
        if self.place.rt.recv_fns:
            self.place.rt.received(self, event_of(item))
        return True

    def idle(self) -> None:
        """The run ended with an empty mailbox (``run`` does this itself when it drains
        the mailbox)."""
        self.state = IDLE
        self.mailbox = None
        x = self.x
        if x is not None and x.space:
            self.wake_senders()

    def wake_senders(self) -> None:
        x = self.x
        assert x is not None
        space, x.space = x.space, None
        for w in space or ():
            w.set()

    async def wait_stopped(self) -> None:
        if self.state == STOPPED:
            return
        x = self.extra()
        if x.stopped is None:
            x.stopped = Latch()
        await x.stopped.settled()

    # -- the step pipeline: step, (commit), after_step --------------------------------------
    #
    # Every macrostep goes the same way: ``step`` runs the engine (the outcome stays in it:
    # effects, errors, error events nobody took, whether it is still running; with listeners
    # that want macrosteps it is also returned as a record), then the step is committed (by
    # the commit pipeline, ``_commit``, when there is a store; nothing to do in memory), then
    # ``after_step`` publishes the record and runs the effects. No record of a step is
    # published, and no effect of it runs, before it is committed.
    def start_step(self, context: dict[str, Any] | None) -> MacrostepRecord | None:
        """The initial step (entering the initial configuration)."""
        m = self.engine
        m.clock_reading = None  # read from the clock if the step needs the time
        if not self.place.rt.step_fns:
            m.start(context)
            return None
        headers = self.begin(None)
        if not self.wanted():
            m.start(context)
            self.stamp(headers)
            return None
        m.start_record()
        t0 = time.perf_counter()
        m.start(context)
        return self.outcome(None, (), t0, headers)

    def step(self, ev: EventData) -> MacrostepRecord | None:
        """One macrostep of ``ev``; its outcome (see above). Raises what the engine raises:
        the runtime crashed around this actor."""
        m = self.engine
        if ev.invokeid is not None:
            self.inv_event(ev)
        if not self.place.rt.step_fns:
            m.macrostep(ev)
            return None
        headers = self.begin(ev)
        if not self.wanted():
            m.macrostep(ev)
            self.stamp(headers)
            return None
        m.start_record()
        before = m.cfg.ids
        t0 = time.perf_counter()
        m.macrostep(ev)
        return self.outcome(ev, before, t0, headers)

    def wanted(self) -> bool:
        """Does a listener want the record of the step about to be taken? A listener may
        say, by ``wants_macrostep(actor)``, that it needs none for this one (a tracer whose
        sampler dropped the step's span, with no meter): then none is built."""
        wants = self.place.rt.wants_step
        return wants is None or wants(self.ref.id)

    def begin(self, ev: EventData | None) -> TraceHeaders:
        """Tell the listeners that propagate trace context a macrostep of ``ev`` begins;
        the headers (of its span) for the events it sends, or a function giving them."""
        headers: TraceHeaders = None
        for fn in self.place.rt.trace_fns:
            h = fn(self.ref.id, ev)
            if h and headers is None:
                headers = h
        return headers

    def outcome(
        self,
        ev: EventData | None,
        before: tuple[str, ...],
        t0: float,
        headers: TraceHeaders,
    ) -> MacrostepRecord:
        """The record of the step just taken, its sends stamped with ``headers`` (so stored
        timers and inbox rows carry the trace context too; formatted only for a step that
        sends or schedules an event)."""
        m = self.engine
        duration = time.perf_counter() - t0
        self.stamp(headers)
        return m.step_record(self.ref.id, ev, before, duration)

    def stamp(self, headers: TraceHeaders) -> None:
        """Stamp the trace ``headers`` on the events the step just taken sends or schedules
        (formatted only if it does)."""
        m = self.engine
        if headers and m.x.effects and any(type(e) in _TRACED for e in m.x.effects):
            if callable(headers):
                headers = headers()
            if headers:
                m.stamp_trace(headers)

    def after_step(
        self,
        ev: EventData | None,
        env: Envelope | None,
        rec: MacrostepRecord | None,
        seqs: tuple[int | None, ...] | None = None,
    ) -> int:
        """After the step is committed: publish, then act (effects, error policy, asks,
        watchers, subscribers, a final state). ``seqs``: the durable inbox rows the commit
        made for the step's sends, by effect index. Returns CONTINUE, AWAIT (async actions
        to await first) or ENDED. Raises what applying the effects raises (a crash)."""
        m = self.engine
        # (errors, unhandled error events and ``running`` are kept in the engine's Rare,
        # ``m.x``: read there, a descriptor call less each, and only when the engine says
        # there is something to look at)
        if m.attention and m.x.errors:
            self.on_errors(ev)
        if rec is not None:
            self.place.rt.publish(rec, self.place.rt.step_fns)
        if m.x.effects:
            self.apply_effects(seqs)
        x = self.x
        if x is not None and x.awaits is not None:
            x.await_ev = ev
            x.await_env = env
            if m.attention and m.x.unhandled is not None:
                supervisor.on_unhandled(
                    self,
                )
                if self.state == STOPPED:
                    return ENDED
            return AWAIT
        if self.x is not None or env is not None:
            self.observe(ev, env)
        if m.attention and m.x.unhandled is not None:
            supervisor.on_unhandled(
                self,
            )
            if self.state == STOPPED:
                return ENDED
        if not m.x.running:
            supervisor.on_final(
                self,
            )
            return ENDED
        return CONTINUE

    def run(self, budget: int) -> int:
        """Without a store: process up to ``budget`` events synchronously (step, then
        after_step: a commit in memory is nothing); returns DRAINED (the cell is idle
        again: :meth:`idle` was done), MORE, AWAIT or ENDED (stopped, or crashed and
        restarting)."""
        s = self.place.rt
        m = self.engine
        mb = self.mailbox
        if not mb:
            self.idle()
            return DRAINED
        # the clock is read if a step of this run needs the time, once for the run (most
        # steps never need it: no clock call, and no float kept per idle actor)
        m.clock_reading = None
        # a crash restarts from ``ckpt``: a snapshot, or a raw checkpoint (one per step:
        # the snapshot is built only for a crash)
        ckpt: Snapshot | RawCheckpoint | None = None
        if s.ckpt_batch:
            x = self.x
            ckpt = x.last_snap if x is not None else None
            if ckpt is None or ckpt.version != m.version:
                # raw_checkpoint() with copy_context()'s flat case inlined: a run of one
                # event (a ping-pong hop, a fan-out message) pays this for every event, and
                # the two calls were ~100 ns of a ~3.4 us hop on 3.13 (issue 16)
                ctx = m.context
                for v in ctx.values():
                    if type(v) not in ATOMIC:
                        ckpt = self.raw_checkpoint()  # nested values: a deep copy
                        break
                else:
                    # (nothing here can fail, unlike a deep copy: every value is immutable
                    # and the rest is the engine's own containers)
                    ckpt = m.checkpoint(ctx.copy())
        step_ckpt = s.ckpt_step
        traced = s.step_fns
        n = 0
        ev: EventData | None = None
        env: Envelope | None = None
        rec: MacrostepRecord | None = None
        # The fast path (untraced): an event whose whole macrostep is a cached targetless
        # transition's content (the engine's ``actions_for``: a counter update, a reply)
        # runs as that specialised step, ``fast(m, ev)`` (what ``m.run_actions(ev, fast)``
        # does, a frame less), without the macrostep's selection. ``fast_cfg``/``fast_name``
        # say for which configuration and event name ``fast`` was looked up; it holds while
        # the configuration is that one and no invocation runs (a step that starts one has
        # an effect, so it goes through ``after_step``, after which the fast path is dropped
        # if one runs). ``fast_ev`` is the event that took it, when it has no send id or
        # invoke id: an event is immutable, so the same object again (``send_nowait(name)``
        # shares one per name) is known to fit without looking at its name, ids or envelope.
        # Saves ~40% of a counter's step (issue 16: fire-and-forget to one actor).
        fast_cfg: object = None
        fast_name = ""
        fast: Any = None  # (a FastStep once found)
        fast_ev: object = None
        try:
            while n < budget and mb:
                item = mb.popleft()
                n += 1
                if item is fast_ev and m.cfg is fast_cfg:
                    ev = item  # type: ignore[assignment]
                    env = None
                    fast(m, item)
                    # after_step() does nothing unless the engine says there is something
                    # to look at (no envelope, untraced here: see below)
                    if not m.attention:
                        # More of the same event object: a loop of its own over what the
                        # mailbox holds and the budget allows (``n`` counts them: it is the
                        # loop's variable), without the outer loop's tests and stores per
                        # event (~20 ns of a ~480 ns fire-and-forget message on 3.13, issue
                        # 16). Only this run takes events out of the mailbox, so it holds
                        # at least that many; another event goes back in front, for the
                        # outer loop. (``mb.popleft()``, not a bound ``popleft``: 3.11 and
                        # 3.13 specialise the method call, not the bound builtin's, ~7 ns.)
                        start, stop = n + 1, min(budget, n + len(mb)) + 1
                        for n in range(start, stop):
                            item = mb.popleft()
                            if item is not fast_ev or m.cfg is not fast_cfg:
                                mb.appendleft(item)
                                n -= 1  # (not taken)
                                break
                            fast(m, item)
                            if m.attention:
                                break  # this event's after_step, below
                        if not m.attention:
                            continue
                else:
                    if type(item) is Envelope:
                        env = item
                        ev = env.event
                    else:
                        env = None
                        ev = item  # type: ignore[assignment]
                    assert ev is not None
                    if step_ckpt:
                        ckpt = self.raw_checkpoint()
                    if traced:
                        rec = self.step(ev)
                    elif (
                        m.cfg is fast_cfg
                        and ev.name == fast_name
                        and ev.sendid is None
                        and ev.invokeid is None
                    ):
                        fast(m, ev)
                    else:
                        # step() inlined where it does nothing
                        if ev.invokeid is not None:
                            self.inv_event(ev)
                        m.macrostep(ev)
                        # (looked up only when more events wait: a run of one has no use)
                        fast = m.actions_for(ev.name) if mb else None
                        if fast is None:
                            fast_cfg = fast_ev = None
                        else:
                            fast_cfg, fast_name = m.cfg, ev.name
                            plain = ev.sendid is None and ev.invokeid is None and not step_ckpt
                            fast_ev = ev if plain else None
                    # after_step() does nothing in the common case: nothing to carry out,
                    # no error, nobody waiting or watching, still running (the engine's
                    # ``attention``, which this cell also keeps set while it has watchers
                    # or subscribers: an actor that was asked once keeps its extras, and
                    # the snapshot its last ask kept is a checkpoint only while its
                    # version holds), no ask to answer, no listener
                    if not (m.attention or env is not None or traced):
                        continue
                if env is not None:
                    env.handled = m.x.handled
                code = self.after_step(ev, env, rec)
                if code:
                    return code
                if mb:
                    # cleared for the events that follow in this run only: a run of one
                    # (a ping-pong hop) would pay ~100 ns for it; a flag left set costs
                    # the next run's first step an after_step that finds nothing
                    m.settle(self.watched())
                if m.x.invocations:  # (the engine's Rare, read there)
                    fast_cfg = fast_ev = None  # the step started one: no fast path now
        except BaseException as exc:
            err = contained(exc)
            if err is None:
                raise
            if isinstance(ckpt, tuple):
                ckpt = m.snapshot_of(ckpt)
            supervisor.crash(self, err, ev, env, ckpt)
            return ENDED
        finally:
            s.count += n
        if mb:
            return MORE
        self.idle()
        return DRAINED

    def checkpoint(self) -> Snapshot | None:
        """The state now, safe from later mutation (what a crash restarts from)."""
        ckpt = self.raw_checkpoint()
        return None if ckpt is None else self.engine.snapshot_of(ckpt)

    def raw_checkpoint(self) -> RawCheckpoint | None:
        """:meth:`checkpoint` before its snapshot is built (the engine's ``snapshot_of``
        builds it): what ``run`` keeps before each step, for a crash that is rare."""
        m = self.engine
        try:
            return m.checkpoint(copy_context(m.context))
        except Exception:
            log.warning(
                "actor %r: cannot copy its state for a checkpoint", self.ref.id, exc_info=True
            )
            return None

    def on_errors(self, ev: EventData | None) -> None:
        m = self.engine
        s = self.place.rt
        if s.fns:
            now = m.now
            for err in m.errors:
                s.publish(
                    ActionFailed(
                        actor=self.ref.id, ts=now, error=err, event=ev.name if ev else None
                    )
                )
        m.clear_errors()

    def observe(self, ev: EventData | None, env: Envelope | None) -> None:
        """After a step: answer its ``ask``, watchers and subscribers."""
        snap: Snapshot | None = None
        x = self.x
        if env is not None and env.reply is not None:
            snap = self.snapshot()
            env.reply.set(snap)
            if x is None:
                # kept: it is also the checkpoint a crash restarts from, while it is current
                x = self.extra()
        if x is None:
            return
        if x.watchers:
            snap = self.check_watchers(snap)
        if x.subs:
            if snap is None:
                snap = self.snapshot()
            for sub in x.subs:
                sub.deliver(snap)
        x.last_snap = snap

    def check_watchers(self, snap: Snapshot | None) -> Snapshot | None:
        x = self.x
        assert x is not None and x.watchers is not None
        ids = self.engine.cfg.id_set
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
                w.set(snap)
        return snap

    # -- internals: effects -----------------------------------------------------------------
    def apply_effects(self, seqs: tuple[int | None, ...] | None = None) -> None:
        """Carry out the engine's effects. ``seqs`` (by effect index, first round only): the
        durable inbox rows the commit made for the sends."""
        m = self.engine
        while (mx := m.x).effects:  # (the engine's Rare; not empty: a private one)
            effects = mx.effects
            mx.effects = NO_EFFECTS
            for i, e in enumerate(effects):
                c = e.__class__
                if c is SendEffect:
                    seq = seqs[i] if seqs is not None else None
                    self.deliver(e.event, e.target, seq)  # type: ignore[union-attr]
                elif c is ScheduleEffect:
                    self.arm(e.sendid, e.due)  # type: ignore[union-attr]
                elif c is CancelEffect:
                    armed = self.x.armed if self.x is not None else None
                    if armed:
                        armed.pop(e.sendid, None)  # type: ignore[union-attr]
                elif c is InvokeEffect:
                    invocations.start(self, e)  # type: ignore[arg-type]
                elif c is CancelInvokeEffect:
                    invocations.cancel(self, e.invokeid)  # type: ignore[union-attr]
                elif c is AwaitEffect:
                    x = self.extra()
                    if x.awaits is None:
                        x.awaits = []
                    x.awaits.append(e)  # type: ignore[arg-type]
                elif c is LogEffect:
                    log.info("%s %s: %r", self.ref.id, e.label or "log", e.value)  # type: ignore[union-attr]
            seqs = None

    def deliver(self, ev: EventData, target: str | None, seq: int | None = None) -> None:
        """Deliver a send of this actor (see :mod:`statefleet.core._routing`); ``seq``: its
        row in the target's durable inbox, when the step's commit made one."""
        item: Item = ev if seq is None else Envelope(ev, seq)
        if target and target[0] != "#":
            # an actor named by its id (ping-pong's every hop): the look-up ``resolve``
            # makes first, without the calls of ``target_kind`` and ``resolve`` (~100 ns of
            # a ~3.4 us hop on 3.13, issue 16); anything else, or an actor that is stopped,
            # goes the whole way below (which finds the same one first)
            a = self.place.rt.cells.get(target)
            if a is not None and a.enqueue(item):
                return
        kind, key = target_kind(target)
        if kind == SELF:
            self.enqueue(item)  # a stopped actor sending to itself: nothing to do
            return
        assert target is not None
        s = self.place.rt
        if kind == PARENT:
            parent = self.parent
            if parent is not None:
                out = from_invocation(ev, self.invokeid)
                if parent.from_child(self, out if seq is None else Envelope(out, seq)):
                    return
        elif kind == SESSION:
            a = s.cells.get(key)
            if a is not None and a.enqueue(item):
                return
        elif kind == CHILD:
            x = self.x
            h = x.invs.get(key) if x is not None and x.invs else None
            if h is not None and h.deliver(item):
                return
        elif kind == NAMED:
            a = s.resolve(target)
            if a is not None and a.enqueue(item):
                return
        if kind != NOWHERE and s.durable is not None and s.durable.deliver(target, ev, seq):
            return  # in the target's durable inbox: activating it delivers it
        self.enqueue(communication_error(target, ev))

    def from_child(self, child: ActorCell, ev: Item) -> bool:
        """An event from a child actor (to ``#_parent``, or an escalation)."""
        iid = child.invokeid
        if iid is not None:
            x = self.x
            h = x.invs.get(iid) if x is not None and x.invs else None
            if h is None or h.actor is not child or h.cancelled:
                return True  # sent after its invocation was cancelled: dropped
        return self.enqueue(ev)

    def inv_event(self, ev: EventData) -> None:
        """Bookkeeping for an event from an invocation, as it leaves the mailbox."""
        x = self.x
        if x is None or not x.invs:
            return
        h = x.invs.get(ev.invokeid)  # type: ignore[arg-type]
        if h is None:
            return
        if ev.name.startswith(("done.invoke.", "error.invoke.")) and h.over:
            del x.invs[h.id]  # it is over: the engine forgets it with this event

    # -- internals: timers ------------------------------------------------------------------
    def arm(self, sendid: str, due: float) -> None:
        x = self.extra()
        armed = x.armed
        if armed is None:
            armed = x.armed = {}
        elif armed.get(sendid) == due:
            return
        armed[sendid] = due
        self.place.rt.arm_timer(due, self, sendid)

    def timer_valid(self, key: Any, due: float) -> bool:
        if key is RESTART:
            return self.state == RESTARTING
        x = self.x
        return (
            self.state != STOPPED
            and x is not None
            and x.armed is not None
            and x.armed.get(key) == due
        )

    def on_timer(self, key: Any, due: float) -> None:
        """A timer of this actor fired (the timer task calls it: nothing may escape)."""
        try:
            self.fire(key, due)
        except BaseException as exc:
            err = contained(exc)
            if err is None:
                raise
            supervisor.crash(self, err, None, None, None)

    def fire(self, key: Any, due: float) -> None:
        if key is RESTART:
            if self.state == RESTARTING:
                supervisor.restart(
                    self,
                )
            return
        if not self.timer_valid(key, due):
            return
        x = self.x
        assert x is not None and x.armed is not None
        del x.armed[key]
        m = self.engine
        de = m.pending.get(key)
        if de is None or de.due != due:
            return
        if de.target is None:
            self.enqueue(de.event)
            return
        # a delayed send to someone else: it leaves now
        x.last_snap = None  # the state changes outside a macrostep
        m.now = self.place.rt.clock_now()
        m.take_timer(key)
        if m.effects:
            self.apply_effects()
        self.deliver(de.event, de.target)

    # -- internals: async work ----------------------------------------------------------------
    def release_owned(self, x: _Extra, t: Latch) -> None:
        """End an actor's own task: it is idle again (runnable if events arrived meanwhile,
        also when the task was cancelled from outside without a stop)."""
        x.task_scope = None
        x.owned = None
        t.set()
        if self.state == OWNED:
            self.state = IDLE
            if self.mailbox:
                self.schedule()
        self.place.rt.owned_done()

    async def await_actions(self) -> None:
        """The task an actor gets while it has async actions to await (in order, after the
        step that made them was committed); then it finishes that step's after-step and
        goes back to the dispatcher."""
        x = self.extra()
        t = x.owned = Latch()
        try:
            with anyio.CancelScope() as scope:
                x.task_scope = scope
                while (awaits := self.awaits) is not None:
                    self.awaits = None
                    if self.state == STOPPED:  # stopped before this task first ran
                        for e in awaits:
                            close_awaitable(e.awaitable)
                        return
                    await self.await_all(awaits)
                    if self.state == STOPPED:
                        return
                    m = self.engine
                    ev, env = x.await_ev, x.await_env
                    try:
                        if m.effects:
                            self.apply_effects()
                    except BaseException as exc:
                        err = contained(exc)
                        if err is None:
                            raise
                        supervisor.crash(self, err, ev, env, None)
                        return
                    if self.awaits is not None:
                        continue
                    x.await_ev = x.await_env = None
                    self.observe(ev, env)
                    if not m.running:
                        supervisor.on_final(
                            self,
                        )
                        return
        finally:
            self.release_owned(x, t)

    async def await_all(self, awaits: list[AwaitEffect]) -> None:
        """Await async actions in order; a failure becomes ``error.execution`` (next event)."""
        errors: list[BaseException] = []
        i = 0
        try:
            for i, e in enumerate(awaits):  # noqa: B007
                try:
                    await e.awaitable
                except BaseException as exc:
                    err = contained(exc)
                    if err is None:
                        raise
                    errors.append(err)
        finally:
            for e in awaits[i + 1 :]:
                close_awaitable(e.awaitable)
        if errors:
            s = self.place.rt
            if s.fns:
                ev = self.x.await_ev if self.x is not None else None
                for err in errors:
                    s.publish(
                        ActionFailed(
                            actor=self.ref.id,
                            ts=s.clock_now(),
                            error=err,
                            event=ev.name if ev is not None else None,
                        )
                    )
            mb = self.mailbox
            if mb is None:
                mb = self.mailbox = deque()
            for err in reversed(errors):
                mb.appendleft(
                    EventData("error.execution", {"error": str(err)}, "platform", error=err)
                )

    # -- internals: lifecycle ---------------------------------------------------------------
    def resume(self, snap: Snapshot) -> None:
        """After loading ``snap``: re-arm its timers and restart its invocations."""
        m = self.engine
        if m.pending:
            queued = {event_of(i).sendid for i in self.mailbox or ()} - {None}
            for de in m.pending.values():
                if de.target is None and de.sendid in queued:
                    continue  # already fired: its event is waiting in the mailbox
                self.arm(de.sendid, de.due)
        if m.invocations:
            invocations.restart_all(self, snap)
        if m.effects:
            self.apply_effects()

    def terminate(
        self, reason: str, waits: list[Latch] | None, *, error: str = "", quiet: bool = False
    ) -> None:
        """Stop now (synchronously): children first, then exit actions; invocations are
        cancelled. ``waits`` collects the tasks whose cleanup is still running. A failed
        spawned child tells its parent (``error.child.<id>``) unless ``quiet``."""
        if self.state == STOPPED:
            return
        prev = self.state
        self.state = STOPPED
        self.end = reason
        s = self.place.rt
        x = self.x
        m = self.engine
        over = reason == HANDED_OVER
        if x is not None:
            if x.children:
                for child in list(x.children.values())[::-1]:
                    child.terminate(reason if over else "stopped", waits)
            if x.invs:
                for iid in list(x.invs)[::-1]:
                    if over:
                        h = self.drop_invocation(iid, waits)
                    else:
                        h = invocations.cancel(self, iid, waits)
                    if h is not None and h.scope is not None and waits is not None:
                        waits.append(h)
        if over:
            # the actor goes on elsewhere: nothing of it runs here any more (no exit
            # actions, no effects of a step whose commit may still be in flight)
            m.running = False
            for e in m.effects:
                if isinstance(e, AwaitEffect):
                    close_awaitable(e.awaitable)
            m.effects = NO_EFFECTS
        if m.running:
            m.running = False
            try:
                m.exit_interpreter()
            except BaseException as exc:
                if contained(exc) is None:
                    raise
                log.exception("actor %r: exit failed", self.ref.id)
        if reason != "done":
            m.status = "error" if reason == "failed" else reason
        # what the exit actions asked for: messages go out, async ones are awaited
        exit_awaits: list[AwaitEffect] = []
        effects, m.effects = m.effects, NO_EFFECTS
        for e in effects:
            if isinstance(e, SendEffect):
                try:
                    self.deliver(e.event, e.target)
                except Exception:
                    log.exception("actor %r: delivering an exit message failed", self.ref.id)
            elif isinstance(e, AwaitEffect):
                exit_awaits.append(e)
            elif isinstance(e, LogEffect):
                log.info("%s %s: %r", self.ref.id, e.label or "log", e.value)
        if self.awaits is not None and prev != OWNED:
            for e in self.awaits:
                close_awaitable(e.awaitable)
            self.awaits = None
        stopped_err = self.stopped_error() if self.mailbox or x is not None else None
        if stopped_err is not None:
            fail_pending(self.mailbox, stopped_err)
        if exit_awaits:
            t = Latch()
            if waits is not None:
                waits.append(t)
            s.tg_start(self.await_exit, exit_awaits, t)
        self.mailbox = None
        if x is not None:
            if x.owned is not None:
                if waits is not None:
                    waits.append(x.owned)
                if x.task_scope is not None:
                    x.task_scope.cancel()
            x.armed = None
            x.restart = None
            if x.await_env is not None:
                x.await_env.fail(self.stopped_error())
                x.await_env = None
            if x.uncommitted is not None:
                x.uncommitted = None
            if x.watchers or x.subs:
                snap = self.snapshot()
                if x.watchers:
                    self.check_watchers(snap)
                    for w2 in x.watchers or ():
                        w2.fail(self.stopped_error())
                    x.watchers = None
                for sub in x.subs or ():
                    sub.deliver(snap)
                    sub.finish()
                x.subs = None
            if x.space:
                self.wake_senders()
        s.unregister(self)
        if s.durable is not None:
            s.durable.forgotten(self, reason)
        parent = self.parent
        if parent is not None and parent.x is not None and parent.x.children:
            parent.x.children.pop(self.ref.id, None)
        if s.fns:
            s.publish(ActorStopped(actor=self.ref.id, ts=s.clock_now(), reason=reason))
        if parent is not None and parent.state != STOPPED:
            self.notify_parent(parent, reason, error, quiet)
        if x is not None and x.stopped is not None:
            x.stopped.set()

    def drop_invocation(self, invokeid: str, waits: list[Latch] | None) -> RunningInvocation | None:
        """Stop invocation ``invokeid`` here because its owner was handed over: its task is
        cancelled and its child chart dropped like its owner (not cancelled: the state that
        invoked it is still active, and the new owner starts it again)."""
        x = self.x
        h = x.invs.pop(invokeid, None) if x is not None and x.invs else None
        if h is None:
            return None
        h.cancelled = True
        if h.actor is not None:
            h.actor.terminate(HANDED_OVER, waits)
        if h.scope is not None:
            h.scope.cancel()
        return h

    def notify_parent(self, parent: ActorCell, reason: str, error: str, quiet: bool) -> None:
        iid = self.invokeid
        s = self.place.rt
        if iid is not None:
            if reason == "done":
                if s.fns:
                    s.publish(InvocationDone(actor=parent.id, ts=s.clock_now(), invokeid=iid))
                parent.from_child(self, done_invoke(iid, self.engine.done_data))
            elif reason in ("failed", "stopped"):
                msg = error or f"invoked actor {self.ref.id!r} {reason}"
                if s.fns:
                    s.publish(
                        InvocationFailed(actor=parent.id, ts=s.clock_now(), invokeid=iid, error=msg)
                    )
                parent.from_child(self, error_invoke(iid, msg))
        elif reason == "failed" and not quiet:
            parent.enqueue(
                EventData(
                    f"error.child.{self.ref.id}",
                    {"child": self.ref.id, "event": None, "error": error},
                    "platform",
                    origin=self.ref.id,
                )
            )

    async def await_exit(self, awaits: list[AwaitEffect], t: Latch) -> None:
        try:
            for i, e in enumerate(awaits):
                try:
                    await e.awaitable
                except Exception:
                    log.exception("actor %r: async exit action failed", self.ref.id)
                except BaseException:
                    for rest in awaits[i + 1 :]:
                        close_awaitable(rest.awaitable)
                    raise
        finally:
            t.set()
