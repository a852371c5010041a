"""The per-actor journal: one entry per committed macrostep, kept by the store.

A :class:`~statefleet.persistence.Commit` may carry a :class:`JournalEntry`; the store writes
it in the same transaction as the snapshot (so the journal never disagrees with the stored
state) and applies its :class:`JournalPolicy` (the last ``limit`` entries per actor, and/or
none older than ``max_age`` seconds). ``store.history(actor_id)`` reads it back.

Entries hold summaries, not payloads: the event's data is cut to :data:`SUMMARY_CHARS`
characters of JSON, errors to their type and message, so a journal row stays small whatever
an event carries.
"""

from __future__ import annotations

import math
import time
from typing import Any

import msgspec

from statefleet.core import (
    EventData,
    MacrostepRecord,
    PersistenceError,
    Snapshot,
    SnapshotError,
)
from statefleet.core._snapshot import CODEC_ERRORS, codec_error_reason

__all__ = [
    "DEFAULT_JOURNAL",
    "SUMMARY_CHARS",
    "JournalEntry",
    "JournalPolicy",
    "JournalReader",
    "check_history_args",
    "decode_entry",
    "decode_rows",
    "encode_entry",
    "journal_entry",
    "journal_policy",
    "summarize",
]

#: the longest data summary or error text an entry keeps
SUMMARY_CHARS = 200


class JournalEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One committed macrostep of an actor.

    ``version`` is the snapshot version the step committed; ``event`` its event's name
    (``None`` for the initial entry) and ``data`` a short JSON summary of its data;
    ``transitions`` the transitions taken (``"source -> target"``, in order; empty when the
    runtime built no macrostep record, see docs/http.md); ``errors`` what the step raised as
    ``error.*`` events; ``trace_id`` the W3C trace id the event carried; ``at`` when the store
    wrote it (wall seconds).
    """

    actor_id: str
    version: int
    event: str | None = None
    data: str | None = None
    configuration_before: tuple[str, ...] = ()
    configuration_after: tuple[str, ...] = ()
    transitions: tuple[str, ...] = ()
    status: str = "active"
    errors: tuple[str, ...] = ()
    trace_id: str | None = None
    at: float = 0.0


class JournalPolicy(msgspec.Struct, frozen=True):
    """How much journal a store keeps: the last ``limit`` entries per actor (``0``: no
    journal at all) and, when ``max_age`` is set, none older than that many seconds.

    ``history`` never shows more than ``limit`` entries nor any older than ``max_age``; a
    database store deletes the rest when it trims the actor's journal (see
    :meth:`trims_at`), so an actor that stops committing keeps its last entries stored."""

    limit: int = 50
    max_age: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 0:
            raise ValueError(f"journal limit must be an int >= 0, not {self.limit!r}")
        if self.max_age is not None and not (
            isinstance(self.max_age, int | float)
            and math.isfinite(self.max_age)
            and self.max_age > 0
        ):
            raise ValueError(f"journal max_age must be a positive number, not {self.max_age!r}")

    @property
    def enabled(self) -> bool:
        """Does the store keep a journal?"""
        return self.limit > 0

    def trims_at(self, version: int) -> bool:
        """Does the commit of ``version`` trim its actor's journal to ``limit`` entries?

        Trimming after every commit would cost a delete per commit; a database store trims
        every ``limit // 5`` versions instead, so an actor holds at most that many entries
        more than ``limit`` between trims (``history`` never shows more than ``limit``)."""
        return version % max(1, self.limit // 5) == 0


#: what a store keeps unless told otherwise: the last 50 entries per actor
DEFAULT_JOURNAL = JournalPolicy()


def journal_policy(value: JournalPolicy | int | None) -> JournalPolicy:
    """A store's ``journal=`` argument as a policy: a :class:`JournalPolicy`, a number of
    entries per actor, or ``None`` (no journal)."""
    if value is None:
        return JournalPolicy(0)
    if isinstance(value, JournalPolicy):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return JournalPolicy(value)
    raise ValueError(
        f"journal is a JournalPolicy, a number of entries or None, not {type(value).__name__}"
    )


def check_history_args(limit: Any, before: Any) -> tuple[int, int | None]:
    """``history()``'s paging arguments, checked: ``limit`` an int >= 0, ``before`` a
    version (int) or ``None``."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"history limit must be an int >= 0, not {limit!r}")
    if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
        raise ValueError(f"history before must be a version (int) or None, not {before!r}")
    return limit, before


def summarize(data: Any) -> str | None:
    """A short JSON text of ``data`` (at most :data:`SUMMARY_CHARS` characters; ``None`` for
    no data); what JSON cannot hold is shown by its ``repr``."""
    if data is None:
        return None
    try:
        text = msgspec.json.encode(data, order="deterministic").decode()
    except (TypeError, ValueError, OverflowError):
        text = repr(data)
    return _clip(text)


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "\u2026"


def _trace_id(event: EventData | None) -> str | None:
    trace = event.trace if event is not None else None
    if not trace:
        return None
    parts = str(trace.get("traceparent", "")).split("-")
    if len(parts) >= 3 and len(parts[1]) == 32:
        return parts[1]
    return None


def _error_text(err: Any) -> str:
    if isinstance(err, BaseException):
        return _clip(f"{type(err).__name__}: {err}")
    if isinstance(err, EventData):
        inner = err.error
        return _clip(f"{err.name}: {inner}" if inner is not None else err.name)
    return _clip(str(err))


def journal_entry(
    actor_id: str,
    snapshot: Snapshot,
    *,
    previous: Snapshot | None,
    event: EventData | None = None,
    record: MacrostepRecord | None = None,
) -> JournalEntry:
    """The journal entry for the macrostep going from ``previous`` to ``snapshot``, caused by
    ``event``; ``record`` (when the runtime built one) adds the transitions and errors."""
    transitions: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    if record is not None:
        transitions = tuple(t for m in record.microsteps for t in m.transitions)
        errors = tuple(_error_text(e) for e in record.errors)
    return JournalEntry(
        actor_id=actor_id,
        version=snapshot.version,
        event=event.name if event is not None else None,
        data=summarize(event.data) if event is not None else None,
        configuration_before=previous.configuration if previous is not None else (),
        configuration_after=snapshot.configuration,
        transitions=transitions,
        status=snapshot.status,
        errors=errors,
        trace_id=_trace_id(event),
    )


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(JournalEntry)


def encode_entry(entry: JournalEntry) -> bytes:
    """The stored bytes of an entry (msgpack)."""
    return _encoder.encode(entry)


def decode_entry(blob: bytes, at: float) -> JournalEntry:
    """An entry from its stored bytes, stamped with the time it was written; bad bytes raise
    :class:`~statefleet.core.SnapshotError`."""
    try:
        entry = _decoder.decode(blob)
    except CODEC_ERRORS as exc:
        raise SnapshotError(f"corrupt journal entry: {codec_error_reason(exc)}") from exc
    return msgspec.structs.replace(entry, at=float(at))


def decode_rows(actor_id: str, rows: Any) -> list[JournalEntry]:
    """Entries from stored ``(version, at, entry bytes)`` rows, newest first in the rows,
    oldest first in the result; a row that cannot be decoded raises
    :class:`~statefleet.core.PersistenceError` naming the actor and version."""
    out: list[JournalEntry] = []
    for version, at, blob in reversed(rows):
        try:
            out.append(decode_entry(bytes(blob), at))
        except (SnapshotError, TypeError) as exc:
            raise PersistenceError(
                f"actor {actor_id!r}: its journal entry of version {version} cannot be read: {exc}"
            ) from exc
    return out


class JournalReader:
    """Mixin: ``history()`` for a store that keeps its journal rows as ``(version, at,
    entry bytes)`` and reads them with :meth:`_journal_rows`."""

    journal: JournalPolicy

    async def _journal_rows(
        self, actor_id: str, limit: int, before: int | None, oldest: float
    ) -> list[Any]:  # pragma: no cover - provided by the store
        """The actor's newest ``limit`` rows (version below ``before``, written at or after
        ``oldest``), newest first."""
        raise NotImplementedError

    async def history(
        self, actor_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[JournalEntry]:
        """The actor's journal, oldest first: its last ``limit`` entries (those with a
        version below ``before``, when given), within the store's ``journal`` policy; ``[]``
        for an unknown actor. A row that cannot be decoded raises
        :class:`~statefleet.core.PersistenceError` (nothing is changed)."""
        limit, before = check_history_args(limit, before)
        limit = min(limit, self.journal.limit)
        max_age = self.journal.max_age
        oldest = time.time() - max_age if max_age is not None else -math.inf
        rows = await self._journal_rows(actor_id, limit, before, oldest)
        return decode_rows(actor_id, rows) if limit else []
