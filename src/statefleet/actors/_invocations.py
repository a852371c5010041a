"""Invocations under the actor runtime: each owned by the state that started it.

A child chart runs as a child actor cell; a callable (async function, async iterator,
iterator, callback service) runs as a task in the system's task group under a cancel scope.
Leaving the state cancels it; events it sends after that are dropped (those already queued
are processed, as SCXML says: W3C test 236). ``done.invoke.<id>`` / ``error.invoke.<id>``
come back as events, made by :mod:`statefleet.core._routing` as in every driver.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio

from statefleet.actors._invocation import ActorInvocation
from statefleet.actors._lifecycle import contained
from statefleet.actors._mailbox import Item, event_of
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActorError,
    Chart,
    EventData,
    InvocationCancelled,
    InvocationDone,
    InvocationFailed,
    InvocationStarted,
    InvokeEffect,
    Snapshot,
)
from statefleet.core._routing import done_invoke, error_invoke, item_event

if TYPE_CHECKING:
    from statefleet.actors._cell import ActorCell

__all__ = ["RunningInvocation", "cancel", "failed", "restart_all", "start"]

log = logging.getLogger("statefleet.actors")


class RunningInvocation(Latch):
    """The runtime side of one invocation (set when its task or child actor is over)."""

    __slots__ = ("actor", "cancelled", "id", "inv", "kind", "owner", "scope", "state")

    def __init__(self, owner: ActorCell, invokeid: str, kind: str, state: str) -> None:
        super().__init__()
        self.owner = owner
        self.id = invokeid
        self.kind = kind
        self.state = state
        #: the child actor, for a chart
        self.actor: ActorCell | None = None
        #: what the invoked callable got, for a callable
        self.inv: ActorInvocation | None = None
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def is_cancelled(self) -> bool:
        """Was it cancelled, or is its owner gone (``inv.cancelled``)?"""
        owner = self.owner
        if self.cancelled or owner.stopped:
            return True
        x = owner.x
        return x is None or x.invs is None or x.invs.get(self.id) is not self

    @property
    def over(self) -> bool:
        """Has it finished (its child actor stopped, its task returned)?"""
        return self.actor.stopped if self.actor is not None else self.done

    def send(self, name: str, data: Any = None) -> None:
        """An event from the invoked callable to its owner (``inv.send``)."""
        self.from_invoked(EventData(name, data, invokeid=self.id, origin=f"#_{self.id}"))

    def from_invoked(self, ev: EventData) -> None:
        """Queue ``ev`` at the owner, unless the invocation was cancelled meanwhile."""
        if not self.is_cancelled():
            self.owner.enqueue(ev)

    def deliver(self, item: Item) -> bool:
        """An event the owner sends to ``#_<invokeid>``; False if nobody takes it."""
        if self.actor is not None:
            return self.actor.enqueue(item)
        if self.inv is not None:
            self.inv.put(event_of(item))
            return True
        return False

    async def settled(self) -> None:
        """Wait until it is over (its child actor stopped, its task returned)."""
        if self.actor is not None:
            await self.actor.wait_stopped()
        elif self.scope is not None:
            await Latch.settled(self)


def start(cell: ActorCell, e: InvokeEffect, child_snapshot: Snapshot | None = None) -> None:
    """Start the invocation ``e`` of ``cell`` (a child chart restored from
    ``child_snapshot`` if given)."""
    s = cell.place.rt  # (``cell.rt`` is a property)
    x = cell.extra()
    if x.invs is None:
        x.invs = {}
    if e.invokeid in x.invs:
        cancel(cell, e.invokeid)
    h = RunningInvocation(cell, e.invokeid, e.kind, e.state)
    x.invs[e.invokeid] = h
    if s.fns:
        s.publish(
            InvocationStarted(
                actor=cell.id, ts=s.clock_now(), invokeid=e.invokeid, state=e.state, kind=e.kind
            )
        )
    src = e.src
    if isinstance(src, Chart):
        data = e.data if isinstance(e.data, dict) else None
        try:
            s.spawn_cell(
                src,
                id=s.child_id(cell, e.invokeid),
                context=data,
                parent=cell,
                invokeid=e.invokeid,
                system_id=None,
                snapshot=child_snapshot,
                supervision=cell.sup,
                mailbox_size=s.mailbox_size,
                handle=h,
            )
        except Exception as exc:
            if x.invs.get(e.invokeid) is h:
                del x.invs[e.invokeid]
            failed(cell, e.invokeid, exc)
        return
    if callable(src):
        h.scope = anyio.CancelScope()
        m = cell.engine
        h.inv = ActorInvocation(
            e.invokeid, e.data, m.context, m.event, h.send, cell.ref, h.is_cancelled
        )
        s.tg_start(_run, h, src)
        return
    del x.invs[e.invokeid]
    failed(cell, e.invokeid, ActorError(f"cannot invoke {src!r}"))


def failed(cell: ActorCell, invokeid: str, exc: BaseException) -> None:
    """The invocation could not start: ``error.invoke.<id>`` to ``cell``."""
    s = cell.place.rt  # (``cell.rt`` is a property)
    if s.fns:
        s.publish(
            InvocationFailed(actor=cell.id, ts=s.clock_now(), invokeid=invokeid, error=str(exc))
        )
    cell.enqueue(error_invoke(invokeid, exc))


async def _run(h: RunningInvocation, src: Callable[[ActorInvocation], Any]) -> None:
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
                    await _pump_async(h, result)
                    result = None
                elif isinstance(result, Iterator):
                    for item in result:
                        h.from_invoked(_stamped(h, item_event(item)))
                    result = None
            except BaseException as exc:
                err = contained(exc)
                if err is None:
                    raise
                if not h.cancelled:
                    _ended(h, None, err)
                else:
                    log.debug("invocation %r failed while cancelled", h.id, exc_info=True)
                return
        if not h.cancelled:
            _ended(h, result, None)
    finally:
        h.set()


def _stamped(h: RunningInvocation, ev: EventData) -> EventData:
    return EventData(ev.name, ev.data, invokeid=h.id, origin=f"#_{h.id}")


async def _pump_async(h: RunningInvocation, it: Any) -> None:
    """Forward the items of an async iterator, slowing down while the owner's mailbox is
    full."""
    if hasattr(it, "aclose"):
        async with aclosing(it):
            async for item in it:
                await _forward(h, item)
    else:
        async for item in it:
            await _forward(h, item)


async def _forward(h: RunningInvocation, item: Any) -> None:
    h.from_invoked(_stamped(h, item_event(item)))
    owner = h.owner
    while owner.full and not owner.stopped:
        await owner.wait_space()


def _ended(h: RunningInvocation, result: Any, exc: BaseException | None) -> None:
    cell = h.owner
    if cell.stopped:
        return
    s = cell.place.rt  # (``cell.rt`` is a property)
    iid = h.id
    if exc is not None:
        if s.fns:
            s.publish(
                InvocationFailed(actor=cell.id, ts=s.clock_now(), invokeid=iid, error=str(exc))
            )
        h.from_invoked(error_invoke(iid, exc))
    elif h.kind == "service":
        if s.fns:
            s.publish(InvocationDone(actor=cell.id, ts=s.clock_now(), invokeid=iid))
        h.from_invoked(done_invoke(iid, result))


def cancel(
    cell: ActorCell, invokeid: str, waits: list[Latch] | None = None
) -> RunningInvocation | None:
    """Cancel invocation ``invokeid`` of ``cell`` (``waits`` collects what is still
    cleaning up)."""
    x = cell.x
    if x is None or not x.invs:
        return None
    h = x.invs.pop(invokeid, None)
    if h is None:
        return None
    h.cancelled = True
    s = cell.place.rt  # (``cell.rt`` is a property)
    if s.fns:
        s.publish(InvocationCancelled(actor=cell.id, ts=s.clock_now(), invokeid=invokeid))
    if h.actor is not None:
        h.actor.terminate("cancelled", waits)
    if h.scope is not None:
        h.scope.cancel()
    return h


def restart_all(cell: ActorCell, snap: Snapshot | None) -> None:
    """Start again the invocations of the active states of a restored snapshot."""
    m = cell.engine
    for rec, spec in list(m.invocations.values()):
        try:
            src = spec.src_expr(m) if spec.src_expr is not None else spec.src
            typ = spec.type_expr(m) if spec.type_expr is not None else spec.type
            data = spec.params(m) if spec.params is not None else None
        except Exception as exc:
            failed(cell, rec.invokeid, exc)
            continue
        child = snap.children.get(rec.invokeid) if snap is not None else None
        start(
            cell,
            InvokeEffect(rec.invokeid, rec.state, src, typ, data, spec.autoforward, spec.kind),
            child,
        )
