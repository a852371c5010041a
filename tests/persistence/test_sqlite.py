"""SQLiteStore specifics: schema and migrations, the one-writer lock across processes,
corrupt rows, a full disk, group commit, and bad configuration."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio

from statefleet.core import EventData, PersistenceError, encode_snapshot
from statefleet.persistence import (
    SCHEMA_VERSION,
    CorruptRecordError,
    SchemaVersionError,
    SQLiteStore,
    StoreLockedError,
    make_commit,
)
from statefleet.persistence._schema import MIGRATIONS

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore is asyncio-only


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "fleet.db"


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _integrity(path: Path) -> str:
    with _raw(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


# -- schema ---------------------------------------------------------------------------------
async def test_a_new_database_gets_the_current_schema_in_wal_mode(db: Path) -> None:
    async with SQLiteStore(db):
        pass
    conn = _raw(db)
    version = conn.execute("SELECT value FROM statefleet_meta WHERE key='schema_version'")
    assert int(version.fetchone()[0]) == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"actors", "inbox", "timers", "outbox", "dead_letters"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert _integrity(db) == "ok"


async def test_an_older_database_is_migrated_forward_keeping_its_data(db: Path) -> None:
    snap = initial(kept=True)
    conn = _raw(db)
    conn.execute("CREATE TABLE statefleet_meta (key TEXT PRIMARY KEY, value TEXT)")
    for stmt in MIGRATIONS[0][1]:
        conn.execute(stmt)
    conn.execute("INSERT INTO statefleet_meta VALUES ('schema_version', '1')")
    conn.execute(
        "INSERT INTO actors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("old", "counter", "1", 0, "active", 1, encode_snapshot(snap), 1.0, 1.0),
    )
    conn.close()
    async with SQLiteStore(db) as store:
        loaded = await store.load("old")
        assert loaded.record is not None
        assert loaded.record.snapshot == snap
        assert await store.actor_ids(status="active") == ["old"]
    conn = _raw(db)
    assert conn.execute(
        "SELECT value FROM statefleet_meta WHERE key='schema_version'"
    ).fetchone() == (str(SCHEMA_VERSION),)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "actors_status" in indexes
    conn.close()


async def test_a_database_from_a_newer_statefleet_is_refused_untouched(db: Path) -> None:
    async with SQLiteStore(db) as store:
        await store.commit(make_commit("a", initial(), previous=None))
    conn = _raw(db)
    conn.execute(
        "UPDATE statefleet_meta SET value = ? WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION + 1),),
    )
    conn.close()
    with pytest.raises(SchemaVersionError) as info:
        async with SQLiteStore(db):
            pass
    assert info.value.found == SCHEMA_VERSION + 1
    assert info.value.supported == SCHEMA_VERSION
    assert f"schema version {SCHEMA_VERSION + 1} is newer" in str(info.value)
    assert str(db) in str(info.value)
    conn = _raw(db)
    assert conn.execute("SELECT count(*) FROM actors").fetchone() == (1,)
    conn.close()
    # the lock was released: after fixing the version, it opens
    conn = _raw(db)
    conn.execute(
        "UPDATE statefleet_meta SET value = ? WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION),),
    )
    conn.close()
    async with SQLiteStore(db) as store:
        assert await store.count_actors() == 1


async def test_a_file_that_is_not_a_database_is_refused(db: Path) -> None:
    db.write_bytes(b"this is not sqlite at all, just some bytes" * 100)
    with pytest.raises(PersistenceError, match="not a usable SQLite database"):
        async with SQLiteStore(db):
            pass
    assert db.read_bytes().startswith(b"this is not sqlite")


async def test_a_database_of_another_application_is_refused(db: Path) -> None:
    conn = _raw(db)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(PersistenceError, match=r"has tables \(users\) but no statefleet"):
        async with SQLiteStore(db):
            pass


def test_bad_options_are_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="durability is 'full' or 'normal'"):
        SQLiteStore(db, durability="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a file path"):
        SQLiteStore(":memory:")
    with pytest.raises(ValueError, match="max_batch"):
        SQLiteStore(db, max_batch=0)
    with pytest.raises(ValueError, match="max_delay"):
        SQLiteStore(db, max_delay=-1)
    with pytest.raises(ValueError, match="busy_timeout"):
        SQLiteStore(db, busy_timeout=float("nan"))


def test_sqlite_store_refuses_trio_clearly(db: Path) -> None:
    async def main() -> None:
        async with SQLiteStore(db):
            pass

    with pytest.raises(PersistenceError, match="asyncio only"):
        trio.run(main)
    assert not db.exists()


# -- one writer -----------------------------------------------------------------------------
async def test_a_second_store_in_the_same_process_is_refused(db: Path) -> None:
    async with SQLiteStore(db) as store:
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}") as info:
            async with SQLiteStore(db):
                pass
        assert info.value.path == str(db)
        await store.commit(make_commit("a", initial(), previous=None))  # still works
    async with SQLiteStore(db) as store:  # released on close
        assert await store.count_actors() == 1


_OPEN_IN_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from statefleet.persistence import SQLiteStore, StoreLockedError

    async def main():
        try:
            async with SQLiteStore(sys.argv[1]):
                print("opened", flush=True)
                if len(sys.argv) > 2:
                    sys.stdin.readline()  # hold it until killed
        except StoreLockedError as exc:
            print("locked:", exc, flush=True)

    asyncio.run(main())
    """
)


def _child(db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _OPEN_IN_CHILD, str(db), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_second_process_opening_for_writing_gets_a_clear_error(db: Path) -> None:
    async with SQLiteStore(db):
        proc = _child(db)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("locked: ")
    assert f"already open for writing by pid {os.getpid()}" in out
    assert "one writer" in out


async def test_the_lock_of_a_killed_process_is_released(db: Path) -> None:
    proc = _child(db, "hold")
    assert proc.stdout is not None
    assert proc.stdout.readline() == "opened\n"
    with pytest.raises(StoreLockedError, match=f"pid {proc.pid}"):
        async with SQLiteStore(db):
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdin.close()  # type: ignore[union-attr]
    proc.stdout.close()
    proc.stderr.close()  # type: ignore[union-attr]
    async with SQLiteStore(db) as store:
        assert await store.count_actors() == 0


# -- corrupt rows ---------------------------------------------------------------------------
async def test_a_corrupt_snapshot_quarantines_that_actor_only(db: Path) -> None:
    async with SQLiteStore(db) as store:
        for aid in ("garbage", "wrong-shape", "mismatch", "fine"):
            await store.commit(make_commit(aid, initial(), previous=None))
        await store.accept("garbage", EventData("inc"))
    conn = _raw(db)
    conn.execute("UPDATE actors SET snapshot = x'deadbeef' WHERE id = 'garbage'")
    conn.execute("UPDATE actors SET snapshot = x'93010203' WHERE id = 'wrong-shape'")
    conn.execute("UPDATE actors SET version = 7 WHERE id = 'mismatch'")
    conn.close()
    async with SQLiteStore(db) as store:
        results = await store.load_many(["garbage", "wrong-shape", "mismatch", "fine"])
        for aid in ("garbage", "wrong-shape", "mismatch"):
            err = results[aid]
            assert isinstance(err, CorruptRecordError), aid
            assert err.actor_id == aid
            assert err.dead_letter is not None
        assert "corrupt snapshot" in str(results["garbage"])
        assert "the row says 'counter' version 7" in str(results["mismatch"])
        fine = results["fine"]
        assert not isinstance(fine, PersistenceError)
        assert fine.record is not None
        letters = await store.dead_letters("garbage")
        assert [(d.kind, d.payload) for d in letters] == [("snapshot", b"\xde\xad\xbe\xef")]
        # quarantined for good: a later load says so, without a second dead letter
        with pytest.raises(CorruptRecordError, match="quarantined earlier"):
            await store.load("garbage")
        assert len(await store.dead_letters("garbage")) == 1
        assert [e.event.name for e in await store.inbox("garbage")] == ["inc"]  # not lost
        assert await store.count_actors("quarantined") == 3
        # the others carry on
        s0 = initial()
        await store.commit(make_commit("fine", COUNTER.transition(s0, "inc").snapshot, previous=s0))
    assert _integrity(db) == "ok"


async def test_a_corrupt_inbox_event_goes_to_the_dead_letters(db: Path) -> None:
    async with SQLiteStore(db) as store:
        await store.commit(make_commit("a", initial(), previous=None))
        bad = await store.accept("a", EventData("first"))
        good = await store.accept("a", EventData("second"))
    conn = _raw(db)
    conn.execute("UPDATE inbox SET event = x'c1' WHERE seq = ?", (bad,))
    conn.close()
    async with SQLiteStore(db) as store:
        loaded = await store.load("a")
        assert [e.seq for e in loaded.inbox] == [good]
        assert loaded.record is not None
        (letter,) = await store.dead_letters("a")
        assert letter.kind == "event"
        assert f"inbox event {bad}" in letter.reason
        assert letter.payload == b"\xc1"
        assert [e.seq for e in await store.inbox("a")] == [good]
        assert len(await store.dead_letters()) == 1


async def test_a_snapshot_from_a_newer_format_is_refused_not_quarantined(db: Path) -> None:
    async with SQLiteStore(db) as store:
        await store.commit(make_commit("a", initial(), previous=None))
    conn = _raw(db)
    conn.execute("UPDATE actors SET format = 99")
    conn.close()
    async with SQLiteStore(db) as store:
        with pytest.raises(PersistenceError, match="snapshot format 99 is newer"):
            await store.load("a")
        assert await store.dead_letters() == []
        assert await store.count_actors("active") == 1


# -- a failing disk -------------------------------------------------------------------------
async def test_a_full_disk_fails_the_batch_and_loses_nothing_acknowledged(db: Path) -> None:
    acked: list[str] = []
    failed: list[str] = []
    async with SQLiteStore(db) as store:
        for i in range(20):
            await store.commit(make_commit(f"ok{i}", initial(i=i), previous=None))
            acked.append(f"ok{i}")
        seq = await store.accept("ok0", EventData("kept"))
        conn = store._db
        assert conn is not None
        # the store's writer connection (a sqlite3 connection in its own thread)
        ((pages,),) = await conn.call(_fetch, "PRAGMA page_count")
        await conn.call(_fetch, f"PRAGMA max_page_count = {pages}")

        async def big(i: int) -> None:
            aid = f"big{i}"
            try:
                await store.commit(make_commit(aid, initial(blob="x" * 20_000), previous=None))
                acked.append(aid)
            except PersistenceError as exc:
                assert "database or disk is full" in str(exc)
                failed.append(aid)

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(big, i)
        assert failed, "the full disk was not reported"
        with pytest.raises(PersistenceError, match="disk is full"):
            await store.accept("ok1", EventData("x" * 50_000))
        assert store.stats["failures"] >= 1
        # room again: the store keeps working
        await conn.call(_fetch, "PRAGMA max_page_count = 1073741823")
        await store.commit(make_commit("after", initial(), previous=None))
        acked.append("after")
    async with SQLiteStore(db) as store:
        stored = set(await store.actor_ids(limit=100))
        assert set(acked) <= stored
        assert not set(failed) & stored
        assert [e.seq for e in await store.inbox("ok0")] == [seq]
        assert await store.inbox("ok1") == []
    assert _integrity(db) == "ok"


# -- group commit ---------------------------------------------------------------------------
async def test_concurrent_commits_share_transactions(db: Path) -> None:
    n = 400
    results: list[Any] = []
    async with SQLiteStore(db, durability="full") as store:

        async def one(i: int) -> None:
            results.append(await store.commit(make_commit(f"a{i}", initial(), previous=None)))

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
        assert len(results) == n
        assert store.stats["commits"] == n
        assert store.stats["batches"] < n / 10
        assert max(r.batch_size for r in results) > 10
        assert await store.count_actors() == n


async def test_max_batch_bounds_a_transaction(db: Path) -> None:
    results: list[Any] = []
    async with SQLiteStore(db, max_batch=8, max_delay=0.001) as store:

        async def one(i: int) -> None:
            results.append(await store.commit(make_commit(f"a{i}", initial(), previous=None)))

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(one, i)
        assert max(r.batch_size for r in results) <= 8
        assert store.stats["batches"] >= 50 / 8
        assert await store.count_actors() == 50


async def test_a_delivery_is_consumed_by_the_targets_commit(db: Path) -> None:
    async with SQLiteStore(db) as store:
        s0 = initial()
        await store.commit(make_commit("a", s0, previous=None))
        s1 = COUNTER.transition(s0, "inc").snapshot
        r = await store.commit(
            make_commit("a", s1, previous=s0, deliveries=[("b", EventData("inc"))])
        )
        (seq,) = r.deliveries
        assert [e.seq for e in await store.inbox("b")] == [seq]
        await store.commit(make_commit("b", initial(), previous=None, consumed=[seq]))
        assert await store.inbox("b") == []
    assert _integrity(db) == "ok"


async def test_an_accept_and_its_consuming_commit_in_one_batch(db: Path) -> None:
    async with SQLiteStore(db) as store:
        predicted = store._seq + 1  # white box: the writer assigns seqs in call order
        seqs: list[int] = []

        async def accept() -> None:
            seqs.append(await store.accept("b", EventData("inc")))

        async with anyio.create_task_group() as tg:
            tg.start_soon(accept)
            tg.start_soon(
                store.commit, make_commit("b", initial(), previous=None, consumed=[predicted])
            )
        assert seqs == [predicted]
        assert store.stats["batches"] == 1
        assert await store.inbox("b") == []
        assert await store.pending_actors() == []
    assert _integrity(db) == "ok"


def _fetch(db: sqlite3.Connection, sql: str) -> list[Any]:
    return db.execute(sql).fetchall()
