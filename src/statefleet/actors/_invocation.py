"""What an invoked function sees when it runs under the actor runtime."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import anyio

from statefleet.core import EventData, Invocation

if TYPE_CHECKING:
    from statefleet.actors._ref import ActorRef
    from statefleet.actors._system import ActorSystem

__all__ = ["ActorInvocation"]


class _Inbox:
    """An unbounded single-consumer queue of events (cheap: created on first use)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: deque[EventData] = deque()
        self.waiter: anyio.Event | None = None

    def put(self, ev: EventData) -> None:
        self.items.append(ev)
        w = self.waiter
        if w is not None:
            self.waiter = None
            w.set()

    async def get(self) -> EventData:
        while not self.items:
            w = self.waiter = anyio.Event()
            await w.wait()
        return self.items.popleft()


class _Events:
    __slots__ = ("inv",)

    def __init__(self, inv: ActorInvocation) -> None:
        self.inv = inv

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> EventData:
        return await self.inv.receive()


class ActorInvocation(Invocation):
    """The argument an invoked callable receives in an :class:`~statefleet.actors.ActorSystem`.

    Everything of :class:`~statefleet.core.Invocation` (``id``, ``data`` (the evaluated
    params), ``context`` (the parent's datamodel: read it, do not mutate it), ``event`` (the
    event whose macrostep entered the state), ``send(name, **data)`` to the parent, ``owner``
    (the parent :class:`~statefleet.actors.ActorRef`)), plus what a *callback service* needs:
    :meth:`receive` / :attr:`events` for the events the parent sends to ``#_<id>`` (and
    forwards with ``autoforward``), and :meth:`sleep` on the system clock (virtual in tests).

    Events sent after the invocation was cancelled are dropped.
    """

    def __init__(
        self,
        id: str,
        data: Any,
        context: dict[str, Any],
        event: EventData | None,
        send: Callable[..., None],
        owner: ActorRef,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(
            id, data, context, event, send, owner, parent=owner.id, cancelled=cancelled
        )
        self._inbox: _Inbox | None = None

    @property
    def actor(self) -> ActorRef:
        """The invoking actor."""
        owner: ActorRef = self.owner
        return owner

    @property
    def system(self) -> ActorSystem:
        """The actor system running the invocation."""
        return self.actor.system

    def put(self, ev: EventData) -> None:
        """An event the invoking actor sends to this invocation (called by the runtime)."""
        if self._inbox is None:
            self._inbox = _Inbox()
        self._inbox.put(ev)

    async def receive(self) -> EventData:
        """The next event the parent sent to this invocation (waits for one)."""
        if self._inbox is None:
            self._inbox = _Inbox()
        return await self._inbox.get()

    @property
    def events(self) -> AsyncIterator[EventData]:
        """``async for ev in inv.events:`` every event the parent sends, until cancelled."""
        return _Events(self)

    async def sleep(self, seconds: float) -> None:
        """Sleep on the system clock (with a virtual clock, time jumps when all is idle)."""
        await self.system.sleep(seconds)
