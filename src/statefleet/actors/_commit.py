"""The commit pipeline: every macrostep of an actor with a store is committed before its
records are published and its effects run (step, commit, publish, act).

The dispatcher hands over an actor with events (its state is OWNED); its next macrostep
joins the next batch. A batch runs the macrosteps of its actors, commits them together (one
store transaction with a durable store's ``commit_steps``; concurrent ``commit_step`` calls
with a plain :class:`~statefleet.actors.ActorStore`), then runs each actor's after-step.

Batches are pipelined: a batch's macrosteps run as soon as it starts and it then waits for
its commit while the next batch forms and runs (an actor is in one batch at a time, so its
events stay in order).

Batches run on worker tasks that stay for the next batch once theirs is finished: a batch
wakes an idle worker (a future set) instead of starting a task. Starting an anyio task costs
a cancel scope, an event and a task handle (~16 us of CPU on 3.11, about a quarter of the
runtime's share of a durable send with one client; issue 16). A new worker is started only
when every worker is waiting for a commit, so as many batches are in flight as before.

On asyncio, with a store that commits by callback (``SQLiteStore``: the durable store's
``commit_steps_soon``) and no cluster node, no task is involved at all: a batch starts from a
``call_soon`` callback, hands its commit over, and is finished by the store's callback once
written (two task switches and a loop iteration less per batch than a worker awaiting it).
Every batch runs in a copy of one context, the one the system was opened in (contextvars:
an OpenTelemetry span current there parents the spans of steps whose events carry no trace
context), as when the dispatcher task started a task per batch: a worker is started in it,
not in the context of whatever code queued its first batch (a ``spawn`` inside an
application span), which it would keep for every batch after; a batch without a task runs
and is finished in a copy of its own.
Code run from a loop callback has no current task, so anyio cannot tell which library runs
it (sniffio asks asyncio for the current task): these callbacks say "asyncio" through
sniffio's context variable, as sniffio documents for code outside a task.

With ``durability="full"``, one client sending one event at a time starts its batch in its
own send when the store's writer is idle, instead of from a ``call_soon`` (``lead``): a
durable send then takes two loop iterations, as a bare thread handoff does.

A store that writes a small batch at once on the loop (``SQLiteStore`` with
``durability="normal"``) calls back before its ``commit_steps_soon`` returns: the batch is
stepped, committed and finished within one loop callback. A durable ``send`` then needs one
loop iteration: it yields once, its batch's callback (queued before it) runs, and the send
finds its step committed (``at_once``; ``Durable.send_committed``; issue 16).

An actor whose step cannot be snapshotted or committed crashes (its supervisor restarts it
from its last committed snapshot), but for a commit refused by a cluster node's fence: the
actor is handed over, and the step's waiters get :class:`~statefleet.ActorStoppedError`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import sniffio

from statefleet.actors import _supervisor as supervisor
from statefleet.actors._cell import ActorCell
from statefleet.actors._lifecycle import AWAIT, ENDED, OWNED, STOPPED, contained
from statefleet.actors._mailbox import Envelope
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActorError,
    ActorStoppedError,
    EventData,
    MacrostepRecord,
    Snapshot,
    SnapshotCommitted,
)

if TYPE_CHECKING:
    from statefleet.actors._runtime import Runtime
    from statefleet.actors._store import ActorStore

__all__ = ["CommitPipeline"]

log = logging.getLogger("statefleet.actors")

#: what anyio (through sniffio) reads to tell the async library running code with no
#: current task, such as a loop callback
_ASYNC_LIBRARY = sniffio.current_async_library_cvar


class _Step:
    """One macrostep on its way through the pipeline."""

    __slots__ = ("cell", "effects", "env", "ev", "previous", "rec", "seq", "snap")

    def __init__(
        self,
        cell: ActorCell,
        ev: EventData | None,
        env: Envelope | None,
        rec: MacrostepRecord | None,
        snap: Snapshot,
        previous: Snapshot | None,
    ) -> None:
        self.cell = cell
        self.ev = ev
        self.env = env
        self.rec = rec
        self.snap = snap
        self.previous = previous
        self.effects = tuple(cell.engine.effects)
        #: the inbox row of its event (None: not from the durable inbox)
        self.seq = env.seq if env is not None else None

    def row(self) -> tuple[Any, ...]:
        """What the durable runtime's ``commit_steps`` takes for this step."""
        return (self.cell.id, self.snap, self.previous, self.seq, self.effects, self.ev, self.rec)


class CommitPipeline:
    """Batches, commits and finishes the macrosteps of a system's actors (one per system
    with a store)."""

    def __init__(self, rt: Runtime, store: ActorStore) -> None:
        self.rt = rt
        self.store = store
        self._queue: list[ActorCell] = []
        #: a batch is about to start (its worker is woken or started)
        self._batching = False
        #: the wake-ups of the workers waiting for a batch (the last one idle first)
        self._idle: list[Latch] = []
        #: the event loop, when batches are committed by callback (see the module doc);
        #: decided at the first batch (the store is open and attached by then)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probed = False
        #: the last batch was written and finished before its store call returned (see
        #: ``_batch_soon``): a durable send then waits for its commit with a bare yield
        #: first (``Durable.send_committed``)
        self.at_once = False
        #: a durable send is queueing its event (``hold``): a batch it makes is started by
        #: its ``lead`` instead of a ``call_soon``; ``_held``: it made one
        self._holding = False
        self._held = False
        #: the store's ``leader()``: is a batch handed over now written at once, in its
        #: writer's thread? (None: never; see ``lead``)
        self._leads: Callable[[], bool] | None = None
        #: a durable send may start its batch itself (``hold`` and ``lead``): the store
        #: has a ``leader`` (set when the first batch probes the store)
        self.leading = False
        #: the actor whose step alone was the last batch finished by callback (see ``lead``)
        self._solo: ActorCell | None = None
        #: the context batches run in (a copy each): the one the system was opened in
        #: (with a durable store; else the one it was made in)
        self._context = contextvars.copy_context()

    def dispatch(self, a: ActorCell) -> None:
        """``a`` (OWNED) has an event or an uncommitted initial step: it joins the next
        batch."""
        self._queue.append(a)
        if not self._batching:
            self._batching = True
            self.rt.begin_work()
            if not self._probed:
                self._probe()
            if self._loop is not None:
                if self._holding:
                    self._held = True  # the send holding the pipeline starts it (``lead``)
                    return
                ctx = self._context.copy()
                self._loop.call_soon(self._batch_soon, ctx, context=ctx)
                return
            idle = self._idle
            if idle:
                idle.pop().set()
            else:  # in a copy of the batches' context, not in that of whoever queued it
                self._context.run(self.rt.tg_start, self._worker)

    def _probe(self) -> None:
        self._probed = True
        durable = self.rt.durable
        if durable is not None:
            self._context = durable.context
            if durable.commits_soon():
                self._loop = asyncio.get_running_loop()
                self._leads = durable.leader()
                self.leading = self._leads is not None
                # batches run from loop callbacks, in copies of this context: it says
                # "asyncio" to sniffio once (see the module doc), instead of each callback
                # setting and resetting it
                self._context = ctx = durable.context.copy()
                ctx.run(_ASYNC_LIBRARY.set, "asyncio")

    def hold(self) -> None:
        """A durable send is about to queue its event: a batch that makes waits for
        :meth:`lead` instead of being scheduled (see there)."""
        self._holding = True

    def lead(self) -> bool:
        """End :meth:`hold`. The batch the held send made (if any) starts right here, in the
        sender's task, when it is that actor's step alone, the last batch finished was that
        actor's step alone too (one client sending one event at a time), and the store's
        writer is idle and would write it in its thread at once (``SQLiteStore`` with
        ``durability="full"``): True. Otherwise it is scheduled as usual (False).

        Why (issue 16): a batch is normally started by a ``call_soon``, one loop iteration
        later, so that the steps queued by many clients in one iteration share it (one
        commit, one transaction, one fsync). With one client sending one event at a time
        that iteration lies between two fsyncs, on the critical path of every send (3 loop
        iterations per send against 2 for a bare thread handoff), and waiting gains nothing.
        What it buys is small: ~1-2 us of a ~75 us send on 3.11, ~0-1 us on 3.13 (measured
        with the database on tmpfs, where fsync costs nothing), within the noise of a real
        disk's fsync.
        Clients whose steps were committed together resume together and share the next
        batch: none of them leads (its last batch was not its step alone), which a lead by
        the first to resume would split into two transactions, and they would then
        alternate, one fsync per event (measured: 2 clients, 1,000 -> 2,000 transactions
        for 2,000 sends). A store that writes small batches on the loop itself
        (``durability="normal"``) has no ``leader``: its writer is never busy for long, so
        starting at once would make every client a transaction of its own, and its sends
        do not hold the pipeline at all (``leading``)."""
        self._holding = False
        if not self._held:
            return False
        self._held = False
        ctx = self._context.copy()
        q = self._queue
        leads = self._leads
        if len(q) == 1 and q[0] is self._solo and leads is not None and leads():
            ctx.run(self._batch_soon, ctx)
            return True
        assert self._loop is not None
        self._loop.call_soon(self._batch_soon, ctx, context=ctx)
        return False

    def _batch_soon(self, ctx: contextvars.Context) -> None:
        """A batch without a task, run in ``ctx`` (a copy of the batches' context): its
        steps, then its commit handed to the store, which calls :meth:`_committed` once it
        is written, in ``ctx`` too (as a worker task awaiting the commit would be).

        A store that writes the batch at once (SQLite's small NORMAL batches) calls back
        before ``commit_steps_soon`` returns: the batch is finished right here, in this
        loop iteration, and ``ctx`` is not entered a second time (it cannot be: it is the
        current context)."""
        rt = self.rt
        durable = rt.durable
        assert durable is not None
        steps: list[_Step] = []
        try:
            self._take_steps(steps)
        except BaseException:  # a step raised what is not contained: the batch is off
            self._cancelled(steps)
            rt.end_work()
            raise
        if not steps:
            rt.end_work()
            return
        t_commit = time.perf_counter()
        inside = True  # still in this call (``ctx`` is the current context)

        def done(outcomes: list[BaseException | tuple[int | None, ...]]) -> None:
            latency = time.perf_counter() - t_commit
            self.at_once = inside
            if inside:
                self._committed(steps, outcomes, latency)
            else:  # later, from the store's callback (a context of its own)
                ctx.run(self._committed, steps, outcomes, latency)

        rows = [s.row() for s in steps]
        try:
            ok = durable.commit_steps_soon(rows, done)
        except Exception as exc:  # refused before anything was queued (the store closed)
            done([exc] * len(steps))
            return
        finally:
            inside = False
        if not ok:  # pragma: no cover - the store said it could when probed
            raise ActorError("the store no longer commits by callback")

    def _committed(
        self,
        steps: list[_Step],
        outcomes: list[BaseException | tuple[int | None, ...]],
        latency: float,
    ) -> None:
        """The store's callback: the batch's commit is written (or failed)."""
        rt = self.rt
        try:
            if not rt.running:
                # the system closed while it was written (the store flushed it when it
                # closed): like a worker cancelled while committing, the outcome is unknown
                self._cancelled(steps)
                return
            n = len(steps)
            self._solo = steps[0].cell if n == 1 else None
            for st, out in zip(steps, outcomes, strict=True):
                self._finish(st, out, latency, n)
        finally:
            rt.end_work()

    async def _worker(self) -> None:
        """Run the batch it was started for, then each batch it is woken for, until the
        system's task group is cancelled."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # trio: the latch waits on an anyio event
            loop = None
        while True:
            await self._batch()
            wake = Latch(loop)
            self._idle.append(wake)
            try:
                await wake.settled()
            except BaseException:
                if wake.done:  # woken for a batch, then cancelled: nobody else takes it
                    self._abandon()
                elif wake in self._idle:
                    self._idle.remove(wake)
                raise

    def _abandon(self) -> None:
        """The batch a cancelled worker was woken for is not taken (the system is closing):
        its actors are no longer owned by the pipeline."""
        self._batching = False
        cells, self._queue = self._queue, []
        for a in cells:
            if a.state == OWNED:
                a.state = 0  # IDLE
        self.rt.end_work()

    async def _batch(self) -> None:
        rt = self.rt
        steps: list[_Step] = []
        try:
            self._take_steps(steps)
            if not steps:
                return
            t_commit = time.perf_counter()
            outcomes = await self._commit(steps)
            latency = time.perf_counter() - t_commit
            done, steps = steps, []
            for st, out in zip(done, outcomes, strict=True):
                self._finish(st, out, latency, len(done))
        finally:
            self._cancelled(steps)  # cancelled while committing: the outcome is unknown
            rt.end_work()

    def _take_steps(self, steps: list[_Step]) -> None:
        """The batch, into ``steps``: the next step of each actor queued for it (the
        steps taken so far are there if one raises)."""
        self._batching = False
        cells, self._queue = self._queue, []
        now = self.rt.clock_now()  # the batch's steps are taken at one instant
        for a in cells:
            st = self._step(a, now)
            if st is not None:
                steps.append(st)

    @staticmethod
    def _cancelled(steps: list[_Step]) -> None:
        """Steps whose commit's outcome is unknown (the system stopped meanwhile): their
        senders learn that it stopped; their actors are no longer owned."""
        for st in steps:
            if st.env is not None:
                st.env.fail(ActorStoppedError("the actor system stopped"))
            if st.cell.state == OWNED:
                st.cell.state = 0  # IDLE

    def _step(self, a: ActorCell, now: float) -> _Step | None:
        """Take ``a``'s next step at ``now`` (None when there is nothing to commit now)."""
        if a.state != OWNED:
            return None
        x = a.extra()
        previous = x.committed
        rec: MacrostepRecord | None = None
        ev: EventData | None = None
        env: Envelope | None = None
        if previous is None:
            # the initial step, taken when the actor was spawned (or restarted afresh)
            rec = x.uncommitted
            x.uncommitted = None
        elif a.awaits is not None or x.owned is not None:
            self.rt.start_owned(a)  # async actions in flight: they finish first
            return None
        else:
            mb = a.mailbox
            if not mb:
                a.idle()
                return None
            item = mb.popleft()
            if type(item) is Envelope:
                env = item
                ev = item.event
            else:
                ev = item  # type: ignore[assignment]
            m = a.engine
            m.now = now
            try:
                rec = a.step(ev)  # type: ignore[arg-type]
            except BaseException as exc:
                err = contained(exc)
                if err is None:
                    raise
                supervisor.crash(a, err, ev, env, previous)
                return None
            if env is not None:
                env.handled = m.handled
            if m.version == previous.version and (env is None or env.seq is None):
                # an event that changed nothing: nothing to commit (one from the durable
                # inbox is still committed, which deletes its row)
                self._after(a, ev, env, rec, None)
                return None
        snap = a.checkpoint()
        if snap is None:
            supervisor.crash(
                a, ActorError(f"actor {a.id!r}: its state cannot be snapshotted"), ev, env, None
            )
            return None
        return _Step(a, ev, env, rec, snap, previous)

    async def _commit(self, steps: list[_Step]) -> list[BaseException | tuple[int | None, ...]]:
        """Commit the steps; each one's outcome: an error, or the inbox seqs its sends got
        (by effect index)."""
        durable = self.rt.durable
        try:
            if durable is not None:
                return await durable.commit_steps([s.row() for s in steps])
            results: list[BaseException | tuple[int | None, ...]] = [()] * len(steps)
            store = self.store

            async def one(i: int, s: _Step) -> None:
                try:
                    await store.commit_step(
                        s.cell.id, s.snap, previous=s.previous, event=s.ev, effects=s.effects
                    )
                except Exception as exc:
                    results[i] = exc

            if len(steps) == 1:
                await one(0, steps[0])
            else:
                async with anyio.create_task_group() as tg:
                    for i, s in enumerate(steps):
                        tg.start_soon(one, i, s)
            return results
        except Exception as exc:
            return [exc] * len(steps)

    def _finish(
        self, st: _Step, out: BaseException | tuple[int | None, ...], latency: float, n: int
    ) -> None:
        a = st.cell
        rt = self.rt
        env = st.env
        if isinstance(out, BaseException):
            if supervisor.reload(a, out, st.ev, env):
                return  # the stored actor moved on: loaded again, the event redelivered
            if supervisor.handed_over(a, out, env):
                # refused by the fence: before the store's error reaches the waiters, who
                # learn that the actor was handed over, as for any actor handed over
                return
            if env is not None and env.ack is not None:
                env.ack.fail(out)  # a durable send learns why (the ask, that it crashed)
            if a.state != STOPPED:
                supervisor.crash(a, out, st.ev, env, st.previous)
            return
        if a.state == STOPPED:
            if env is not None and env.ack is not None:
                env.ack.set()
            return
        a.extra().committed = st.snap
        if rt.fns:
            rt.publish(
                SnapshotCommitted(
                    actor=a.id,
                    ts=rt.clock_now(),
                    version=st.snap.version,
                    batch_size=n,
                    latency=latency,
                )
            )
        self._after(a, st.ev, env, st.rec, out or None)

    def _after(
        self,
        a: ActorCell,
        ev: EventData | None,
        env: Envelope | None,
        rec: MacrostepRecord | None,
        seqs: tuple[int | None, ...] | None,
    ) -> None:
        """The after-step of a committed step (or of one that changed nothing), then the
        actor's next turn."""
        rt = self.rt
        if env is not None and env.ack is not None:
            env.ack.set()
        try:
            code = a.after_step(ev, env, rec, seqs)
        except BaseException as exc:
            err = contained(exc)
            if err is None:
                raise
            supervisor.crash(a, err, ev, None, a.extra().committed)
            return
        if code == ENDED or a.state != OWNED:
            return
        if code == AWAIT:
            rt.start_owned(a)
        elif a.mailbox:
            self.dispatch(a)
        else:
            a.idle()
