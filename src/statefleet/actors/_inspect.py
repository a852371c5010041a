"""``system.inspect()``: the inspection records as a bounded async stream."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from statefleet.core import Record, RecordsDropped

if TYPE_CHECKING:
    from statefleet.actors._system import ActorSystem

__all__ = ["Inspection"]


class Inspection:
    """An async iterator of every record the system publishes, from now on.

    The buffer is bounded: a reader that falls behind never slows the actors; it loses
    records instead, and the next thing it reads is a :class:`RecordsDropped` saying how many.
    Use it as ``async with system.inspect() as records: async for r in records: ...`` (or
    call :meth:`close`).
    """

    def __init__(self, system: ActorSystem, buffer: int) -> None:
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise ValueError(f"buffer must be an int >= 1, not {buffer!r}")
        send: MemoryObjectSendStream[Record]
        recv: MemoryObjectReceiveStream[Record]
        send, recv = anyio.create_memory_object_stream[Record](buffer)
        self._send = send
        self._recv = recv
        self._system = system
        self._dropped = 0
        #: records dropped in all, so far
        self.dropped_total = 0
        system.add_listener(self._on_record)

    def _on_record(self, record: Record) -> None:
        if self._dropped:
            try:
                self._send.send_nowait(
                    RecordsDropped(actor=record.actor, ts=record.ts, count=self._dropped)
                )
            except anyio.WouldBlock:
                self._dropped += 1
                self.dropped_total += 1
                return
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            self._dropped = 0
        try:
            self._send.send_nowait(record)
        except anyio.WouldBlock:
            self._dropped += 1
            self.dropped_total += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def __aiter__(self) -> Inspection:
        return self

    async def __anext__(self) -> Record:
        try:
            try:
                return self._recv.receive_nowait()
            except anyio.WouldBlock:
                if self._dropped:  # the buffer is drained: say what was lost after it
                    n, self._dropped = self._dropped, 0
                    return RecordsDropped(actor="", ts=self._system.now, count=n)
                return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop receiving records (the iterator ends after what is buffered)."""
        self._system.remove_listener(self._on_record)
        self._send.close()

    async def __aenter__(self) -> Inspection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        self._recv.close()
