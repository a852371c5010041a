"""Reading stored actors: batched loads and the checks every stored row goes through.

A SQL store reads ``actors`` rows (id, chart id, chart version, version, status, format,
snapshot, created, updated) and inbox rows. What it does with them is the same whatever the
database: :func:`record_from_row` turns a row into an :class:`ActorRecord` or says why it
cannot (:class:`SnapshotError`: the store then quarantines the actor), :func:`check_status`
refuses quarantined rows and rows of a newer statefleet before decoding, and :func:`raw` is
what a dead letter keeps of a value.

:class:`LoadBatcher` serves ``store.load(actor_id)``: concurrent loads wait on futures while a
worker reads every actor asked for since its last batch in one go, so an activation storm of
thousands of actors costs a few queries, not thousands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from statefleet.core import PersistenceError, SnapshotError, decode_snapshot
from statefleet.core._snapshot import SNAPSHOT_FORMAT
from statefleet.persistence._errors import CorruptRecordError, StoreClosedError
from statefleet.persistence._types import ActorRecord, LoadedActor
from statefleet.persistence._writes import copy_error

__all__ = [
    "LoadBatcher",
    "actor_filter",
    "actor_ids_query",
    "check_status",
    "raw",
    "record_from_row",
    "state_rows",
]

#: reads the given actors: each one's outcome
LoadRows = Callable[[list[str]], Awaitable[dict[str, LoadedActor | PersistenceError]]]


def actor_filter(
    status: str | None, chart: str | None, after: str | None, style: str
) -> tuple[str, tuple[str, ...]]:
    """The ``WHERE`` of a page of actor ids (``actor_ids``): by chart id and status when
    given, after ``after`` (when given); its parameters in order. ``style`` is the
    placeholder: ``"?"`` (SQLite), ``"$"`` (PostgreSQL, numbered) or ``"$+N"`` (numbered
    after ``N`` parameters before it). Values are always parameters."""
    conds: list[str] = []
    params: list[str] = []
    skip = int(style[2:]) if style.startswith("$+") else 0
    for column, value in (("chart_id", chart), ("status", status), ("id", after)):
        if value is None:
            continue
        params.append(value)
        mark = "?" if style == "?" else f"${len(params) + skip}"
        conds.append(f"{column} {'>' if column == 'id' else '='} {mark}")
    return " AND ".join(conds), tuple(params)


def actor_ids_query(
    status: str | None, chart: str | None, state: str | None, after: str, style: str
) -> tuple[str, tuple[str, ...]]:
    """The ``SELECT`` of a page of actor ids in id order (``actor_ids``, without its
    ``LIMIT``) and its parameters: :func:`actor_filter`, and with ``state`` the ids come
    from the ``actor_states`` index (``state_id, actor_id``) joined to their rows."""
    if state is None:
        where, params = actor_filter(status, chart, after, style)
        return f"SELECT id FROM actors WHERE {where} ORDER BY id", params
    marks = ("?", "?") if style == "?" else ("$1", "$2")
    where, params = actor_filter(status, chart, None, style if style == "?" else "$+2")
    conds = [f"s.state_id = {marks[0]}", f"s.actor_id > {marks[1]}", *([where] if where else [])]
    return (
        "SELECT s.actor_id FROM actor_states s JOIN actors a ON a.id = s.actor_id"
        f" WHERE {' AND '.join(conds)} ORDER BY s.actor_id",
        (state, after, *params),
    )


def state_rows(actor_id: str, blob: Any) -> list[tuple[str, str]]:
    """The ``actor_states`` rows (state id, actor id) of a stored snapshot, for a schema
    migration's backfill: every active state. A snapshot that cannot be decoded gives none
    (loading the actor quarantines it)."""
    if not isinstance(blob, bytes):
        return []
    try:
        snap = decode_snapshot(blob)
    except SnapshotError:
        return []
    return [(state, actor_id) for state in snap.configuration]


def check_status(actor_id: str, status: Any, fmt: Any) -> None:
    """Refuse a row before decoding it: a quarantined actor raises
    :class:`CorruptRecordError` again; a row of a newer statefleet raises
    :class:`PersistenceError` (it is left alone, not quarantined)."""
    if status == "quarantined":
        raise CorruptRecordError(actor_id, "quarantined earlier (see the dead letters)")
    if type(fmt) is int and fmt > SNAPSHOT_FORMAT:
        raise PersistenceError(
            f"actor {actor_id!r}: snapshot format {fmt} is newer than this statefleet"
            f" ({SNAPSHOT_FORMAT}); upgrade statefleet to read it"
        )


def record_from_row(row: Any) -> ActorRecord:
    """The actor record of an ``actors`` row; a row that cannot be used (whatever its
    columns hold) raises :class:`SnapshotError` saying why."""
    aid, chart_id, chart_version, version, status, fmt, blob, created, updated = row
    if type(fmt) is not int:
        raise SnapshotError(f"corrupt row: snapshot format {fmt!r}")
    if not isinstance(blob, bytes):
        raise SnapshotError(f"corrupt snapshot: stored as {type(blob).__name__}")
    snap = decode_snapshot(blob)
    if snap.chart_id != chart_id or snap.version != version:
        raise SnapshotError(
            f"corrupt snapshot: it says chart {snap.chart_id!r} version {snap.version},"
            f" the row says {chart_id!r} version {version!r}"
        )
    if snap.chart_version != chart_version or snap.status != status:
        raise SnapshotError(
            f"corrupt snapshot: it says version {snap.chart_version!r} status"
            f" {snap.status!r}, the row says {chart_version!r} status {status!r}"
        )
    if not all(type(t) in (int, float) for t in (created, updated)):
        raise SnapshotError(f"corrupt row: timestamps {created!r}, {updated!r}")
    return ActorRecord(aid, chart_id, chart_version, version, status, snap, created, updated)


def is_seq(value: Any) -> bool:
    """Whether ``value`` can be a stored inbox seq (an int in a BIGINT's range; not a bool)."""
    return type(value) is int and value.bit_length() <= 63


def raw(value: Any) -> bytes | None:
    """A stored value as the bytes a dead letter keeps (text and numbers as UTF-8)."""
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "backslashreplace")


class LoadBatcher:
    """Concurrent loads of a store, read in batches by one worker (:meth:`run`)."""

    def __init__(self, where: str, load_rows: LoadRows) -> None:
        self.where = where
        self._load_rows = load_rows
        self._loads: dict[str, list[asyncio.Future[LoadedActor]]] = {}
        self._wake: anyio.Event | None = None
        self._closing = False

    def open(self) -> None:
        """Ready for loads (anyio events need a running event loop: made here)."""
        self._closing = False
        self._wake = anyio.Event()

    def close(self) -> None:
        """Let the worker serve what is asked for, then return."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()

    async def load(self, actor_id: str) -> LoadedActor:
        """Wait for ``actor_id``'s outcome from the next batch."""
        fut: asyncio.Future[LoadedActor] = asyncio.get_running_loop().create_future()
        self._loads.setdefault(actor_id, []).append(fut)
        if self._wake is not None:
            self._wake.set()
        return await fut

    async def run(self) -> None:
        """The worker: batches until closed; loads still waiting when it ends fail with
        :class:`StoreClosedError`."""
        try:
            while True:
                if not self._loads:
                    if self._closing:
                        return
                    self._wake = anyio.Event()
                    await self._wake.wait()
                    continue
                batch, self._loads = self._loads, {}
                try:
                    with anyio.CancelScope(shield=True):
                        results = await self._load_rows(list(batch))
                except PersistenceError as exc:
                    results = dict.fromkeys(batch, exc)
                except Exception as exc:
                    # the worker serves every actor: a bug or an unforeseen row must fail
                    # these loads, not the store (and with it the whole actor system)
                    err = PersistenceError(
                        f"{self.where}: load failed: {type(exc).__name__}: {exc}"
                    )
                    err.__cause__ = exc
                    results = dict.fromkeys(batch, err)
                for aid, futs in batch.items():
                    r = results[aid]
                    for fut in futs:
                        if fut.done():
                            continue
                        if isinstance(r, PersistenceError):
                            fut.set_exception(copy_error(r))
                        else:
                            fut.set_result(r)
        finally:
            loads, self._loads = self._loads, {}
            for futs in loads.values():
                for fut in futs:
                    if not fut.done():
                        fut.set_exception(StoreClosedError(f"{self.where}: the store closed"))
