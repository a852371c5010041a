"""The actor system: the public face of the runtime (``async with ActorSystem() as s:``).

Everything it does happens in :class:`~statefleet.actors._runtime.Runtime` (the registry,
the dispatcher, the listeners, the timers, the commit pipeline); this class checks what
users hand it and gives back :class:`~statefleet.actors.ActorRef` handles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import msgspec

from statefleet.actors._durable import VirtualRef
from statefleet.actors._inspect import Inspection
from statefleet.actors._models import ChartModel
from statefleet.actors._ref import ActorRef
from statefleet.actors._runtime import Runtime
from statefleet.actors._store import ActorStore
from statefleet.actors._supervision import ErrorPolicy, RestartPolicy, Supervision
from statefleet.core import (
    ActorError,
    ActorStoppedError,
    Chart,
    Listener,
    RealClock,
    Record,
    Snapshot,
    VirtualClock,
)

__all__ = ["ActorSystem"]

Checkpoint = Literal["batch", "step", "none"]


class ActorSystem:
    """Runs actors: ``async with ActorSystem(...) as system: ref = system.spawn(chart)``.

    - ``clock``: a :class:`~statefleet.VirtualClock` for tests (time jumps to the next timer
      as soon as every actor is idle and every task is blocked; ``autojump=False`` leaves it to
      :meth:`advance`; ``autojump=0.25`` jumps only once the system has stayed idle that many
      real seconds, so a service awaiting real I/O is not jumped over) or a
      :class:`~statefleet.RealClock` (the default).
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
        autojump: bool | float = True,
        seed: int | None = None,
        idle_timeout: float | None = None,
        charts: Iterable[Chart | type] = (),
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
        if not isinstance(autojump, bool) and not (
            isinstance(autojump, int | float) and 0 <= autojump < float("inf")
        ):
            raise ActorError(
                f"autojump must be True, False or a threshold in seconds >= 0, not {autojump!r}"
            )
        if supervision is not None and not isinstance(supervision, Supervision):
            raise ActorError(f"supervision must be a Supervision, not {supervision!r}")
        self._rt = Runtime(
            self,
            clock=clock if clock is not None else RealClock(),
            listeners=listeners,
            store=store,
            supervision=supervision if supervision is not None else Supervision(),
            mailbox_size=mailbox_size,
            batch=batch,
            turn=turn,
            checkpoint=checkpoint,
            autojump=autojump,
            seed=seed,
            idle_timeout=idle_timeout,
            charts=tuple(charts),
        )

    def __repr__(self) -> str:
        return f"<ActorSystem {len(self._rt.cells)} actors>"

    # -- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> ActorSystem:
        await self._rt.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self._rt.close()
        return None

    async def stop(self) -> None:
        """Stop every actor (children before parents, exit actions run, invocations
        cancelled, their cleanup awaited). Leaving ``async with`` does this."""
        await self._rt.stop()

    # -- spawning and lookup ----------------------------------------------------------------
    def spawn(
        self,
        chart: Chart | ChartModel,
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
        instance's ``send`` / ``raise_`` go to the actor. With a durable store its class is
        registered: after a restart ``system.ref(MyChart, id)`` (or recovery) runs the
        actor on a fresh instance restored from the store.

        Raises :class:`~statefleet.ActorError` for a duplicate id or system id, a system that
        is not running, or a chart that fails to start (its entry looping forever);
        :class:`~statefleet.SnapshotError` for a snapshot that does not fit the chart.
        """
        rt = self._rt
        if not rt.running or rt.closing:
            raise ActorError(
                "the ActorSystem is not running: spawn inside `async with ActorSystem() as s:`"
            )
        model: ChartModel | None = None
        if not isinstance(chart, Chart) and isinstance(chart, ChartModel):
            model = chart
            if snapshot is None:
                snapshot = model.snapshot()
            chart = model.chart
            if rt.durable is not None:
                rt.durable.register(type(model))  # restored as the class after a restart
        if not isinstance(chart, Chart):
            raise ActorError(f"spawn needs a compiled Chart, not {type(chart).__name__}")
        parent_cell = rt.cell_of(parent) if parent is not None else None
        if parent is not None:
            if parent_cell is None:
                raise ActorError(f"parent must be an actor of this system, not {parent!r}")
            if parent_cell.stopped:
                raise ActorStoppedError(f"cannot spawn a child of stopped actor {parent.id!r}")
        if context is not None and not isinstance(context, Mapping):
            raise ActorError(f"context must be a mapping, not {type(context).__name__}")
        if snapshot is not None and not isinstance(snapshot, Snapshot):
            raise ActorError(f"snapshot must be a Snapshot, not {type(snapshot).__name__}")
        sup = supervision
        if sup is None:
            sup = parent_cell.sup if parent_cell is not None else rt.supervision
        elif not isinstance(sup, Supervision):
            raise ActorError(f"supervision must be a Supervision, not {sup!r}")
        if on_error is not None or restart is not None:
            fields = msgspec.structs.asdict(sup)
            if on_error is not None:
                fields["on_error"] = on_error
            if restart is not None:
                fields["restart"] = restart
            sup = Supervision(**fields)
        cap = rt.mailbox_size if mailbox_size is None else mailbox_size
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ActorError(f"mailbox_size must be an int >= 1, not {cap!r}")
        return rt.spawn_cell(
            chart,
            id=id,
            context=context,
            parent=parent_cell,
            invokeid=None,
            system_id=system_id,
            snapshot=snapshot,
            supervision=sup,
            mailbox_size=cap,
            model=model,
            stored=False,
        ).ref

    def register(self, *charts: Chart | type) -> None:
        """Register charts by id and version (a durable store restores stored actors onto
        the version that stored them; several versions may be registered side by side,
        new entities start on the last one registered). A chart class (a ``StateChart``
        subclass) registers its chart: its actors run an instance of it."""
        durable = self._rt.durable
        if durable is None:
            raise ActorError("register needs a durable store (statefleet.persistence)")
        for chart in charts:
            durable.register(chart)

    @property
    def charts(self) -> dict[str, Chart]:
        """The registered charts new entities start on, by chart id (a copy; empty without a
        durable store)."""
        durable = self._rt.durable
        return dict(durable.charts.newest) if durable is not None else {}

    @property
    def store(self) -> ActorStore | None:
        """The store given to the system (``None``: it keeps nothing)."""
        return self._rt.store

    def register_migration(
        self,
        chart_id: str,
        from_version: str,
        to_version: str,
        migration: Callable[[Snapshot], Snapshot] | Mapping[str, str],
    ) -> None:
        """Move stored actors of ``chart_id`` from ``from_version`` to ``to_version`` when
        they are loaded: ``migration`` is a function from an old snapshot to a new one, or
        a state map (old state id -> new state id). The result is checked against the new
        chart; a migration that fails leaves the actor on its version (see
        :mod:`statefleet.actors._versions` and ``docs/persistence.md``)."""
        durable = self._rt.durable
        if durable is None:
            raise ActorError("register_migration needs a durable store (statefleet.persistence)")
        durable.charts.add_migration(chart_id, from_version, to_version, migration)

    def ref(self, chart: Chart | type, entity_id: str) -> VirtualRef:
        """The entity ``entity_id`` running ``chart``, whether or not it is in memory: its
        first message activates it from the store (or creates it at its initial state).

        ``chart`` may be a chart class (a ``StateChart`` subclass): the actor runs the
        instance ``chart.for_entity(entity_id, stored_snapshot)`` makes, as its callbacks'
        ``self``; its fields are in every commit and come back when it is restored."""
        durable = self._rt.durable
        if durable is None:
            raise ActorError("ref needs a durable store (statefleet.persistence)")
        if type(entity_id) is not str or not entity_id:
            raise ActorError(f"an entity id is a non-empty string, not {entity_id!r}")
        return VirtualRef(durable, durable.register(chart), entity_id)

    async def exists(self, entity_id: str) -> bool:
        """Is the entity ``entity_id`` in memory or in the store? Nothing is created or
        activated (a durable store is needed for stored entities)."""
        rt = self._rt
        if rt.durable is None:
            a = rt.cells.get(entity_id)
            return a is not None and not a.stopped
        return await rt.durable.exists(entity_id)

    async def query(
        self,
        *,
        chart: str | None = None,
        state: str | None = None,
        status: str | None = None,
        after: str = "",
        limit: int = 100,
    ) -> list[Snapshot]:
        """Stored actors as snapshots, in id order after ``after`` (paging), at most
        ``limit``: those running chart id ``chart``, with state ``state`` active, with the
        stored ``status`` (``"active"``, ``"done"``, ``"error"``, ``"quarantined"``). Nothing
        is activated; an actor in memory answers with its live snapshot. Needs a durable
        store."""
        durable = self._rt.durable
        if durable is None:
            raise ActorError("query needs a durable store (statefleet.persistence)")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ActorError(f"limit must be an int >= 1, not {limit!r}")
        return await durable.query(
            chart=chart, state=state, status=status, after=after, limit=limit
        )

    async def activate(self, entity_id: str) -> ActorRef:
        """The live actor of a stored entity (restored from the store if needed)."""
        durable = self._rt.durable
        if durable is None:
            raise ActorError("activate needs a durable store (statefleet.persistence)")
        return (await durable.activate(entity_id)).ref

    def get(self, key: str) -> ActorRef | None:
        """The running actor with id ``key``, else the one registered as system id ``key``,
        else None."""
        a = self._rt.lookup(key)
        return a.ref if a is not None else None

    @property
    def actors(self) -> tuple[ActorRef, ...]:
        """Every running actor, in spawn order."""
        return tuple(a.ref for a in self._rt.cells.values())

    @property
    def clock(self) -> VirtualClock | RealClock:
        """The clock timers, delayed sends and timeouts run on."""
        return self._rt.clock

    @property
    def now(self) -> float:
        """The system clock's time, in seconds."""
        return self._rt.clock_now()

    # -- listeners --------------------------------------------------------------------------
    def add_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Start publishing records to ``listener``."""
        self._rt.add_listener(listener)

    def remove_listener(self, listener: Listener | Callable[[Record], Any]) -> None:
        """Stop publishing records to ``listener``."""
        self._rt.remove_listener(listener)

    def inspect(self, buffer: int = 1024) -> Inspection:
        """Every record published from now on, as a bounded async iterator.

        ``async with system.inspect() as records: async for record in records: ...``. A slow
        reader never slows the actors: past ``buffer`` records it loses them and then reads a
        :class:`~statefleet.core.RecordsDropped` saying how many.
        """
        return Inspection(self, buffer)

    # -- time and idleness ------------------------------------------------------------------
    async def wait_idle(self) -> None:
        """Wait until no actor has an event to process or async work in progress.

        Invocations may still be running, and timers pending."""
        await self._rt.wait_idle()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on the system clock (with a virtual clock this returns as soon
        as time has jumped there)."""
        await self._rt.timers.sleep(seconds)

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock (with ``autojump=False``) forward by ``seconds``, firing the
        timers due on the way in order and letting the actors process each before the next."""
        await self._rt.timers.advance(seconds)
