"""A sqlite3 connection served by a thread of its own: one hop per unit of work.

:class:`SQLiteThread` owns one plain :mod:`sqlite3` connection, made and used only in its
thread. ``await conn.call(fn, *args)`` runs ``fn(connection, *args)`` there and hands the
result (or the exception) back to the event loop with one ``call_soon_threadsafe``.

Why not aiosqlite: it hops into its thread once per statement (``execute``, then
``fetchall``, each a queue put, a thread wake-up and a self-pipe wake-up of the loop), so a
transaction of four statements cost eight hops, and on a loaded machine each hop is a
context switch costing more than the statement (issue 16: a durable send paid ~17 loop
iterations, 7 hops into aiosqlite's thread). Here a whole transaction (its planning, every
statement, the commit) is one function run in the thread: one hop in, one hop back.

asyncio only (the result comes back as an asyncio future).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SQLiteThread"]

T = TypeVar("T")

_STOP = None  # the queue item that ends the thread


class SQLiteThread:
    """One sqlite3 connection and the thread that uses it (see the module doc)."""

    def __init__(self, path: str, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Start the thread and connect (raises what ``sqlite3.connect`` raises)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        # a daemon thread: an event loop that ends without closing the store must not keep
        # the process alive (an uncommitted transaction is rolled back by SQLite)
        self._thread = threading.Thread(
            target=self._run, args=(loop, ready), name=f"statefleet-sqlite {self.path}", daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            self._thread = None
            raise

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` run in the connection's thread; its result or error."""
        if self._thread is None:
            raise sqlite3.ProgrammingError("the connection is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, loop, fut))
        return await fut

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Any, Any], None]
    ) -> None:
        """Run ``fn(connection, *args)`` in the thread, then ``done(result, error)`` on the
        event loop (no task waits for it: the store's writer is driven by these callbacks)."""
        if self._thread is None:
            raise sqlite3.ProgrammingError("the connection is closed")
        self._queue.put((fn, args, asyncio.get_running_loop(), done))

    async def close(self) -> None:
        """Close the connection and end the thread (queued calls run first)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((_STOP, (), loop, done))
        await done
        thread.join()  # it has returned from its last call: this does not block

    def _run(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=self.timeout, cached_statements=64
            )
        except BaseException as exc:
            _settle(loop, ready, None, exc)
            return
        _settle(loop, ready, None, None)
        get = self._queue.get
        while True:
            fn, args, floop, fut = get()
            if fn is _STOP:
                try:
                    conn.close()
                finally:
                    _settle(floop, fut, None, None)
                return
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(conn, *args)
            except BaseException as exc:
                error = exc
            if isinstance(fut, asyncio.Future):
                _settle(floop, fut, result, error)
            else:  # a callback (``submit``)
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    floop.call_soon_threadsafe(fut, result, error)


def _settle(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    """Hand an outcome to the loop (one ``call_soon_threadsafe``); a loop that is gone gets
    nothing."""
    with contextlib.suppress(RuntimeError):  # the loop is closed
        loop.call_soon_threadsafe(_set, fut, result, error)


def _set(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # the caller was cancelled
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
