"""Durable actors: the runtime's side of a store that keeps inboxes, snapshots and timers.

With ``ActorSystem(store=...)`` and a store that implements :class:`DurableStore` (both
stores of ``statefleet.persistence`` do), the system also:

- accepts every ``send`` durably into the actor's inbox before queueing it (to an idle actor,
  the commit of the step applying it is the acceptance), and makes the events actors send
  each other part of the sender's commit (into the target's inbox); the commit of the
  macrostep that consumes an event names its inbox seq and deletes it, so a crash can neither
  lose nor repeat it;
- recovers on start: actors with unconsumed inbox events, overdue timers or running
  invocations are activated (their invocations start again), and the durable timers of
  actors not in memory wake them when due;
- moves poison messages (an event whose step can never be committed) to the dead letters;
- runs chart versions side by side and migrates stored actors (:mod:`._versions`);
- addresses entities whether or not they are in memory (:meth:`ActorSystem.ref` gives a
  :class:`VirtualRef`): the first message activates the entity from the store, or creates it
  at its initial state; actors idle for ``idle_timeout`` are passivated (their state is
  committed already; the memory is freed).

Charts are registered with the system by id and version (``charts=`` or
:meth:`ActorSystem.register`): a stored actor is restored onto the chart id and version it was
stored with, or moved forward by a registered migration.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio

from statefleet.actors import _supervisor as supervisor
from statefleet.actors._cell import HANDED_OVER
from statefleet.actors._lifecycle import IDLE, OWNED, STOPPED
from statefleet.actors._mailbox import Envelope
from statefleet.actors._models import ChartModel
from statefleet.actors._node import Node
from statefleet.actors._ref import ActorCrashedError, ActorRef, Reply, make_event
from statefleet.actors._store import ActorStore
from statefleet.actors._versions import ChartVersions
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActorError,
    ActorEscalated,
    ActorStopped,
    ActorStoppedError,
    AwaitEffect,
    Chart,
    EventData,
    Snapshot,
    StatefleetError,
)
from statefleet.core._routing import (
    CHILD,
    NOWHERE,
    PARENT,
    SELF,
    SESSION,
    from_invocation,
    target_kind,
)

if TYPE_CHECKING:
    from statefleet.actors._cell import ActorCell
    from statefleet.actors._runtime import Runtime

__all__ = ["DurableStore", "VirtualRef"]

log = logging.getLogger("statefleet.actors")

_WAKE = object()  # timer key: durable timers of actors not in memory are due
_RECOVER = object()  # timer key: recovery failed, try it again
#: seconds before trying again to wake actors for their timers (or to recover) after the
#: store failed, doubling on every failure in a row up to WAKE_RETRY_MAX
WAKE_RETRY = 1.0
WAKE_RETRY_MAX = 30.0


@runtime_checkable
class DurableStore(ActorStore, Protocol):
    """An :class:`ActorStore` that also keeps inboxes and timers (core types only; the
    stores of ``statefleet.persistence`` implement it)."""

    @property
    def is_open(self) -> bool:
        """Is the store open?"""

    async def __aenter__(self) -> Any:
        """Open the store."""

    async def __aexit__(self, *exc: Any) -> Any:
        """Close the store."""

    def attach(self, runtime: Any) -> None:
        """Attach the runtime (``resolve``, ``child_id``, ``is_invoked``), or detach."""

    async def accept_event(self, actor_id: str, event: EventData) -> int:
        """Durably accept ``event`` into ``actor_id``'s inbox; return its seq."""

    async def load_actor(
        self,
        actor_id: str,
        charts: Mapping[str, Chart],
        *,
        versions: Mapping[str, Mapping[str, Chart]] | None = None,
        migrate: Callable[[str, Snapshot], Snapshot | str | None] | None = None,
    ) -> tuple[Snapshot | None, dict[str, list[tuple[int, EventData]]]]:
        """The last committed snapshot (with invoked children; migrated when a migration
        applies) and pending inboxes."""

    def forget(self, actor_id: str, *, delete: bool = False) -> None:
        """The runtime dropped the actor from memory (``delete``: from the store too)."""

    async def pending_actors(self) -> list[str]:
        """Ids of actors with unconsumed inbox events."""

    async def due_actors(self, until: float, limit: int = 1000) -> list[str]:
        """Ids of actors with a durable timer due at or before ``until``."""

    async def next_due(self, after: float | None = None) -> float | None:
        """The earliest durable timer due later than ``after``."""

    async def reject_inbox(self, actor_id: str, reason: str) -> int:
        """Move the inbox of an actor that does not exist to the dead letters."""

    async def load(self, actor_id: str) -> Any:
        """The actor's stored record (``record`` is None if unknown) and pending inbox."""

    async def load_many(self, actor_ids: Any) -> dict[str, Any]:
        """:meth:`load` for many actors; each outcome independently."""

    async def actor_ids(
        self,
        *,
        status: str | None = None,
        after: str = "",
        limit: int = 1000,
        chart: str | None = None,
        state: str | None = None,
    ) -> list[str]:
        """Stored actor ids greater than ``after`` in id order, by status, chart id and an
        active state of the stored snapshot (indexed)."""

    async def reject_event(self, actor_id: str, seq: int, reason: str) -> int:
        """Move inbox event ``seq`` of ``actor_id`` to the dead letters (a poison
        message); its dead letter id, 0 if it is not in the inbox."""

    async def commit_steps(
        self,
        steps: list[tuple[Any, ...]],
    ) -> list[BaseException | tuple[int | None, ...]]:
        """Commit the macrosteps of many actors in one batch: (actor id, snapshot,
        previous, the inbox seq of the event it consumed or None, effects, the event, its
        MacrostepRecord or None) each. The outcome
        of each: an error, or the inbox seqs of the events its sends delivered durably (by
        effect index; None for other effects)."""


class _Activation(Latch):
    """An activation in progress (set when it is over)."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        super().__init__()
        #: events delivered while it loads: (event, inbox seq or None)
        self.waiting: list[tuple[EventData, int | None]] = []


class Durable:
    """The system's durable side (one per :class:`ActorSystem` with a durable store)."""

    def __init__(
        self,
        system: Runtime,
        store: DurableStore,
        *,
        idle_timeout: float | None,
        charts: tuple[Chart | type, ...],
    ) -> None:
        if idle_timeout is not None and not (idle_timeout > 0 and math.isfinite(idle_timeout)):
            raise ActorError(f"idle_timeout must be a positive number, not {idle_timeout!r}")
        self.system = system
        self.store = store
        self.idle_timeout = idle_timeout
        #: the registered charts, by id and version, and the migrations between versions
        self.charts = ChartVersions()
        for c in charts:
            self.register(c)
        self._activating: dict[str, _Activation] = {}
        #: the virtual refs user code holds: an event to such an entity creates it
        self.refs: weakref.WeakValueDictionary[str, VirtualRef] = weakref.WeakValueDictionary()
        self._inflight: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._wake_due: float | None = None
        self._wake_retry = WAKE_RETRY
        #: when a failed recovery is tried again (None: it has not failed)
        self._recover_due: float | None = None
        self._recover_retry = WAKE_RETRY
        self._opened = False
        self._sweeping = False
        self._loop: asyncio.AbstractEventLoop | None = None  # set by open (None: trio)
        #: the context the system was opened in: its commit pipeline runs batches in copies
        self.context = contextvars.copy_context()
        #: the cluster node runtime, on a store that is a cluster node (``store.cluster``)
        self.node: Node | None = None

    async def commit_steps(
        self,
        steps: list[tuple[Any, ...]],
    ) -> list[BaseException | tuple[int | None, ...]]:
        """The store's ``commit_steps`` (see :class:`DurableStore`)."""
        node = self.node
        if node is None:
            return await self.store.commit_steps(steps)
        # a node tells its inbox reader which rows are being consumed (see Node)
        seqs = [st[3] for st in steps]
        token = node.writing(seqs)
        outcomes = None
        try:
            outcomes = await self.store.commit_steps(steps)
            return outcomes
        finally:
            node.written(token, seqs, outcomes, [st[1] for st in steps])

    def commits_soon(self) -> bool:
        """Can batches be committed by callback (:meth:`commit_steps_soon`)? On asyncio,
        with a store that has ``commit_many_soon`` (``SQLiteStore``), and not on a cluster
        node (its inbox reader is told of each write around an awaited commit)."""
        return (
            self.node is None
            and self._loop is not None
            and getattr(self.store, "commit_many_soon", None) is not None
            and callable(getattr(self.store, "commit_steps_soon", None))
        )

    def leader(self) -> Callable[[], bool] | None:
        """The store's ``leader()`` (None for a store without it): a function telling
        whether a batch of commits handed over now would be written at once, off the event
        loop (its writer idle), or None when that never happens. The commit pipeline then
        starts a durable send's batch at once (``CommitPipeline.lead``)."""
        leader = getattr(self.store, "leader", None)
        return leader() if leader is not None else None

    def commit_steps_soon(
        self,
        steps: list[tuple[Any, ...]],
        done: Callable[[list[BaseException | tuple[int | None, ...]]], None],
    ) -> bool:
        """The store's ``commit_steps_soon``: :meth:`commit_steps` with no waiter,
        ``done(outcomes)`` called on the event loop once written; False if it cannot."""
        # optional (not in DurableStore: a store of one's own need not have it)
        soon = getattr(self.store, "commit_steps_soon", None)
        return soon is not None and bool(soon(steps, done))

    # -- the store's view of the runtime ----------------------------------------------------
    def resolve(
        self, actor_id: str, target: str | None, event: EventData
    ) -> tuple[str, EventData] | None:
        """Where a send of ``actor_id`` goes, as the runtime will deliver it (see
        ``ActorCell.deliver``), or None when it does not go to an actor."""
        kind, key = target_kind(target)
        if kind == SELF:
            return actor_id, event
        if kind == NOWHERE or target is None:
            return None
        s = self.system
        a = s.cells.get(actor_id)
        if kind == PARENT:
            if a is None or a.parent is None:
                return None
            return a.parent.id, from_invocation(event, a.invokeid)
        if kind == SESSION:
            return (key, event) if key else None
        if kind == CHILD:
            x = a.x if a is not None else None
            h = x.invs.get(key) if x is not None and x.invs else None
            if h is not None and h.actor is not None:
                return h.actor.id, event
            return None
        b = s.resolve(target)
        if b is not None:
            return b.id, event
        if target.startswith("#") or "://" in target:
            return None
        return target, event  # an entity not in memory: activated when it is delivered

    def child_id(self, actor_id: str, invokeid: str) -> str:
        """The id the runtime gives the child actor of an invocation."""
        return f"{actor_id}/{invokeid}"

    def is_invoked(self, actor_id: str) -> bool:
        """Is the actor an invoked chart (its snapshot belongs to its parent's)?"""
        a = self.system.cells.get(actor_id)
        return a is not None and a.invokeid is not None

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the store (unless it is open already) and attach to it."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # trio
            self._loop = None
        self.context = contextvars.copy_context()
        if not self.store.is_open:
            await self.store.__aenter__()
            self._opened = True
        self.store.attach(self)

    async def start(self) -> None:
        """Recover: activate actors with unconsumed events, arm the durable timers. On a
        cluster node store, run the node instead: it recovers the shards it acquires."""
        cluster = getattr(self.store, "cluster", None)
        if cluster is not None:
            cluster.scope = frozenset()
            self.node = Node(self, cluster)
            self.system.tg_start(self.node.run)
            return
        self.system.begin_work()  # before the clock can move on
        self.system.tg_start(self._recover)

    async def recover(self) -> None:
        """Recover what the store's recovery reads return (a node: its shards)."""
        self.system.begin_work()
        await self._recover()

    def activating(self, actor_id: str) -> bool:
        """Is ``actor_id`` being activated (its inbox is being read)?"""
        return actor_id in self._activating

    def wake(self, actor_id: str) -> None:
        """Activate ``actor_id`` (not in memory) for the events in its durable inbox."""
        s = self.system
        if actor_id in s.cells or actor_id in self._activating or not s.running or s.closing:
            return
        s.begin_work()
        s.tg_start(self._delivery, actor_id)

    async def close(self) -> None:
        """Detach (a node hands its shards over); close the store if :meth:`open` opened
        it."""
        if self.node is not None:
            await self.node.close()
        self.store.attach(None)
        if self._opened:
            self._opened = False
            await self.store.__aexit__(None, None, None)

    async def _recover(self) -> None:
        """Recover (the caller has begun the system's work; this ends it). A store failure
        on the way is tried again after a backoff, as a failed wake-up is: without it the
        actors with inbox events would wait for the next start, and a due timer of an actor
        not in memory might never fire."""
        try:
            ids = await self.store.pending_actors()
            # parents first: activating a parent restores its invoked children
            ids.sort(key=lambda i: (i.count("/"), i))
            limit = anyio.Semaphore(256)
            activated: set[str] = set()
            async with anyio.create_task_group() as tg:
                for aid in ids:
                    await limit.acquire()
                    tg.start_soon(self._recover_one, aid, limit, activated)
            # then every actor with a timer due (overdue timers, and running invocations:
            # their marker is always due), which starts its invocations again
            due = await self._rearm(None, activated)
            s = self.system
            # counted as activated, not as still in memory: an actor recovered here may
            # already have finished (its invocation completed) and left memory
            woken = [s.cells[i] for i in activated if i in s.cells]
            timers = sum(len(a.engine.pending) for a in woken)
            invoking = sum(1 for a in woken if a.engine.invocations)
            log.info(
                "statefleet: recovered %d actor(s) from the store (%d with inbox events,"
                " %d with due timers or running invocations; %d invoking), %d timer(s) re-armed",
                len(activated),
                len(ids),
                len(due),
                invoking,
                timers,
            )
            self._recover_retry = WAKE_RETRY
            self._recover_due = None  # (a node's later recovery succeeded: no retry left)
        except StatefleetError:
            retry = self._recover_retry
            self._recover_retry = min(retry * 2, WAKE_RETRY_MAX)
            log.exception(
                "statefleet: recovering the actors of the store failed; again in %ss", retry
            )
            at = self.system.clock_now() + retry
            self._recover_due = at
            self.system.arm_timer(at, self, _RECOVER)
        finally:
            self.system.end_work()

    async def _recover_one(
        self, actor_id: str, limit: anyio.Semaphore, activated: set[str]
    ) -> None:
        try:
            await self._activate_for_delivery(actor_id, activated)
        finally:
            limit.release()

    # -- registry -----------------------------------------------------------------------------
    def register(self, chart: Chart | Any) -> Chart:
        """Register ``chart`` (compiled, or a chart class) under its id and version (versions
        side by side, see :mod:`statefleet.actors._versions`); returns the compiled chart."""
        return self.charts.register(chart)

    def _migrate(self, actor_id: str, snap: Snapshot) -> Snapshot | str | None:
        """A stored snapshot moved forward by the registered migrations (the store's
        ``load_actor`` hook): the new snapshot, None, or why the migration failed (it is
        published; the actor stays on its version)."""
        try:
            return self.charts.migrate(snap)
        except Exception as exc:
            reason = self.charts.describe(snap, exc)
            log.error("statefleet: actor %r: %s", actor_id, reason)
            s = self.system
            s.publish(ActorEscalated(actor=actor_id, ts=s.clock_now(), to=None, error=reason))
            return reason

    # -- activation ---------------------------------------------------------------------------
    async def activate(self, actor_id: str, chart: Chart | None = None) -> ActorCell:
        """The live actor ``actor_id``: in memory, restored from the store, or (with
        ``chart``) created at its initial state."""
        s = self.system
        while True:
            a = s.cells.get(actor_id)
            if a is not None and a.state != STOPPED:
                if chart is not None and a.chart.id != chart.id:
                    raise ActorError(
                        f"actor {actor_id!r} runs chart {a.chart.id!r}, not {chart.id!r}"
                    )
                return a
            act = self._activating.get(actor_id)
            if act is None:
                break
            await act.settled()
            if act.error is not None:
                raise act.error
        if not s.running or s.closing:
            raise ActorError("the ActorSystem is not running")
        if "/" in actor_id and chart is None:
            # an invoked child lives inside its parent: activating the parent restores it
            parent = actor_id.rsplit("/", 1)[0]
            try:
                await self.activate(parent)
            except ActorError:
                pass  # no such parent: a top-level id with a slash
            else:
                a = s.cells.get(actor_id)
                if a is not None and a.state != STOPPED:
                    return a
                raise ActorError(
                    f"no actor {actor_id!r} in the store: its invocation in {parent!r} is over"
                )
        if chart is not None:
            self.register(chart)
        act = self._activating[actor_id] = _Activation()
        self.system.begin_work()
        try:
            return await self._load(actor_id, chart, act)
        except BaseException as exc:
            act.error = exc
            if isinstance(exc, StatefleetError) and s.fns:
                # a quarantined (corrupt) row, a chart that does not fit: for the supervisor
                s.publish(
                    ActorEscalated(
                        actor=actor_id, ts=s.clock_now(), to=None, error=f"cannot activate: {exc}"
                    )
                )
            raise
        finally:
            del self._activating[actor_id]
            act.set()
            self.system.end_work()

    async def load_stored(
        self, actor_id: str
    ) -> tuple[Snapshot | None, dict[str, list[tuple[int, EventData]]]]:
        """The stored snapshot of ``actor_id`` (``None``: not stored), moved forward by the
        registered migrations, and the pending inboxes of it and its invoked children."""
        return await self.store.load_actor(
            actor_id,
            self.charts.newest,
            versions=self.charts.versions,
            migrate=self._migrate,
        )

    async def _load(self, actor_id: str, chart: Chart | None, act: _Activation) -> ActorCell:
        s = self.system
        snap, inboxes = await self.load_stored(actor_id)
        node = self.node
        if node is not None and node.handed_over(actor_id):
            raise ActorError(f"actor {actor_id!r}: its shard is not this node's (handed over)")
        if snap is None:
            if chart is None:
                vref = self.refs.get(actor_id)
                chart = vref.chart if vref is not None else None
            if chart is None:
                raise ActorError(
                    f"no actor {actor_id!r} in the store, and no chart to create it with"
                )
            a = self._spawn(chart, actor_id, None)
        else:
            if chart is not None and chart.id != snap.chart_id:
                raise ActorError(
                    f"actor {actor_id!r} is stored with chart {snap.chart_id!r}, not {chart.id!r}"
                )
            stored = self.charts.get(snap.chart_id, snap.chart_version)
            assert stored is not None  # load_actor checked it
            a = self._spawn(stored, actor_id, snap)
            if a.state == STOPPED:  # it has ended: what its inbox holds is never applied
                await supervisor.refuse_ended(a, snap, inboxes.get(actor_id, ()), act.waiting)
                return a
        loaded: set[int] = set()
        for aid, entries in inboxes.items():
            target = s.cells.get(aid)
            if target is None:
                continue  # a child whose invocation is over: its events stay dead
            for seq, ev in entries:
                loaded.add(seq)
                env = Envelope(ev, seq) if node is None else node.envelope(aid, ev, seq)
                target.enqueue(env)
        for ev, wseq in act.waiting:
            if wseq is None:
                a.enqueue(ev)
            elif wseq not in loaded:
                a.enqueue(Envelope(ev, wseq))
        self._watch(a)
        return a

    def _spawn(self, chart: Chart, actor_id: str, snap: Snapshot | None) -> ActorCell:
        """The actor of an activation: a chart class's runs the instance its ``for_entity``
        makes (restored from ``snap``, or new: started with its ``initial_context``)."""
        cls = self.charts.class_of(chart)
        if cls is None:
            return self.system.spawn_top(chart, actor_id, snap)
        model = cls.for_entity(actor_id, snap)
        if not isinstance(model, ChartModel) or model.chart is not chart:
            raise ActorError(
                f"{cls!r}.for_entity({actor_id!r}) must return an instance of the chart class"
                f" running its chart, not {model!r}"
            )
        context = getattr(model, "initial_context", None) if snap is None else None
        return self.system.spawn_top(chart, actor_id, snap, model=model, context=context)

    async def _activate_for_delivery(
        self, actor_id: str, activated: set[str] | None = None
    ) -> None:
        """Activate an actor that has inbox events; a stored actor that does not exist gets
        its inbox moved to the dead letters. On a node, an actor whose shard the node no
        longer holds (handed over or lost meanwhile: its next owner delivers the events)
        is left alone, whatever failed on the way (a write refused by the fence): nothing
        is dead-lettered and nothing escapes the task. ``activated`` (if given) gets the id
        once it was activated without an error."""
        try:
            await self._activate_or_reject(actor_id)
            if activated is not None:
                activated.add(actor_id)
        except StatefleetError as exc:
            node = self.node
            # a write refused by this node's fence (the inbox's dead-lettering): the shard
            # is lost at once (Node.fenced, the one decision point); any other failure asks
            # the database whether the shard is still this node's
            if node is not None and (node.fenced(exc, None) or not await node.holds(actor_id)):
                log.info("statefleet: %r was handed over while activated: %s", actor_id, exc)
                return
            log.error("statefleet: cannot activate %r: %s", actor_id, exc)

    async def _activate_or_reject(self, actor_id: str) -> None:
        try:
            await self.activate(actor_id)
        except ActorError as exc:
            if "no actor" not in str(exc) or "in the store" not in str(exc):
                raise
            node = self.node
            chart = None if node is None else await node.chart_for(actor_id)
            if chart is not None:  # created by an event sent from a node
                try:
                    await self.activate(actor_id, chart)
                except StatefleetError as exc2:  # kept in the inbox: tried again later
                    log.warning("statefleet: cannot create %r: %s", actor_id, exc2)
                return
            if node is not None and not node.owns(actor_id):
                # not stored *yet*, maybe: its new owner creates it (a shard this node
                # still serves but lost is refused by the fence: see the caller)
                log.info("statefleet: %r was handed over while activated", actor_id)
                return
            n = await self.store.reject_inbox(actor_id, f"no such actor: {exc}")
            log.warning("statefleet: %d event(s) to unknown actor %r dead", n, actor_id)

    # -- sending ------------------------------------------------------------------------------
    async def send_committed(self, a: ActorCell, ev: EventData) -> bool:
        """``send`` to an idle actor: queue ``ev`` without the inbox and return (True) once
        the macrostep applying it is committed, which accepts it durably with one write
        instead of three. False (nothing done) when the actor is busy: ``send`` then
        accepts the event into the inbox first, behind what is queued.

        An actor whose last macrostep is only being committed (nothing queued, no async
        actions to await after it) counts as idle: the event is its next step, one commit
        later. Without this a client sending one event at a time falls into a lag it never
        leaves (each send finds the previous step committing, so it pays an inbox write and
        its consuming commit: two writes per event instead of one; issue 16)."""
        aid = a.id
        x = a.x
        if (
            a.mailbox
            or x is None
            or aid in self._inflight
            or aid in self._activating
            or not self.system.running
        ):
            return False
        if a.state != IDLE and not (
            a.state == OWNED
            and a.awaits is None
            and x.owned is None
            and x.await_env is None
            and not any(type(e) is AwaitEffect for e in a.engine.effects)
        ):
            return False
        ack = Latch(self._loop)
        pipeline = self.system.pipeline
        if pipeline is not None and pipeline.leading:
            # the batch taking this event starts right here when the store's writer is idle
            # (FULL: one loop iteration less per send; see ``CommitPipeline.lead``)
            pipeline.hold()
            try:
                a.enqueue(Envelope(ev, None, ack))
            finally:
                led = pipeline.lead()
            if led and ack.done:  # settled inside its batch (it changed nothing, it crashed):
                await self.system.checkpoint()  # a send still yields, as on every path
        else:
            a.enqueue(Envelope(ev, None, ack))
            if pipeline is not None and pipeline.at_once:
                # The last batch was written and finished inside its loop callback
                # (SQLite's small NORMAL batches): the batch taking this event was queued
                # (``call_soon``) before this yield queues this task, so it runs first, in
                # the next loop iteration, and the task finds its send committed when it
                # resumes. Awaiting the ack's future instead costs one more iteration (the
                # future's wake-up): ~10 us of a ~75 us send with one client (issue 16).
                # Else it waits as usual.
                await self.system.checkpoint()
        if not ack.done:
            await ack.settled()
        if ack.error is None:
            return True
        if isinstance(ack.error, StatefleetError):
            raise ack.error  # stopped, crashed, or the store failed (PersistenceError)
        raise ActorCrashedError(f"actor {aid!r} crashed on {ev.name!r}: {ack.error}") from ack.error

    async def accept(self, a: ActorCell, ev: EventData) -> int:
        """Durably accept ``ev`` for ``a`` (it is not passivated meanwhile); its inbox seq."""
        aid = a.id
        self._inflight[aid] = self._inflight.get(aid, 0) + 1
        self.system.begin_work(owned=False)
        node = self.node
        token = node.writing() if node is not None else 0
        try:
            return await self.store.accept_event(aid, ev)
        finally:
            if node is not None:
                node.written(token)
            self.system.end_work(owned=False)
            n = self._inflight[aid] - 1
            if n:
                self._inflight[aid] = n
            else:
                del self._inflight[aid]

    def deliver(self, target: str, ev: EventData, seq: int | None) -> bool:
        """An event for ``target``, which is not in memory: when it is in the target's
        durable inbox (row ``seq``), activate the target (which processes it) and return
        True."""
        aid = target[8:] if target.startswith("#_scxml_") else target.removeprefix("#")
        if not aid:
            return False
        act = self._activating.get(aid)
        if act is not None:
            act.waiting.append((ev, seq))
            return True
        if seq is None:
            return False
        if self.node is not None and not self.node.owns(aid):
            return True  # durable in its inbox: its owner is notified
        s = self.system
        if not s.running or s.closing:
            return True  # durable: processed at the next start
        self.system.begin_work()  # the system is not idle until it is delivered
        s.tg_start(self._delivery, aid)
        return True

    async def _delivery(self, actor_id: str) -> None:
        try:
            await self._activate_for_delivery(actor_id)
        finally:
            self.system.end_work()

    def forgotten(self, a: ActorCell, reason: str) -> None:
        """``a`` stopped: drop its registrations; an invoked child that ended (not at
        shutdown) is deleted from the store (its parent's snapshot no longer has it)."""
        s = self.system
        # an invoked child of an actor handed over goes on with its parent elsewhere
        delete = a.invokeid is not None and not s.closing and reason != HANDED_OVER
        try:
            self.store.forget(a.id, delete=delete)
        except StatefleetError:
            log.warning("statefleet: cannot forget actor %r in the store", a.id, exc_info=True)

    async def exists(self, actor_id: str) -> bool:
        """Is ``actor_id`` in memory or in the store? (Nothing is created or activated.)"""
        a = self.system.cells.get(actor_id)
        if a is not None and a.state < STOPPED:
            return True
        return (await self.store.load(actor_id)).record is not None

    async def peek(self, actor_id: str) -> Snapshot | None:
        """The snapshot of ``actor_id``: the live one, else the stored one (not activated),
        else None."""
        a = self.system.cells.get(actor_id)
        if a is not None and a.state < STOPPED:
            return a.snapshot()
        record = (await self.store.load(actor_id)).record
        return record.snapshot if record is not None else None

    async def query(
        self,
        *,
        chart: str | None,
        state: str | None,
        status: str | None,
        after: str,
        limit: int,
    ) -> list[Snapshot]:
        """Stored actors (as their snapshots, the live one for an actor in memory) in id
        order after ``after``: with chart id ``chart``, state ``state`` active and stored
        status ``status``. The store's indexes page the ids by chart, stored state and
        status; an actor in memory is checked again on its live snapshot (it may have moved
        on since its last commit)."""
        out: list[Snapshot] = []
        cursor = after
        while len(out) < limit:
            ids = await self.store.actor_ids(
                status=status, chart=chart, state=state, after=cursor, limit=max(limit, 100)
            )
            if not ids:
                break
            cursor = ids[-1]
            loaded = await self.store.load_many(ids)
            for aid in ids:
                got = loaded.get(aid)
                if got is None or isinstance(got, BaseException) or got.record is None:
                    continue
                a = self.system.cells.get(aid)
                snap = a.snapshot() if a is not None and a.state < STOPPED else got.record.snapshot
                if chart is not None and snap.chart_id != chart:
                    continue
                if state is not None and state not in snap.configuration:
                    continue
                out.append(snap)
                if len(out) == limit:
                    break
        return out

    def dead_letter(self, a: ActorCell, env: Envelope, reason: str) -> None:
        """Move the inbox event of ``env`` to the dead letters (``a`` carries on without it),
        and tell the listeners (an :class:`~statefleet.core.ActorEscalated`)."""
        s = self.system
        log.warning("statefleet: actor %r: %s", a.id, reason)
        s.publish(ActorEscalated(actor=a.id, ts=s.clock_now(), to=None, error=reason))
        if env.seq is None or not s.running:
            return
        s.begin_work()
        node = self.node
        token = node.writing((env.seq,)) if node is not None else 0
        s.tg_start(self._dead_letter, a.id, env.seq, reason, token)

    async def _dead_letter(self, actor_id: str, seq: int, reason: str, token: int) -> None:
        done: list[Any] | None = None
        try:
            await self.store.reject_event(actor_id, seq, reason)
            done = [()]
        except StatefleetError:
            log.exception("statefleet: cannot move a poison message of %r aside", actor_id)
        finally:
            if self.node is not None:
                self.node.written(token, (seq,), done)
            self.system.end_work()

    # -- passivation ----------------------------------------------------------------------------
    def _watch(self, a: ActorCell) -> None:
        if self.idle_timeout is not None and not self._sweeping:
            self._sweeping = True
            self.system.tg_start(self._sweep)

    async def _sweep(self) -> None:
        s = self.system
        assert self.idle_timeout is not None
        try:
            while s.running and not s.closing:
                await s.timers.sleep(self.idle_timeout / 2)
                seen = self._seen
                now_seen: dict[str, int] = {}
                candidates = 0
                for a in list(s.cells.values()):
                    if a.parent is not None:
                        continue
                    candidates += 1
                    v = a.engine.version
                    if seen.get(a.id) == v and self.passivate(a):
                        continue
                    now_seen[a.id] = v
                self._seen = now_seen
                if not candidates:
                    return
        finally:
            self._sweeping = False

    def passivate(self, a: ActorCell) -> bool:
        """Drop an idle, fully committed top-level actor from memory; False if it is busy."""
        if a.state != IDLE or a.parent is not None or a.mailbox or a.awaits is not None:
            return False
        if a.id in self._inflight or a.id in self._activating:
            return False
        x = a.x
        committed = x.committed if x is not None else None
        if committed is None or committed.version != a.engine.version:
            return False
        if x is not None and (x.invs or x.children or x.await_env or x.watchers or x.subs):
            return False
        if x is not None and x.owned is not None:
            return False
        s = self.system
        a.state = STOPPED
        a.end = "passivated"
        if x is not None:
            x.armed = None
        s.unregister(a)
        self.store.forget(a.id)
        pending = a.engine.pending
        if pending:
            self._arm_wake(min(d.due for d in pending.values()))
        if s.fns:
            s.publish(ActorStopped(actor=a.id, ts=s.clock_now(), reason="passivated"))
        return True

    # -- waking passivated actors for their timers --------------------------------------------
    def _arm_wake(self, due: float) -> None:
        if self._wake_due is not None and self._wake_due <= due:
            return
        self._wake_due = due
        self.system.arm_timer(due, self, _WAKE)

    def timer_valid(self, key: Any, due: float) -> bool:
        return (self._recover_due if key is _RECOVER else self._wake_due) == due

    def on_timer(self, key: Any, due: float) -> None:
        if not self.timer_valid(key, due):
            return
        s = self.system
        if key is _RECOVER:
            self._recover_due = None
            if s.running and not s.closing:
                s.begin_work()  # before the clock can move on
                s.tg_start(self._recover)
            return
        self._wake_due = None
        if s.running and not s.closing:
            s.begin_work()  # before the clock can move on
            s.tg_start(self._wake, due)

    async def _wake(self, due: float) -> None:
        try:
            await self._rearm(due)
            self._wake_retry = WAKE_RETRY
        except StatefleetError:
            # the store failed (a lost connection, a locked file): without a wake-up armed
            # again, no passivated actor's timer would fire until the next recovery, so try
            # again after a backoff (doubling up to WAKE_RETRY_MAX)
            retry = self._wake_retry
            self._wake_retry = min(retry * 2, WAKE_RETRY_MAX)
            log.exception("statefleet: waking actors for their timers failed; again in %ss", retry)
            self._arm_wake(self.system.clock_now() + retry)
        finally:
            self.system.end_work()

    async def _rearm(self, due: float | None, activated: set[str] | None = None) -> list[str]:
        """Activate the actors not in memory with a durable timer due now; arm a wake-up
        for the next one. The ids it tried to activate (``activated``, if given, gets those
        activated without an error)."""
        s = self.system
        now = s.clock_now()
        woken: list[str] = []
        if due is not None or (await self.store.next_due()) is not None:
            while True:
                ids = [i for i in await self.store.due_actors(now, 1000) if i not in s.cells]
                if not ids:
                    break
                ids.sort(key=lambda i: (i.count("/"), i))  # parents first
                async with anyio.create_task_group() as tg:
                    for aid in ids:
                        tg.start_soon(self._activate_for_delivery, aid, activated)
                woken.extend(ids)
                if len(ids) < 1000:
                    break
        nxt = await self.store.next_due(after=now)
        if nxt is not None:
            self._arm_wake(nxt)
        return woken


class VirtualRef:
    """An entity addressed by id whether or not it is in memory (:meth:`ActorSystem.ref`).

    The first message activates it (from the store, or at its initial state); afterwards it
    may be passivated when idle and comes back on the next message or when a timer is due.
    """

    __slots__ = ("__weakref__", "_durable", "chart", "id")

    def __init__(self, durable: Durable, chart: Chart, entity_id: str) -> None:
        self._durable = durable
        #: the chart the entity runs
        self.chart = chart
        #: the entity's actor id
        self.id = entity_id
        durable.refs.setdefault(entity_id, self)

    def __repr__(self) -> str:
        return f"<VirtualRef {self.id!r} ({self.chart.id})>"

    @property
    def is_active(self) -> bool:
        """Is the entity in memory now?"""
        return self.id in self._durable.system.cells

    async def activate(self) -> ActorRef:
        """The live actor (activated if needed). On a cluster node, only the owner of the
        entity's shard runs it: elsewhere this (and :meth:`wait_for`) raises
        :class:`~statefleet.ActorError`."""
        node = self._durable.node
        if node is not None and not node.owns(self.id):
            raise ActorError(
                f"entity {self.id!r} belongs to a shard this node does not hold: it runs on"
                " the shard's owner (send and ask reach it from any node)"
            )
        return (await self._durable.activate(self.id, self.chart)).ref

    async def _live(
        self, op: Callable[[ActorRef], Any], remote: Callable[[Node], Any] | None = None
    ) -> Any:
        node = self._durable.node
        for _ in range(3):
            if remote is not None and node is not None and not node.owns(self.id):
                return await remote(node)  # its shard is another node's
            try:
                a = await self.activate()
            except ActorError:
                if remote is not None and node is not None and not node.owns(self.id):
                    continue  # handed over while it was being activated: send it there
                raise
            try:
                return await op(a)
            except ActorStoppedError:
                # handed over: also when the step carrying the event was refused by the
                # fence (the shard moved meanwhile; nothing of it was written), so its new
                # owner applies the event
                if a.status not in ("passivated", HANDED_OVER):
                    raise
        raise ActorError(f"entity {self.id!r} keeps being passivated")  # pragma: no cover

    async def send(self, event: str | EventData, /, **data: Any) -> None:
        """Send ``event``; returns once it is durably accepted."""
        node = self._durable.node
        if node is not None:  # the event names the chart, wherever it is applied
            ev = node.tagged(self.chart, self._event(event, data))
            await self._live(lambda a: a.send(ev), lambda n: n.send_remote(self.id, ev))
            return
        a = self._durable.system.cells.get(self.id)
        if a is not None and a.state < STOPPED:
            try:
                await a.ref.send(event, **data)
                return
            except ActorStoppedError:
                if a.status != "passivated":
                    raise
        await self._live(lambda a: a.send(event, **data))

    async def ask(self, event: str | EventData, /, **data: Any) -> Snapshot:
        """Send ``event`` and return the snapshot once its macrostep is committed."""
        reply: Reply = await self.try_ask(event, **data)
        return reply.snapshot

    def _event(self, event: str | EventData, data: dict[str, Any]) -> EventData:
        """The event a send on a cluster node puts in the inbox (with the caller's trace
        context)."""
        return self._durable.system.from_caller(make_event(event, data))

    async def try_ask(self, event: str | EventData, /, **data: Any) -> Reply:
        """:meth:`ActorRef.try_ask` on the live actor: the snapshot and whether a transition
        took the event (an event nothing takes commits nothing)."""
        node = self._durable.node
        if node is not None:  # the event names the chart, wherever it is applied
            ev = node.tagged(self.chart, self._event(event, data))
            remote: Reply = await self._live(
                lambda a: a.try_ask(ev), lambda n: n.ask_remote(self.id, ev)
            )
            return remote
        result: Reply = await self._live(lambda a: a.try_ask(event, **data))
        return result

    async def exists(self) -> bool:
        """Is the entity in memory or in the store? (Nothing is created or activated.)"""
        return await self._durable.exists(self.id)

    async def read(self) -> Snapshot:
        """The entity's snapshot without creating or activating it: the live one when it is
        in memory, else the stored one. Raises :class:`~statefleet.ActorError` when the
        entity does not exist (see :meth:`exists`)."""
        snap = await self._durable.peek(self.id)
        if snap is None:
            raise ActorError(f"no entity {self.id!r} (in memory or in the store)")
        return snap

    async def enabled_events(self) -> list[str]:
        """The event names that would trigger a transition now, computed on the entity's
        snapshot (:meth:`read`) without activating it."""
        a = self._durable.system.cells.get(self.id)
        if a is not None and a.state < STOPPED:
            return a.ref.enabled_events()
        snap = await self.read()
        chart = self._durable.charts.get(snap.chart_id, snap.chart_version) or self.chart
        m = chart.engine()
        m.load_snapshot(snap, chart.validate(snap))
        return m.enabled_events()

    async def wait_for(
        self, target: str | Callable[[Snapshot], Any], /, *, timeout: float | None = None
    ) -> Snapshot:
        """:meth:`ActorRef.wait_for` on the live actor."""
        result: Snapshot = await self._live(lambda a: a.wait_for(target, timeout=timeout))
        return result

    async def snapshot(self) -> Snapshot:
        """The entity's snapshot: :meth:`read` (nothing is created or activated)."""
        return await self.read()
