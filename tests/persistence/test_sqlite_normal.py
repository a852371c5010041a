"""SQLiteStore with ``durability="normal"`` (issue 16): a small batch commits on the event loop
itself (no fsync there: WAL checkpoints run in the writer's thread), so a client committing
one step at a time never waits for a thread; a database locked by someone else sends the batch
to the thread, which waits for the lock while the loop runs on."""

from __future__ import annotations

import asyncio
import selectors
import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from statefleet.core import PersistenceError
from statefleet.persistence import JournalEntry, SQLiteStore, make_commit

from .conftest import initial


class _CountingSelector(selectors.DefaultSelector):
    """Counts the times the event loop went to sleep waiting for I/O or a thread."""

    waits = 0

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None or timeout > 0:
            type(self).waits += 1
        return super().select(timeout)


def _run(main: Any) -> Any:
    _CountingSelector.waits = 0
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(_CountingSelector())) as r:
        return r.run(main())


async def _commits(store: SQLiteStore, actor: str, n: int) -> int:
    """Commit ``n`` steps of ``actor`` one at a time (each with a journal entry): the version."""
    snap = initial()
    await store.commit(make_commit(actor, snap, previous=None))
    for v in range(snap.version, snap.version + n):
        nxt = msgspec.structs.replace(snap, version=v + 1)
        commit = make_commit(actor, nxt, previous=msgspec.structs.replace(snap, version=v))
        entry = JournalEntry(actor_id=actor, version=v + 1, event="inc")
        await store.commit(msgspec.structs.replace(commit, journal=entry))
    return snap.version + n


def test_one_client_commits_without_the_loop_waiting_and_the_wal_stays_checkpointed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.db"
    wal = db.with_name(db.name + "-wal")
    n = 3000

    async def main() -> tuple[int, int, int]:
        async with SQLiteStore(db, durability="normal") as store:
            await _commits(store, "warm", 1)
            waits = _CountingSelector.waits
            version = await _commits(store, "a", n)
            waits = _CountingSelector.waits - waits
            size = wal.stat().st_size  # while open: closing checkpoints and removes it
            loaded = await store.load("a")
            assert loaded.record is not None and loaded.record.version == version
        return waits, version, size

    waits, version, size = _run(main)
    # each commit handed to a thread made the loop sleep until the thread was done: n waits;
    # now only the commits that come after a checkpoint (every few hundred) do
    assert waits < n / 10, waits
    # the WAL is checkpointed and started again as it grows: ~3 pages a commit would be
    # ~40 MB without (the checkpoints ran beside the loop's writes once, and never caught up)
    assert size < 12 * 1024 * 1024, size

    async def check() -> None:
        async with SQLiteStore(db, durability="normal") as store:
            loaded = await store.load("a")
            assert loaded.record is not None and loaded.record.version == version
            assert len(await store.history("a")) == 50

    _run(check)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_database_locked_by_another_writer_delays_commits_not_the_loop(tmp_path: Path) -> None:
    db = tmp_path / "fleet.db"

    async def main() -> None:
        async with SQLiteStore(db, durability="normal", busy_timeout=30) as store:
            await _commits(store, "a", 3)
            other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
            task = asyncio.create_task(_commits(store, "b", 3))
            ticks = 0
            while ticks < 50:  # the loop keeps running while the commit waits for the lock
                await asyncio.sleep(0)
                ticks += 1
            assert not task.done()
            other.execute("ROLLBACK")
            other.close()
            assert await task == initial().version + 3
            await _commits(store, "c", 3)  # and small batches go on as before
            assert store.stats["failures"] == 0

    _run(main)


def test_a_full_disk_fails_a_loop_written_batch_and_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.db"

    async def main() -> tuple[list[str], list[str]]:
        acked: list[str] = []
        failed: list[str] = []
        async with SQLiteStore(db, durability="normal") as store:
            for i in range(5):
                await store.commit(make_commit(f"ok{i}", initial(i=i), previous=None))
                acked.append(f"ok{i}")
            # white box: both writing connections (the loop's and the thread's) see a full
            # disk, as a real one would be for both
            inline, thread = store._inline, store._db
            assert inline is not None and thread is not None
            (pages,) = inline.execute("PRAGMA page_count").fetchone()
            inline.execute(f"PRAGMA max_page_count = {pages}")
            await thread.call(_execute, f"PRAGMA max_page_count = {pages}")
            for i in range(3):  # one at a time: each a small batch, written on the loop
                aid = f"big{i}"
                try:
                    await store.commit(make_commit(aid, initial(blob="x" * 20_000), previous=None))
                    acked.append(aid)
                except PersistenceError as exc:
                    assert "database or disk is full" in str(exc)
                    failed.append(aid)
            assert failed and store.stats["failures"] >= 1
            inline.execute("PRAGMA max_page_count = 1073741823")
            await thread.call(_execute, "PRAGMA max_page_count = 1073741823")
            await store.commit(make_commit("after", initial(), previous=None))
            acked.append("after")
        return acked, failed

    acked, failed = _run(main)

    async def check() -> None:
        async with SQLiteStore(db, durability="normal") as store:
            stored = set(await store.actor_ids(limit=100))
            assert set(acked) <= stored
            assert not set(failed) & stored

    _run(check)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _execute(db: sqlite3.Connection, sql: str) -> None:
    db.execute(sql)
