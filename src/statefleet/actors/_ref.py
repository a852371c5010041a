"""``ActorRef``: the handle users hold to an actor (a thin view over its actor cell)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from statefleet.actors._lifecycle import IDLE, STOPPED
from statefleet.core import (
    ActorError,
    Chart,
    EventData,
    InvalidEventError,
    MailboxFullError,
    Snapshot,
)

if TYPE_CHECKING:
    from statefleet.actors._cell import ActorCell
    from statefleet.actors._observers import Subscription
    from statefleet.actors._supervision import Supervision
    from statefleet.actors._system import ActorSystem

__all__ = ["ActorCrashedError", "ActorRef", "Reply", "make_event"]


class Reply(msgspec.Struct, frozen=True):
    """What :meth:`ActorRef.try_ask` answers: did a transition take the event, and the
    snapshot after its step."""

    handled: bool
    snapshot: Snapshot


class ActorCrashedError(ActorError):
    """The actor crashed while processing the event you asked about (the event is dropped;
    the supervisor restarts or stops the actor)."""


#: events without data, one per name: an :class:`EventData` is immutable and nothing matches
#: events by identity, so a ``send_nowait("name")`` allocates no event (~70 ns of a ~280 ns
#: send); bounded, so event names a sender makes up cannot grow it without end
_BARE: dict[str, EventData] = {}
_BARE_MAX = 1024


def bare_event(name: str) -> EventData:
    """The shared event ``name`` with no data (a fresh one once the table is full)."""
    ev = _BARE.get(name)
    if ev is None:
        ev = EventData(name)
        if len(_BARE) < _BARE_MAX:
            _BARE[name] = ev
    return ev


def make_event(event: Any, data: Mapping[str, Any]) -> EventData:
    """``event`` (a name, or an :class:`EventData`) with keyword ``data``, as an event."""
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


class ActorRef:
    """The handle to a running chart instance with a mailbox.

    Get one from :meth:`ActorSystem.spawn` (or :meth:`ActorSystem.get`). Events sent to it are
    processed strictly in order, one macrostep each. The same ref stays valid across
    restarts; after the actor stopped it still answers :meth:`snapshot`, :attr:`status` and
    :attr:`configuration` (the last state) but refuses events with
    :class:`~statefleet.ActorStoppedError`.

    Inside the chart's actions, ``ctx.owner`` is this ref (``ctx.owner.spawn(...)`` spawns a
    child, ``ctx.owner.system`` is the system).
    """

    # two slots, not four: ``chart`` and ``system_id`` are read from the cell (16 bytes less
    # per actor; a ref lives as long as its actor)
    __slots__ = ("_cell", "id")

    def __init__(self, cell: ActorCell, id: str) -> None:
        self._cell = cell
        #: the actor's id, unique in its system (also its SCXML session id; its cell
        #: reads it here)
        self.id: str = id

    @property
    def chart(self) -> Chart:
        """The compiled chart this actor runs."""
        return self._cell.chart

    @property
    def system_id(self) -> str | None:
        """The well-known name it is registered under, if any."""
        return self._cell.system_id

    def __repr__(self) -> str:
        return f"<ActorRef {self.id!r} ({self.chart.id}) {self.status}>"

    # -- read-only views --------------------------------------------------------------------
    @property
    def system(self) -> ActorSystem:
        """The system running this actor."""
        return self._cell.rt.system

    @property
    def parent(self) -> ActorRef | None:
        """The parent actor (the invoking or spawning one), if any."""
        p = self._cell.parent
        return p.ref if p is not None else None

    @property
    def invokeid(self) -> str | None:
        """The invocation id, when this actor is a chart invoked by its parent."""
        return self._cell.invokeid

    @property
    def supervision(self) -> Supervision:
        """The supervision settings of this actor."""
        return self._cell.sup

    @property
    def status(self) -> str:
        """``"active"``, ``"restarting"``, or once stopped why: ``"done"`` (it reached a
        top-level final state), ``"stopped"``, ``"cancelled"`` (its invoking state exited),
        ``"passivated"`` (a durable actor dropped from memory while idle) or ``"failed"``
        (crashed past its restart limit, or stopped by its error policy)."""
        return self._cell.status

    @property
    def configuration(self) -> frozenset[str]:
        """Ids of the active states."""
        return self._cell.engine.cfg.id_set

    @property
    def context(self) -> dict[str, Any]:
        """The live datamodel (read it between steps; :meth:`snapshot` gives a copy)."""
        return self._cell.engine.context

    @property
    def done(self) -> bool:
        """True once the chart reached a top-level final state."""
        return self._cell.engine.status == "done"

    @property
    def done_data(self) -> Any:
        """The donedata of the top-level final state reached, if any."""
        return self._cell.engine.done_data

    @property
    def mailbox_size(self) -> int:
        """Events waiting in the mailbox."""
        mb = self._cell.mailbox
        return len(mb) if mb is not None else 0

    def is_active(self, state_id: str) -> bool:
        """Is ``state_id`` in the configuration?"""
        return state_id in self._cell.engine.cfg.id_set

    def snapshot(self) -> Snapshot:
        """An immutable snapshot of the actor now (its invoked child charts included)."""
        return self._cell.snapshot()

    # -- sending ----------------------------------------------------------------------------
    def send_nowait(self, event: str | EventData, /, **data: Any) -> None:
        """Queue ``event`` (a name with ``data`` as payload, or an :class:`EventData`).

        Raises :class:`~statefleet.MailboxFullError` when the mailbox is full and
        :class:`~statefleet.ActorStoppedError` when the actor is stopped.
        """
        # The one implementation of a send that does not wait, written out here rather than
        # calling a method of the cell: it is fire-and-forget's whole sending side, and the
        # call and the attribute loads saved are ~50 ns of ~210 (issue 16). The cell's
        # fields it reads are its public ones.
        if type(event) is str and not data:
            try:
                ev = _BARE[event]  # bare_event(), inlined (a name sent before: the usual)
            except KeyError:
                ev = bare_event(event) if event else make_event(event, data)
        elif type(event) is str and event:
            ev = EventData(event, data)  # the keywords' dict is this call's own: no copy
        else:
            ev = make_event(event, data)
        cell = self._cell
        st = cell.state
        if st >= STOPPED:
            raise cell.stopped_error()
        rt = cell.place.rt  # (``cell.rt`` is a property: ~35 ns a send)
        hooks = rt.send_hooks  # a listener wants the caller's trace context or a record
        if hooks:
            ev = rt.from_caller(ev)
        mb = cell.mailbox
        if mb is None:
            mb = cell.mailbox = deque()
        elif len(mb) >= cell.place.capacity:
            raise MailboxFullError(
                f"mailbox of actor {self.id!r} is full ({cell.capacity} events waiting)"
            )
        mb.append(ev)
        if st == IDLE:
            cell.schedule()
        if hooks and rt.recv_fns:
            rt.received(cell, ev)

    async def send(self, event: str | EventData, /, **data: Any) -> None:
        """Queue ``event``, waiting while the mailbox is full (with a durable store: until it
        is durably accepted).

        Raises :class:`~statefleet.ActorStoppedError` when the actor is (or gets) stopped.
        """
        if type(event) is str and event:
            await self._cell.send(EventData(event, data or None))
        else:
            await self._cell.send(make_event(event, data))

    async def ask(self, event: str | EventData, /, **data: Any) -> Snapshot:
        """Send ``event`` and return the snapshot after its macrostep (and its async actions;
        with a store, after the commit).

        Raises :class:`ActorCrashedError` if the actor crashed on it and
        :class:`~statefleet.ActorStoppedError` if it stopped first.
        """
        if type(event) is str and event:
            snap, _ = await self._cell.ask(EventData(event, data or None))
        else:
            snap, _ = await self._cell.ask(make_event(event, data))
        return snap

    async def try_ask(self, event: str | EventData, /, **data: Any) -> Reply:
        """:meth:`ask`, telling whether the event was handled: a :class:`Reply` with the
        snapshot and ``handled`` (False: no transition took it; it changed nothing, and with
        a store nothing was committed for it)."""
        ev = EventData(event, data or None) if type(event) is str and event else None
        snap, handled = await self._cell.ask(ev if ev is not None else make_event(event, data))
        return Reply(handled, snap)

    async def read(self) -> Snapshot:
        """The actor's snapshot now: the one spelling for live and virtual refs
        (:meth:`VirtualRef.read` reads a stored entity without activating it)."""
        return self._cell.snapshot()

    def enabled_events(self) -> list[str]:
        """The event names that would trigger a transition now (guards evaluated; nothing
        changes)."""
        return self._cell.engine.enabled_events()

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
        return await self._cell.wait_for(target, timeout)

    def subscribe(self, *, buffer: int = 16) -> Subscription:
        """Snapshots of this actor as they happen (see :class:`Subscription`)."""
        return self._cell.subscribe(buffer)

    def spawn(self, chart: Chart, **kwargs: Any) -> ActorRef:
        """Spawn a child of this actor (see :meth:`ActorSystem.spawn`); it lives until it is
        stopped or this actor stops."""
        return self.system.spawn(chart, parent=self, **kwargs)

    async def stop(self) -> None:
        """Stop the actor: its children first, then its exit actions run (async ones are
        awaited) and its invocations are cancelled (this waits for their cleanup). Queued
        events are dropped; pending ``ask`` calls get :class:`~statefleet.ActorStoppedError`.
        Stopping a stopped actor does nothing."""
        await self._cell.stop()
