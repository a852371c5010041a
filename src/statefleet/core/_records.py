"""Inspection records: what drivers publish to listeners (telemetry observes these).

Both drivers (the sync :class:`~statefleet.core.Session` and the actor runtime) publish the
same records to the same listener protocol. A listener is any object with an
``on_record(record)`` method, or a plain callable taking the record. Records are small frozen
structs; listeners must not block (the actor runtime never waits on them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import msgspec

from statefleet.core._events import EventData
from statefleet.core._step import Microstep

__all__ = [
    "ActionFailed",
    "ActorEscalated",
    "ActorRestarted",
    "ActorSpawned",
    "ActorStopped",
    "EventReceived",
    "InvocationCancelled",
    "InvocationDone",
    "InvocationFailed",
    "InvocationStarted",
    "Listener",
    "MacrostepRecord",
    "Record",
    "RecordsDropped",
    "SnapshotCommitted",
    "as_listeners",
]


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every inspection record: who (``actor``) and when (``ts``, clock seconds)."""

    actor: str
    ts: float = 0.0


class ActorSpawned(Record, frozen=True, kw_only=True):
    """An actor (or sync session) started."""

    chart_id: str
    chart_version: str
    parent: str | None = None


class ActorStopped(Record, frozen=True, kw_only=True):
    """An actor stopped: ``reason`` is ``"stopped"``, ``"done"``, ``"cancelled"``, ``"failed"``."""

    reason: str = "stopped"


class ActorRestarted(Record, frozen=True, kw_only=True):
    """The supervisor restarted an actor from its last committed snapshot."""

    attempt: int
    delay: float
    error: str
    from_version: int = 0


class ActorEscalated(Record, frozen=True, kw_only=True):
    """A failure the actor could not handle went to its parent (or the system)."""

    to: str | None
    error: str


class EventReceived(Record, frozen=True, kw_only=True):
    """An event entered the actor's mailbox."""

    event: str
    origin: str | None = None


class MacrostepRecord(Record, frozen=True, kw_only=True):
    """One macrostep: the event, what happened, and the configuration before and after."""

    chart_id: str
    chart_version: str
    event: EventData | None
    microsteps: tuple[Microstep, ...] = ()
    configuration_before: tuple[str, ...] = ()
    configuration_after: tuple[str, ...] = ()
    duration: float = 0.0
    version: int = 0
    errors: tuple[Any, ...] = ()
    effects: tuple[Any, ...] = ()


class ActionFailed(Record, frozen=True, kw_only=True):
    """An action or guard raised; the chart received ``error.execution``."""

    error: Any
    event: str | None = None


class InvocationStarted(Record, frozen=True, kw_only=True):
    """An invocation started for ``state``."""

    invokeid: str
    state: str
    kind: str = "service"


class InvocationDone(Record, frozen=True, kw_only=True):
    """An invocation finished (``done.invoke.<id>`` follows)."""

    invokeid: str


class InvocationFailed(Record, frozen=True, kw_only=True):
    """An invocation failed (``error.invoke.<id>`` follows)."""

    invokeid: str
    error: str


class InvocationCancelled(Record, frozen=True, kw_only=True):
    """An invocation was cancelled because its state exited."""

    invokeid: str


class SnapshotCommitted(Record, frozen=True, kw_only=True):
    """A store committed snapshots: ``version`` of this actor, in a batch of ``batch_size``."""

    version: int
    batch_size: int = 1
    latency: float = 0.0


class RecordsDropped(Record, frozen=True, kw_only=True):
    """An inspection stream's reader was too slow: ``count`` records were dropped here."""

    count: int


@runtime_checkable
class Listener(Protocol):
    """Receives inspection records. Must be fast and must not raise (errors are dropped)."""

    def on_record(self, record: Record) -> None:
        """Called once per record, in publication order."""


def as_listeners(
    items: Iterable[Listener | Callable[[Record], Any]],
) -> tuple[Callable[[Record], Any], ...]:
    """Normalise listeners (objects with ``on_record`` or callables) to callables."""
    out: list[Callable[[Record], Any]] = []
    for item in items:
        fn = getattr(item, "on_record", None)
        if fn is None:
            if not callable(item):
                raise TypeError(f"a listener needs on_record(record) or to be callable: {item!r}")
            fn = item
        out.append(fn)
    return tuple(out)
