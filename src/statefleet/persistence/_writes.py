"""The write queue of a store: requests gathered into batches for one writer task.

Writes (accepts, commits, acks, and one-off operations such as a quarantine) are queued as
:class:`WriteOp` s; the writer task (:meth:`WriteQueue.run`) takes everything queued of the
bulk kinds (up to ``max_batch`` items, optionally lingering ``max_delay`` seconds for more),
or one other operation, and hands it to the store's ``flush``, which writes it in one
transaction and sets each op's ``result`` or ``error``. While a batch is written, new
requests queue up for the next one, so throughput grows with load (group commit).

Waiters await a plain asyncio future: the stores built on this are asyncio-only, and a
future is several times cheaper than an ``anyio.Event`` on the hot path.

A store whose transactions run in a thread of its own (SQLite) drives the queue with
:meth:`WriteQueue.pump` instead: no writer task, a batch is handed to the thread by a
callback when requests arrive and nothing is being written, and the next one when the
thread hands the last one back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel

from statefleet.core import PersistenceError
from statefleet.persistence._errors import StoreClosedError

__all__ = ["WriteOp", "WriteQueue", "copy_error"]

log = logging.getLogger("statefleet.persistence")


class WriteOp:
    """One queued write request and its outcome (one waiter, however many items: a future,
    or an ``on_done`` callback)."""

    __slots__ = ("error", "fut", "items", "kind", "on_done", "result", "size")

    def __init__(self, kind: str, items: Any, size: int) -> None:
        self.kind = kind
        self.items = items
        self.size = size
        self.fut: asyncio.Future[Any] | None = None
        #: called with the op once its outcome is known (:meth:`WriteQueue.put_soon`)
        self.on_done: Callable[[WriteOp], None] | None = None
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self) -> None:
        """Hand the outcome to the waiter."""
        on_done = self.on_done
        if on_done is not None:
            self.on_done = None
            try:
                on_done(self)
            except Exception:  # the queue goes on with the other ops of the batch
                log.exception("statefleet store: a write's callback failed")
            return
        fut = self.fut
        if fut is not None and not fut.done():
            if self.error is not None:
                fut.set_exception(self.error)
            else:
                fut.set_result(self.result)

    def fail(self, exc: BaseException, cause: BaseException | None, where: str) -> None:
        """Record a failure of the transaction this op was in (a fresh exception per
        waiter: a shared one would collect every waiter's traceback)."""
        if isinstance(exc, PersistenceError):
            err = copy_error(exc)
        else:
            err = PersistenceError(f"{where}: write failed: {exc}")
        err.__cause__ = cause
        self.result = None
        self.error = err


class WriteQueue:
    """The queue between a store's callers and its writer task.

    ``bulk`` names the op kinds that share a transaction; any other kind is written alone,
    in queue order (so a queued delete is written before any write queued after it).
    ``eager`` names the kinds that start a batch at once when nothing is being written
    (pump mode, no ``max_delay``); others wait one loop iteration for company.
    """

    def __init__(
        self,
        where: str,
        *,
        bulk: frozenset[str],
        max_batch: int,
        max_delay: float,
        eager: frozenset[str] = frozenset({"commit"}),
    ):
        self.where = where
        self.bulk = bulk
        self.eager = eager
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.ops: list[WriteOp] = []
        self.queued = 0
        self.closing = False
        self._wake: anyio.Event | None = None
        self._full: anyio.Event | None = None
        # pump mode (see ``pump``)
        self._start: Start | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = False  # a batch is being written
        self._starting = False  # ``_kick`` is inside ``start`` (see ``_kick``)
        self._kicked = False  # a ``_kick`` is scheduled
        self._linger: asyncio.TimerHandle | None = None
        self._changed: asyncio.Future[None] | None = None

    def open(self) -> None:
        """Ready for writes (anyio events need a running event loop: made here)."""
        self.closing = False
        self._wake = anyio.Event()
        self._full = anyio.Event()

    def close(self) -> None:
        """Let the writer finish what is queued, then return."""
        self.closing = True
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self._start is not None:
            self._kick_soon()
            if self.closing:
                self._signal()
        elif self._wake is not None:
            self._wake.set()

    def _put(self, op: WriteOp) -> asyncio.Future[Any]:
        op.fut = fut = asyncio.get_running_loop().create_future()
        self._queue(op)
        return fut

    def _queue(self, op: WriteOp) -> None:
        self.ops.append(op)
        self.queued += op.size
        if op.kind in self.eager and self._start is not None and not (self._busy or self.closing):
            # pump mode with nothing being written: the batch starts now, with what is
            # queued. The actor runtime's commit pipeline hands a whole batch of steps over
            # as one op, so waiting a loop iteration for more requests (``_kick_soon``)
            # would only delay it: one loop iteration more per durable send of a client
            # sending one event at a time (issue 16). Other kinds (accepts, made one per
            # client) still wait an iteration to share a batch.
            self._kick()
        else:
            self._wake_writer()
        if self.queued >= self.max_batch and self._full is not None:
            self._full.set()

    def idle(self) -> bool:
        """Pump mode with nothing queued or being written, and no lingering: a batch queued
        now is handed to ``start`` at once."""
        return (
            self._start is not None
            and not self._busy
            and not self.ops
            and not self.closing
            and not self.max_delay
        )

    async def submit(self, op: WriteOp) -> Any:
        """Queue ``op`` and wait for its outcome."""
        return await self._put(op)

    def put_soon(self, op: WriteOp, on_done: Callable[[WriteOp], None]) -> None:
        """Queue ``op`` with no waiter: ``on_done(op)`` is called on the event loop once its
        ``result`` or ``error`` is set (from the batch's own completion callback: no task
        wakes up for it). The actor runtime's commit pipeline finishes its batch there,
        which saves a task switch and a loop iteration per batch (issue 16)."""
        op.on_done = on_done
        self._queue(op)

    def submit_soon(self, op: WriteOp) -> None:
        """Queue ``op`` without waiting (a failure is logged)."""
        self._put(op).add_done_callback(_log_failure)

    async def run(self, flush: Callable[[list[WriteOp]], Awaitable[None]]) -> None:
        """The writer task: batches to ``flush`` until closed. Whatever is still queued
        when it ends (cancelled, closed) fails with :class:`StoreClosedError`."""
        try:
            while True:
                if not self.ops:
                    if self.closing:
                        return
                    self._wake = anyio.Event()
                    await self._wake.wait()
                    continue
                if self.max_delay and self.queued < self.max_batch and not self.closing:
                    self._full = anyio.Event()
                    with anyio.move_on_after(self.max_delay):
                        await self._full.wait()
                ops = self._take()
                with anyio.CancelScope(shield=True):
                    await flush(ops)
                for op in ops:
                    op.finish()
                await anyio.lowlevel.checkpoint()
        finally:
            ops, self.ops = self.ops, []
            self.queued = 0
            for op in ops:
                op.error = StoreClosedError(f"{self.where}: the store closed before this write")
                op.finish()

    async def pump(self, start: Start) -> None:
        """The writer of a store whose transactions run in a thread: ``start(ops, done)``
        hands a batch to the thread, which calls ``done(result, error)`` on the event loop
        when it is written (each op's outcome set), or writes it at once and calls ``done``
        before it returns (see ``_kick``). Batches start from callbacks, with no
        writer task to wake: that saves three event-loop iterations per batch (issue 16).
        This coroutine lives as long as the store and returns once closed and everything
        queued is written; cancelled, it waits for the batch being written (shielded), and
        what is still queued fails with :class:`StoreClosedError`."""
        loop = self._loop = asyncio.get_running_loop()
        self._start = start
        try:
            self._kick()
            while not (self.closing and not self.ops and not self._busy):
                self._changed = loop.create_future()
                await self._changed
        finally:
            self._start = None
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            with anyio.CancelScope(shield=True):
                while self._busy:  # its outcome is known only once the thread is done
                    self._changed = loop.create_future()
                    await self._changed
            ops, self.ops = self.ops, []
            self.queued = 0
            for op in ops:
                op.error = StoreClosedError(f"{self.where}: the store closed before this write")
                op.finish()

    def _signal(self) -> None:
        changed = self._changed
        if changed is not None and not changed.done():
            changed.set_result(None)

    def _kick_soon(self) -> None:
        # one loop iteration later, so requests made in the same iteration (the steps of
        # many actors) share the batch
        if not self._kicked and not self._busy and self._loop is not None:
            self._kicked = True
            self._loop.call_soon(self._kick)

    def _kick(self, lingered: bool = False) -> None:
        """Start the next batch if nothing is being written (pump mode).

        ``start`` may write a batch at once and call ``done`` before it returns (SQLite's
        small NORMAL batches, written on the loop: a ``call_soon`` for ``done`` was one more
        loop iteration per durable send, ~10 us of CPU; issue 16). ``done`` then finds
        ``_starting`` set and leaves the next batch to the loop below, so a queue of such
        batches is a loop here, never a recursion."""
        self._kicked = False
        if self._starting:
            return  # called back from inside ``start``: the loop below goes on
        start = self._start
        while not self._busy and self.ops and start is not None:
            if (
                self.max_delay
                and not lingered
                and self.queued < self.max_batch
                and not self.closing
            ):
                if self._linger is None:  # wait that long for more requests (or a full batch)
                    assert self._loop is not None
                    self._linger = self._loop.call_later(self.max_delay, self._kick, True)
                return
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            ops = self._take()
            self._busy = True
            self._starting = True
            try:
                start(ops, partial(self._done, ops))
            except Exception as exc:  # not handed over (the connection is gone): fail them
                self._busy = False
                for op in ops:
                    op.fail(exc, exc, self.where)
                    op.finish()
                self._kick_soon()  # the next batch from the loop (no recursion)
                self._signal()
                return
            finally:
                self._starting = False
            start = self._start  # (a ``done`` run inside ``start`` may have closed it)
            lingered = False

    def _done(self, ops: list[WriteOp], result: Any, error: BaseException | None) -> None:
        """The thread wrote a batch (or failed outside the transaction: ``error``)."""
        self._busy = False
        if error is not None:
            for op in ops:
                op.fail(error, error, self.where)
        for op in ops:
            op.finish()
        self._kick()  # (nothing, when called from inside ``start``: see ``_kick``)
        if self.closing or self._start is None:  # ``pump`` waits for the last batch
            self._signal()

    def _take(self) -> list[WriteOp]:
        ops = self.ops
        first = ops[0]
        if first.kind not in self.bulk:
            del ops[0]
            self.queued -= first.size
            return [first]
        if len(ops) == 1:  # the whole queue (a client committing one step at a time)
            self.ops = []
            self.queued -= first.size
            return ops
        n = count = 0
        while n < len(ops) and ops[n].kind in self.bulk and (count < self.max_batch or n == 0):
            count += ops[n].size
            n += 1
        batch = ops[:n]
        del ops[:n]
        self.queued -= count
        return batch


#: ``start(ops, done)`` of :meth:`WriteQueue.pump`: ``done(result, error)`` on the event loop
#: when written (before ``start`` returns, for a batch written at once)
Start = Callable[[list[WriteOp], Callable[[Any, BaseException | None], None]], None]


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("statefleet store: a queued write failed: %s", fut.exception())


def copy_error(exc: PersistenceError) -> PersistenceError:
    """A fresh exception for each waiter of the same failure (tracebacks are per raise)."""
    cls = type(exc)
    err = cls.__new__(cls, *exc.args)
    err.args = exc.args
    err.__dict__.update(exc.__dict__)
    err.__cause__ = exc.__cause__
    return err
