"""Snapshots: the complete, serializable state of one running chart instance."""

from __future__ import annotations

from typing import Any

import msgspec

from statefleet.core._errors import SnapshotError
from statefleet.core._events import EventData

__all__ = [
    "SNAPSHOT_FORMAT",
    "DelayedEvent",
    "InvocationRecord",
    "Snapshot",
    "decode_snapshot",
    "encode_snapshot",
]

#: bumped whenever the encoded layout changes incompatibly
SNAPSHOT_FORMAT = 1


class DelayedEvent(msgspec.Struct, frozen=True):
    """A scheduled send that has not fired yet: it fires at ``due`` (seconds on the clock)."""

    sendid: str
    due: float
    event: EventData
    #: ``None`` (this session), ``"#_parent"``, ``"#_<invokeid>"``, an actor id, ...
    target: str | None = None
    #: for ``every`` timers: the period to reschedule with
    repeat: float | None = None


class InvocationRecord(msgspec.Struct, frozen=True):
    """An invocation started by a state that is still active."""

    invokeid: str
    state: str
    #: index of the invoke declaration within the state (document order)
    index: int = 0


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to resume a chart instance exactly where it was.

    Immutable; round-trips through msgpack and JSON (:func:`encode_snapshot`). ``configuration``
    lists the active states in document order, ``history`` the remembered configuration of
    each history state, ``pending`` the delayed events not fired yet, ``children`` the
    snapshots of invoked child charts by invoke id. ``version`` counts committed macrosteps.
    """

    chart_id: str
    chart_version: str
    configuration: tuple[str, ...]
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    history: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    status: str = "active"
    pending: tuple[DelayedEvent, ...] = ()
    invocations: tuple[InvocationRecord, ...] = ()
    children: dict[str, Snapshot] = msgspec.field(default_factory=dict)
    version: int = 0
    session_id: str = ""
    send_counter: int = 0
    #: states whose late-bound data has been initialized
    bound: tuple[str, ...] = ()
    done_data: Any = None
    format: int = SNAPSHOT_FORMAT


_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder = msgspec.msgpack.Decoder(Snapshot)
_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(Snapshot)


def encode_snapshot(snapshot: Snapshot, *, format: str = "msgpack") -> bytes:
    """Encode a snapshot as msgpack (default) or JSON bytes."""
    try:
        if format == "json":
            return _json_encoder.encode(snapshot)
        return _msgpack_encoder.encode(snapshot)
    except (TypeError, msgspec.EncodeError) as exc:
        raise SnapshotError(f"snapshot cannot be encoded: {exc}") from exc


def decode_snapshot(data: bytes, *, format: str = "msgpack") -> Snapshot:
    """Decode bytes made by :func:`encode_snapshot`; corrupt input raises ``SnapshotError``."""
    try:
        snap = _json_decoder.decode(data) if format == "json" else _msgpack_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotError(f"corrupt snapshot: {exc}") from exc
    if snap.format > SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"snapshot format {snap.format} is newer than this statefleet ({SNAPSHOT_FORMAT})"
        )
    return snap
