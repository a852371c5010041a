"""One-shot results the runtime hands out: one class for every "wait until it is over".

``ask`` waits for its event's macrostep, ``wait_for`` for a state, ``send`` for a commit,
``stop`` for cleanups, an activation for its load, ``system.sleep`` for a timer. Each is a
:class:`Latch`: set once, with a value or an error, awaited by any number of tasks.

Why one class, and why so lazy: most latches are set before anyone waits (a step that ran
inline, a cleanup that was quick), so the primitive a waiter blocks on is made only when a
task actually waits. On asyncio a plain future is several times cheaper than an
``anyio.Event``; a latch given the running loop uses one (trio gets an ``anyio.Event``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio

__all__ = ["Latch"]


class Latch:
    """A one-shot result: :meth:`set` or :meth:`fail` once, :meth:`wait` any number of times.

    It is also a timer target (``timer_valid`` / ``on_timer``): armed on the system's timer
    heap, it is set when the timer fires (``system.sleep``), or fails with the error given to
    :meth:`timeout_with` (``wait_for(timeout=...)``).
    """

    __slots__ = ("_event", "_future", "_loop", "_timeout", "done", "error", "value")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._loop = loop
        self._event: anyio.Event | None = None
        self._future: asyncio.Future[None] | None = None
        self._timeout: BaseException | None = None

    def __repr__(self) -> str:
        return f"<Latch {'done' if self.done else 'pending'}>"

    def set(self, value: Any = None) -> None:
        """Resolve with ``value`` (nothing happens if it is set already)."""
        if not self.done:
            self.done = True
            self.value = value
            self._wake()

    def fail(self, error: BaseException) -> None:
        """Resolve with ``error``: :meth:`wait` raises it (nothing happens if set already)."""
        if not self.done:
            self.done = True
            self.error = error
            self._wake()

    def settle(self, error: BaseException | None) -> None:
        """:meth:`fail` with ``error``, or :meth:`set` when it is None."""
        if error is None:
            self.set()
        else:
            self.fail(error)

    def _wake(self) -> None:
        f = self._future
        if f is not None and not f.done():
            f.set_result(None)
        e = self._event
        if e is not None:
            e.set()

    async def settled(self) -> None:
        """Wait until it is set or failed, without raising its error."""
        if self.done:
            return
        if self._loop is not None:
            if self._future is None:
                self._future = self._loop.create_future()
            await self._future
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()

    async def wait(self) -> Any:
        """Wait until it is set and return its value (or raise its error)."""
        if not self.done:
            await self.settled()
        return self.result()

    def result(self) -> Any:
        """Its value (or raise its error), once it is set: what :meth:`wait` returns,
        without a coroutine for a latch set already (an ``ask`` run inline)."""
        if self.error is not None:
            raise self.error
        return self.value

    # -- as a timer target ------------------------------------------------------------------
    def timeout_with(self, error: BaseException) -> Latch:
        """When its timer fires, fail with ``error`` instead of being set."""
        self._timeout = error
        return self

    def timer_valid(self, key: Any, due: float) -> bool:
        """A timer on it matters while it is pending."""
        return not self.done

    def on_timer(self, key: Any, due: float) -> None:
        """Its timer fired."""
        if self._timeout is not None:
            self.fail(self._timeout)
        else:
            self.set()
