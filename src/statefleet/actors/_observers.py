"""Who watches an actor between its steps: ``wait_for`` watches and ``subscribe`` streams.

After every macrostep the actor cell answers its pending ``ask`` (the oldest, if it is the
event just processed), checks its watches and pushes one snapshot to its subscriptions; the
snapshot is built once and only when somebody needs it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from statefleet.actors._waiters import Latch
from statefleet.core import Snapshot

__all__ = ["Subscription", "Watch"]


class Watch(Latch):
    """A pending ``wait_for``: a state id or a predicate over the snapshot."""

    __slots__ = ("pred", "state_id")

    def __init__(self, state_id: str | None, pred: Callable[[Snapshot], Any] | None) -> None:
        super().__init__()
        self.state_id = state_id
        self.pred = pred

    def check(self, ids: frozenset[str], snap: Callable[[], Snapshot]) -> bool:
        """Is it satisfied by the configuration ``ids`` (``snap()`` builds the snapshot)?"""
        if self.state_id is not None:
            return self.state_id in ids
        assert self.pred is not None
        return bool(self.pred(snap()))


class Subscription:
    """An async iterator of an actor's snapshots (``ref.subscribe()``).

    It yields the current snapshot first, then one after every macrostep, and ends when the
    actor stops (after its final snapshot). A slow subscriber never blocks the actor: at most
    ``buffer`` snapshots wait; older ones are dropped and counted in :attr:`dropped`. Use it as
    ``async with ref.subscribe() as sub: async for snap in sub: ...`` (or call :meth:`close`)
    so the actor stops building snapshots for it.
    """

    __slots__ = ("_closed", "_items", "_unsubscribe", "_waiter", "dropped")

    def __init__(self, unsubscribe: Callable[[Subscription], None], buffer: int) -> None:
        self._unsubscribe = unsubscribe
        self._items: deque[Snapshot] = deque(maxlen=buffer)
        self._waiter: anyio.Event | None = None
        self._closed = False
        #: snapshots dropped because the subscriber was slower than the actor
        self.dropped = 0

    def deliver(self, snap: Snapshot) -> None:
        """The actor's next snapshot (called by the runtime)."""
        items = self._items
        if len(items) == items.maxlen:
            self.dropped += 1
        items.append(snap)
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.set()

    def finish(self) -> None:
        """The actor stopped: iteration ends once the buffer is consumed (runtime)."""
        self._closed = True
        self._wake()

    def close(self) -> None:
        """Stop receiving snapshots (iteration ends once the buffer is consumed)."""
        self._unsubscribe(self)
        self.finish()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Snapshot:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            w = self._waiter = anyio.Event()
            await w.wait()
        return self._items.popleft()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
