"""The rows SQLiteStore writes per commit (issue 16): a commit of an existing actor rewrites
its row and appends one journal row, in as few database pages as that takes; the journal of
schema 6 (no AUTOINCREMENT counter) keeps every row and its order through the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import encode_snapshot
from statefleet.persistence import SCHEMA_VERSION, JournalEntry, SQLiteStore, make_commit
from statefleet.persistence._journal import encode_entry
from statefleet.persistence._schema import MIGRATIONS

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio

WAL_FRAME = 24 + 4096  # a frame header and a page of the default size


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore is asyncio-only


async def test_a_commit_writes_the_actor_row_and_a_journal_row_in_few_pages(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.db"
    store = SQLiteStore(db, durability="normal")
    async with store, ActorSystem(store=store, charts=[COUNTER]) as system:
        ref = system.ref(COUNTER, "order-1")
        await ref.ask("inc")
        wal = db.with_name(db.name + "-wal")
        before, commits = wal.stat().st_size, store.stats["commits"]
        for _ in range(150):
            await ref.ask("inc")
        frames = (wal.stat().st_size - before) / WAL_FRAME
        commits = store.stats["commits"] - commits
        assert (await ref.snapshot()).context["n"] == 151
        assert len(await store.history("order-1")) == 50
    assert commits == 150
    # the actor's row (its status and chart indexes untouched), a journal row and its index
    # entry: about three pages per commit (a journal trim every tenth); the upsert and the
    # AUTOINCREMENT journal of schema 5 wrote six
    assert frames / commits < 4, frames / commits


def _schema_5(db: Path) -> sqlite3.Connection:
    """A database as statefleet wrote it at schema 5."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE statefleet_meta (key TEXT PRIMARY KEY, value TEXT)")
    for version, statements in MIGRATIONS:
        if version <= 5:
            for stmt in statements:
                conn.execute(stmt)
    conn.execute("INSERT INTO statefleet_meta VALUES ('schema_version', '5')")
    return conn


def _entry(actor: str, version: int, event: str) -> bytes:
    return encode_entry(JournalEntry(actor_id=actor, version=version, event=event))


async def test_a_schema_5_journal_is_migrated_with_its_rows_and_order(tmp_path: Path) -> None:
    db = tmp_path / "fleet.db"
    snap = initial()
    conn = _schema_5(db)
    conn.execute(
        "INSERT INTO actors VALUES ('a', 'counter', '1', ?, 'active', 1, ?, 1.0, 1.0)",
        (snap.version, encode_snapshot(snap)),
    )
    for i, (actor, event) in enumerate([("a", "x"), ("b", "y"), ("a", "z"), ("b", "w")], 1):
        conn.execute(
            "INSERT INTO journal (actor_id, version, at, entry) VALUES (?, ?, ?, ?)",
            (actor, i, 10.0 + i, _entry(actor, i, event)),
        )
    conn.execute("DELETE FROM journal WHERE id = 4")  # AUTOINCREMENT's high water stays 4
    old = conn.execute("SELECT actor_id, id, version, at, entry FROM journal").fetchall()
    conn.close()

    async with SQLiteStore(db) as store:
        assert [e.event for e in await store.history("a")] == ["x", "z"]
        assert [e.event for e in await store.history("b")] == ["y"]
        assert [e.at for e in await store.history("a")] == [11.0, 13.0]
        loaded = await store.load("a")
        assert loaded.record is not None and loaded.record.snapshot == snap
        await _step(store, "a", snap.version, "after-migration")

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT actor_id, id, version, at, entry FROM journal").fetchall()
    assert set(old) <= set(rows)  # every stored row as it was, id included
    new_ids = [r[1] for r in rows if r not in old]
    assert len(new_ids) == 1 and new_ids[0] > 3  # after every row of its actor
    meta = dict(conn.execute("SELECT key, value FROM statefleet_meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    # no AUTOINCREMENT counter to update per row; the index history reads by
    assert conn.execute("SELECT * FROM sqlite_sequence WHERE name = 'journal'").fetchall() == []
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT version, at, entry FROM journal WHERE actor_id = ?"
        " ORDER BY id DESC LIMIT 5",
        ("a",),
    ).fetchall()
    assert "USING INDEX journal_actor" in str(plan) and "TEMP B-TREE" not in str(plan), plan
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


async def _step(store: SQLiteStore, actor: str, version: int, event: str) -> int:
    """Commit the next version of ``actor`` with a journal entry named ``event``."""
    snap = msgspec.structs.replace(initial(), version=version + 1)
    commit = make_commit(actor, snap, previous=msgspec.structs.replace(snap, version=version))
    entry = JournalEntry(actor_id=actor, version=version + 1, event=event)
    await store.commit(msgspec.structs.replace(commit, journal=entry))
    return version + 1
