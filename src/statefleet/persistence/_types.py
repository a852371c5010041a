"""What stores read and write: commits, inbox events, timers, outbox rows, dead letters.

Snapshots are encoded with :func:`~statefleet.core.encode_snapshot` (msgpack, carrying its own
``format``); events are encoded here, in an envelope with :data:`EVENT_FORMAT`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from statefleet.core import EventData, InvalidEventError, PersistenceError, Snapshot, SnapshotError
from statefleet.core._snapshot import CODEC_ERRORS, codec_error_reason
from statefleet.persistence._errors import UnstorableCommitError
from statefleet.persistence._journal import JournalEntry

__all__ = [
    "EVENT_FORMAT",
    "ActorRecord",
    "Commit",
    "CommitResult",
    "DeadLetter",
    "Delivery",
    "LoadedActor",
    "OutboxEntry",
    "StoredEvent",
    "Timer",
    "decode_event",
    "encode_event",
    "make_commit",
    "prepare_each",
    "snapshot_timers",
    "timer_changes",
]

#: bumped whenever the stored event layout changes incompatibly
EVENT_FORMAT = 1


class StoredEvent(msgspec.Struct, frozen=True):
    """An event durably accepted into an actor's inbox and not consumed yet.

    ``seq`` orders the inbox (per store, increasing); a commit names the seqs it consumed.
    """

    seq: int
    actor_id: str
    event: EventData
    accepted_at: float = 0.0


class Timer(msgspec.Struct, frozen=True):
    """A durable delayed event: it fires at ``due`` (the runtime's clock, wall seconds).

    ``path`` holds the invoke ids leading from the actor to the child session that owns the
    timer (``()`` for the actor itself); ``key`` is unique within the actor.
    """

    key: str
    sendid: str
    due: float
    event: EventData
    target: str | None = None
    path: tuple[str, ...] = ()
    actor_id: str = ""


class Delivery(msgspec.Struct, frozen=True):
    """An event a macrostep sends to ``target``, written in the same transaction as the
    macrostep: into the target actor's inbox (``Commit.deliveries``) or into the outbox for
    targets outside the store (``Commit.outbox``)."""

    target: str
    event: EventData


class OutboxEntry(msgspec.Struct, frozen=True):
    """An event committed for a target outside the store, waiting for ``ack_outbox``."""

    seq: int
    actor_id: str
    target: str
    event: EventData
    created_at: float = 0.0


class DeadLetter(msgspec.Struct, frozen=True):
    """Something a store could not use, kept for inspection instead of being dropped.

    ``kind`` is ``"snapshot"`` (a quarantined actor's row) or ``"event"`` (an inbox row that
    cannot be decoded, or an event the runtime gave up on); ``payload`` holds the raw bytes.
    """

    id: int
    actor_id: str
    kind: str
    reason: str
    payload: bytes | None = None
    created_at: float = 0.0


class ActorRecord(msgspec.Struct, frozen=True):
    """One stored actor: its latest committed snapshot and bookkeeping."""

    actor_id: str
    chart_id: str
    chart_version: str
    version: int
    status: str
    snapshot: Snapshot
    created_at: float = 0.0
    updated_at: float = 0.0


class LoadedActor(msgspec.Struct, frozen=True):
    """What activating an actor needs: its record (``None`` if never stored) and the inbox
    events accepted for it but not consumed yet, in order."""

    actor_id: str
    record: ActorRecord | None
    inbox: tuple[StoredEvent, ...] = ()


class Commit(msgspec.Struct, frozen=True, kw_only=True):
    """One macrostep's durable outcome, written in one transaction (or not at all).

    ``expected_version`` is the version of the snapshot stored before this macrostep
    (``None``: the actor must not exist yet, this commit creates it); the store refuses the
    commit with :class:`VersionConflictError` otherwise. ``consumed`` names the inbox seqs
    this macrostep applied (they are deleted with the new snapshot, so a crash can never
    apply them twice). ``timers``/``cancelled_timers`` update the durable timers (by key),
    ``deliveries`` go to other actors' inboxes and ``outbox`` to outside targets.
    ``replace`` skips the version check (and the quarantine check) and overwrites.
    Build one with :func:`make_commit`, which derives the timer changes from the snapshots.
    """

    actor_id: str
    snapshot: Snapshot
    expected_version: int | None
    consumed: tuple[int, ...] = ()
    #: write the snapshot whatever is stored (no version check): a child actor re-created
    #: under the id of an earlier invocation
    replace: bool = False
    timers: tuple[Timer, ...] = ()
    cancelled_timers: tuple[str, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    outbox: tuple[Delivery, ...] = ()
    #: the macrostep's journal entry, written with it (when the store keeps a journal)
    journal: JournalEntry | None = None


class CommitResult(msgspec.Struct, frozen=True):
    """An acknowledged commit: the stored ``version`` and the seqs given to its deliveries
    (inbox) and outbox events, in order; ``batch_size`` commits shared its transaction."""

    actor_id: str
    version: int
    deliveries: tuple[int, ...] = ()
    outbox: tuple[int, ...] = ()
    batch_size: int = 1


# -- encoding ------------------------------------------------------------------------------
class _EventEnvelope(msgspec.Struct, array_like=True):
    format: int
    event: EventData


_event_encoder = msgspec.msgpack.Encoder()
_event_decoder = msgspec.msgpack.Decoder(_EventEnvelope)


def encode_event(event: EventData) -> bytes:
    """Encode an event for storage (msgpack, with :data:`EVENT_FORMAT`).

    The ``error`` field (a live exception) is never stored. Data msgpack cannot hold raises
    :class:`~statefleet.core.InvalidEventError` naming the event.
    """
    if not isinstance(event, EventData):
        raise InvalidEventError(f"expected an EventData, got {type(event).__name__}")
    if event.error is not None:
        event = msgspec.structs.replace(event, error=None)
    try:
        return _event_encoder.encode(_EventEnvelope(EVENT_FORMAT, event))
    except CODEC_ERRORS as exc:
        raise InvalidEventError(
            f"event {event.name!r} cannot be stored: {codec_error_reason(exc)}"
        ) from exc


def decode_event(data: bytes) -> EventData:
    """Decode bytes made by :func:`encode_event`; bad bytes raise ``SnapshotError``."""
    try:
        env = _event_decoder.decode(data)
    except CODEC_ERRORS as exc:
        raise SnapshotError(f"corrupt event: {codec_error_reason(exc)}") from exc
    if env.format > EVENT_FORMAT:
        raise SnapshotError(
            f"event format {env.format} is newer than this statefleet ({EVENT_FORMAT})"
        )
    return env.event


# -- timers --------------------------------------------------------------------------------
_SEP = "\x1f"


def snapshot_timers(snapshot: Snapshot, path: tuple[str, ...] = ()) -> dict[str, Timer]:
    """Every pending delayed event of ``snapshot`` and its children, by timer key."""
    out: dict[str, Timer] = {}
    _collect(snapshot, path, out)
    return out


def _collect(snap: Snapshot, path: tuple[str, ...], out: dict[str, Timer]) -> None:
    prefix = _SEP.join(path) + _SEP if path else ""
    for d in snap.pending:
        key = prefix + d.sendid
        out[key] = Timer(key, d.sendid, d.due, d.event, d.target, path)
    for invokeid, child in snap.children.items():
        _collect(child, (*path, invokeid), out)


def timer_changes(
    previous: Snapshot | None, snapshot: Snapshot
) -> tuple[tuple[Timer, ...], tuple[str, ...]]:
    """The timers to write (new or rescheduled) and the keys to delete (fired or
    cancelled) going from ``previous`` to ``snapshot``."""
    if not snapshot.pending and not snapshot.children:
        if previous is None or (not previous.pending and not previous.children):
            return (), ()  # the common case: no timers before or after
        after: dict[str, Timer] = {}
    else:
        after = snapshot_timers(snapshot)
    if previous is None or (not previous.pending and not previous.children):
        return tuple(after.values()), ()
    before = snapshot_timers(previous)
    added = tuple(
        t
        for k, t in after.items()
        if (b := before.get(k)) is None or b.due != t.due or b.event != t.event
    )
    removed = tuple(k for k in before if k not in after)
    return added, removed


def make_commit(
    actor_id: str,
    snapshot: Snapshot,
    *,
    previous: Snapshot | None,
    consumed: Iterable[int] = (),
    deliveries: Iterable[Delivery | tuple[str, EventData]] = (),
    outbox: Iterable[Delivery | tuple[str, EventData]] = (),
    replace: bool = False,
    journal: JournalEntry | None = None,
) -> Commit:
    """The :class:`Commit` for going from ``previous`` (the last committed snapshot, ``None``
    for a new actor) to ``snapshot``: the version check and timer changes are derived.
    ``journal``: the macrostep's journal entry, written with it."""
    timers, cancelled = timer_changes(previous, snapshot)
    return Commit(
        actor_id=actor_id,
        snapshot=snapshot,
        expected_version=None if previous is None else previous.version,
        consumed=consumed if type(consumed) is tuple else tuple(consumed),
        timers=timers,
        cancelled_timers=cancelled,
        deliveries=_deliveries(deliveries),
        outbox=_deliveries(outbox),
        replace=replace,
        journal=journal,
    )


def _deliveries(items: Iterable[Delivery | tuple[str, EventData]]) -> tuple[Delivery, ...]:
    if not items:
        return ()
    out: list[Delivery] = []
    for item in items:
        if isinstance(item, Delivery):
            out.append(item)
        else:
            target, event = item
            out.append(Delivery(target, event))
    return tuple(out)


_P = TypeVar("_P")


def prepare_each(
    commits: Sequence[Commit], prepare: Callable[[Commit], _P]
) -> list[_P | PersistenceError]:
    """``prepare`` (encode) every commit of a batch before anything is written: a commit
    that cannot be encoded becomes its own :class:`UnstorableCommitError`, the others go on.
    A malformed commit (not a :class:`Commit`) raises for the whole batch."""
    out: list[_P | PersistenceError] = []
    for commit in commits:
        c = check_commit(commit)
        try:
            out.append(prepare(c))
        except (SnapshotError, InvalidEventError) as exc:
            err = UnstorableCommitError(c.actor_id, str(exc))
            err.__cause__ = exc
            out.append(err)
    return out


def check_commit(commit: Any) -> Commit:
    """Reject anything that is not a well-formed :class:`Commit` with a clear error."""
    if not isinstance(commit, Commit):
        raise TypeError(f"expected a Commit, got {type(commit).__name__}")
    if not isinstance(commit.snapshot, Snapshot):
        raise TypeError(
            f"commit for {commit.actor_id!r}: snapshot is a {type(commit.snapshot).__name__}"
        )
    if not commit.actor_id or not isinstance(commit.actor_id, str):
        raise ValueError("a commit needs a non-empty actor id")
    return commit
