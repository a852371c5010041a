"""Mailbox entries: an event, or an :class:`Envelope` that carries what travels with it.

A mailbox is a deque an actor cell creates when its first event arrives and drops when it
is drained. Most entries are bare :class:`~statefleet.core.EventData` (the hot path of
``send_nowait`` allocates nothing more). An event that carries more travels in an envelope:

- ``seq``: its row in the actor's durable inbox; the commit of the macrostep that consumes
  it deletes that row (nothing is matched by object identity);
- ``ack``: a :class:`~statefleet.actors._waiters.Latch` set once that macrostep is committed
  (a durable ``send`` to an idle actor returns then), or failed if the actor crashes or stops
  first;
- ``reply``: set with the snapshot once the macrostep and its async actions are done (``ask``);
- ``attempts``: how many macrosteps took it and crashed (a poison message's count);
- ``handled``: whether a transition took it (``try_ask`` reports it).
"""

from __future__ import annotations

from collections import deque

from statefleet.actors._waiters import Latch
from statefleet.core import EventData

__all__ = ["Envelope", "Item", "event_of", "fail_pending"]


class Envelope:
    """An event with its inbox seq, commit acknowledgement and reply (each optional)."""

    __slots__ = ("ack", "attempts", "event", "handled", "reply", "seq")

    def __init__(
        self,
        event: EventData,
        seq: int | None = None,
        ack: Latch | None = None,
        reply: Latch | None = None,
    ) -> None:
        self.event = event
        self.seq = seq
        self.ack = ack
        self.reply = reply
        self.attempts = 0
        #: did a transition take it? (set by the step that processed it)
        self.handled = True

    def __repr__(self) -> str:
        return f"<Envelope {self.event.name!r} seq={self.seq}>"

    def fail(self, error: BaseException) -> None:
        """Whoever waits on it gets ``error`` (the event will not be processed)."""
        if self.ack is not None:
            self.ack.fail(error)
        if self.reply is not None:
            self.reply.fail(error)

    def redelivery(self) -> Envelope | None:
        """What goes back into the mailbox when the macrostep that took it crashed: the
        event again if it is in the durable inbox (its row was not consumed), else nothing."""
        if self.seq is None:
            return None
        again = Envelope(self.event, self.seq)
        again.attempts = self.attempts + 1
        return again


#: what a mailbox holds
Item = EventData | Envelope


def event_of(item: Item) -> EventData:
    """The event of a mailbox entry."""
    return item.event if type(item) is Envelope else item  # type: ignore[return-value]


def fail_pending(mailbox: deque[Item] | None, error: BaseException) -> None:
    """Fail the waiters of every envelope in ``mailbox`` (it is being dropped)."""
    for item in mailbox or ():
        if type(item) is Envelope:
            item.fail(error)
