"""What PostgresStore adds to the store contract (``test_store_contract`` runs that on it):
its own PostgreSQL schema and migrations, several stores (processes) writing one database,
a lost connection and a restarted server, and input PostgreSQL cannot hold."""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import msgspec
import pytest

from statefleet.core import EventData, PersistenceError, encode_snapshot
from statefleet.persistence import (
    ConnectionLostError,
    CorruptRecordError,
    PostgresStore,
    SchemaVersionError,
    VersionConflictError,
    make_commit,
)
from statefleet.persistence._pgserver import TempPostgres

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make(pg_server: TempPostgres, pg_schema: str) -> Any:
    def make(**options: Any) -> PostgresStore:
        options.setdefault("schema", pg_schema)
        return PostgresStore(pg_server.dsn, **options)

    return make


async def _admin(pg_server: TempPostgres) -> Any:
    return await asyncpg.connect(pg_server.dsn)


# -- schema --------------------------------------------------------------------------------
async def test_the_store_keeps_to_its_own_schema(
    make: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    async with make() as a, make(schema=pg_schema + "_other") as b:
        await a.commit(make_commit("x", initial(), previous=None))
        assert await b.count_actors() == 0
        assert (await b.load("x")).record is None
    conn = await _admin(pg_server)
    try:
        public = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    assert public == []


async def test_a_newer_schema_is_refused_and_left_alone(
    make: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    async with make() as store:
        await store.commit(make_commit("a", initial(), previous=None))
    conn = await _admin(pg_server)
    await conn.execute(
        f"UPDATE {pg_schema}.statefleet_meta SET value = '99' WHERE key = 'schema_version'"
    )
    with pytest.raises(SchemaVersionError, match="version 99 is newer") as info:
        async with make():
            pass
    assert info.value.found == 99
    assert await conn.fetchval(f"SELECT count(*) FROM {pg_schema}.actors") == 1
    await conn.close()


async def test_a_schema_holding_other_tables_is_refused(
    make: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    conn = await _admin(pg_server)
    await conn.execute(f"CREATE SCHEMA {pg_schema}")
    await conn.execute(f"CREATE TABLE {pg_schema}.payroll (id int)")
    with pytest.raises(PersistenceError, match=r"has tables \(payroll\) but no statefleet"):
        async with make():
            pass
    assert await conn.fetchval(f"SELECT count(*) FROM {pg_schema}.payroll") == 0
    await conn.close()


async def test_an_older_schema_is_migrated_forward_and_a_failed_migration_changes_nothing(
    make: Any, pg_server: TempPostgres, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from statefleet.persistence import _postgres

    async with make() as store:
        await store.commit(make_commit("a", initial(), previous=None))
    v1 = _postgres.PG_MIGRATIONS
    now, nxt = v1[-1][0], v1[-1][0] + 1  # the schema as stored, and one migration more
    broken = (*v1, (nxt, ("ALTER TABLE actors ADD COLUMN note TEXT", "SELECT no_such_function()")))
    monkeypatch.setattr(_postgres, "PG_MIGRATIONS", broken)
    monkeypatch.setattr(_postgres, "PG_SCHEMA_VERSION", nxt)
    with pytest.raises(PersistenceError, match="cannot prepare the schema"):
        async with make():
            pass
    conn = await _admin(pg_server)
    meta = f"SELECT value FROM {pg_schema}.statefleet_meta WHERE key = 'schema_version'"
    columns = (
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name = 'actors' AND column_name = 'note'"
    )
    assert await conn.fetchval(meta) == str(now)
    assert await conn.fetchval(columns, pg_schema) == 0  # all or nothing
    fixed = (*v1, (nxt, ("ALTER TABLE actors ADD COLUMN note TEXT",)))
    monkeypatch.setattr(_postgres, "PG_MIGRATIONS", fixed)
    async with make() as store:
        assert (await store.load("a")).record is not None
    assert await conn.fetchval(meta) == str(nxt)
    assert await conn.fetchval(columns, pg_schema) == 1
    await conn.close()


async def test_stores_opening_together_migrate_once(make: Any) -> None:
    opened: list[PostgresStore] = []
    all_open = anyio.Event()
    done = anyio.Event()

    async def hold(store: PostgresStore) -> None:
        async with store:
            opened.append(store)
            if len(opened) == 4:
                all_open.set()
            await done.wait()

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(hold, make())
        await all_open.wait()
        await opened[0].commit(make_commit("a", initial(), previous=None))
        assert await opened[3].actor_ids() == ["a"]
        done.set()


async def test_the_shard_count_is_fixed_when_the_schema_is_made(make: Any) -> None:
    async with make(shards=16) as store:
        assert store.shards == 16
    async with make() as store:
        assert store.shards == 16  # the stored count
    with pytest.raises(PersistenceError, match="has 16 shards; this store was told 32"):
        async with make(shards=32):
            pass


# -- several stores on one database ----------------------------------------------------------
async def test_two_stores_creating_one_actor_one_wins(make: Any) -> None:
    for round_ in range(5):
        aid = f"a{round_}"
        async with make() as a, make() as b:
            outcomes = await _race(
                a.commit_many([make_commit(aid, initial(who="a"), previous=None)]),
                b.commit_many([make_commit(aid, initial(who="b"), previous=None)]),
            )
            kinds = sorted(type(o[0]).__name__ for o in outcomes)
            assert kinds == ["CommitResult", "VersionConflictError"]
            loaded = await a.load(aid)
            assert loaded.record is not None
            winner = "a" if type(outcomes[0][0]).__name__ == "CommitResult" else "b"
            assert loaded.record.snapshot.context["who"] == winner


async def test_two_stores_updating_one_version_one_wins(make: Any) -> None:
    async with make() as a, make() as b:
        s0 = initial()
        await a.commit(make_commit("x", s0, previous=None))
        seq = await a.accept("x", EventData("inc"))
        s1 = COUNTER.transition(s0, "inc").snapshot
        outcomes = await _race(
            a.commit_many([make_commit("x", s1, previous=s0, consumed=[seq])]),
            b.commit_many(
                [
                    make_commit(
                        "x", s1, previous=s0, consumed=[seq], deliveries=[("y", EventData("z"))]
                    )
                ]
            ),
        )
        errors = [o[0] for o in outcomes if isinstance(o[0], PersistenceError)]
        assert len(errors) == 1
        assert isinstance(errors[0], VersionConflictError)
        loaded = await b.load("x")
        assert loaded.record is not None
        assert loaded.record.version == 1
        assert loaded.inbox == ()
        # the loser's delivery went nowhere: nothing of a refused commit is written
        delivered = len(await b.inbox("y"))
        assert delivered == (0 if isinstance(outcomes[1][0], PersistenceError) else 1)


async def _race(*calls: Any) -> list[Any]:
    out: list[Any] = [None] * len(calls)

    async def run(i: int, call: Any) -> None:
        out[i] = await call

    async with anyio.create_task_group() as tg:
        for i, c in enumerate(calls):
            tg.start_soon(run, i, c)
    return out


async def test_seqs_from_two_stores_never_collide(make: Any) -> None:
    async with make() as a, make() as b:
        got = await _race(
            a.accept_many([("x", EventData("a", {"i": i})) for i in range(100)]),
            b.accept_many([("x", EventData("b", {"i": i})) for i in range(100)]),
        )
        seqs = got[0] + got[1]
        assert len(set(seqs)) == 200
        assert got[0] == sorted(got[0])
        assert got[1] == sorted(got[1])
        assert [e.seq for e in await a.inbox("x")] == sorted(seqs)


# -- lost connections --------------------------------------------------------------------------
async def test_a_killed_connection_is_made_again_and_nothing_is_lost(
    make: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    async with make() as store:
        s0 = initial()
        await store.commit(make_commit("a", s0, previous=None))
        conn = await _admin(pg_server)
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'statefleet' AND pid <> pg_backend_pid()"
        )
        await conn.close()
        assert killed >= 2  # the writer and the readers
        s1 = COUNTER.transition(s0, "inc").snapshot
        await store.commit(make_commit("a", s1, previous=s0))
        seq = await store.accept("a", EventData("inc"))
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.version == 1
        assert [e.seq for e in loaded.inbox] == [seq]
        assert store.stats["reconnects"] >= 1


async def test_a_restarted_server_loses_nothing_acknowledged(
    make: Any, pg_server: TempPostgres
) -> None:
    acked: list[int] = []
    errors: list[BaseException] = []
    sent = 0
    restarted = anyio.Event()
    async with make(reconnect_timeout=60.0) as store:

        async def sender(n: int) -> None:
            nonlocal sent
            i = 0
            while not restarted.is_set() or i < 20:  # before, during and after the restart
                sent += 1
                try:
                    acked.append(await store.accept(f"a{n}", EventData("inc", {"i": i})))
                except PersistenceError as exc:
                    errors.append(exc)
                i += 1

        async def restart() -> None:
            await anyio.to_thread.run_sync(pg_server.restart)
            restarted.set()

        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(sender, n)
            tg.start_soon(restart)
        pending = {e.seq for n in range(5) for e in await store.inbox(f"a{n}")}
        assert store.stats["reconnects"] >= 1  # the restart did cut the store off
    # a batch cut off before COMMIT is written again; one cut off during COMMIT is settled
    # by asking the database (txid_status): no caller sees the restart
    assert errors == []
    assert set(acked) <= pending
    assert len(acked) == sent


async def test_a_connection_cut_during_commit_asks_the_database_what_happened(
    make: Any, pg_server: TempPostgres
) -> None:
    # COMMIT waits for a synchronous standby that does not exist: the commit is written
    # locally and the backend waits; the test cuts it off right there
    admin = await _admin(pg_server)
    await admin.execute("SET synchronous_commit = local")
    await admin.execute("ALTER ROLE postgres SET synchronous_commit = 'on'")  # new sessions
    try:
        s0 = initial()
        async with make() as store:
            await store.commit(make_commit("a", s0, previous=None))
        await admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
        await admin.execute("SELECT pg_reload_conf()")
        with anyio.fail_after(30):  # the reload reaches new sessions (polls the server)
            while await _setting(pg_server, "synchronous_standby_names") != "nobody":
                await anyio.sleep(0.01)
        async with make() as store:
            s1 = COUNTER.transition(s0, "inc").snapshot
            result: list[Any] = []

            async def commit() -> None:
                result.append(await store.commit(make_commit("a", s1, previous=s0)))

            async with anyio.create_task_group() as tg:
                tg.start_soon(commit)
                with anyio.fail_after(30):
                    while not (
                        pid := await admin.fetchval(
                            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                        )
                    ):
                        await anyio.sleep(0.01)  # polls the server for the waiting COMMIT
                await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                await admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
                await admin.execute("SELECT pg_reload_conf()")
            # the transaction had committed: the store found out and acknowledged it
            assert [r.version for r in result] == [1]
            loaded = await store.load("a")
            assert loaded.record is not None and loaded.record.version == 1
            assert store.stats["reconnects"] >= 1
    finally:
        await admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
        await admin.execute("ALTER ROLE postgres RESET synchronous_commit")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.close()
        with anyio.fail_after(30):  # later tests' sessions commit without waiting
            while await _setting(pg_server, "synchronous_standby_names") != "":
                await anyio.sleep(0.01)


async def _setting(pg_server: TempPostgres, name: str) -> str:
    """A setting as a new session sees it."""
    conn = await _admin(pg_server)
    try:
        value: str = await conn.fetchval("SELECT current_setting($1)", name)
    finally:
        await conn.close()
    return value


async def test_a_server_down_too_long_is_a_typed_error_and_the_store_recovers(
    make: Any, pg_server: TempPostgres
) -> None:
    async with make(reconnect_timeout=0.3) as store:
        s0 = initial()
        await store.commit(make_commit("a", s0, previous=None))
        s1 = COUNTER.transition(s0, "inc").snapshot
        pg_server.halt()
        try:
            with pytest.raises(ConnectionLostError, match="nothing of the write") as info:
                await store.commit(make_commit("a", s1, previous=s0))
            assert not info.value.uncertain
            with pytest.raises(ConnectionLostError, match="while reading"):
                await store.load("a")
        finally:
            pg_server.resume()
        await store.commit(make_commit("a", s1, previous=s0))  # nothing of it was written
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.version == 1


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    store = PostgresStore(
        "postgresql://fleet:s3cret@/fleet?host=/nonexistent-folder", connect_timeout=2.0
    )
    with pytest.raises(PersistenceError, match="cannot connect to PostgreSQL") as info:
        async with store:
            pass
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(store)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://fleet:s3cret@db.internal:5432/app?sslmode=require",
        "postgresql://fleet@db.internal/app?password=s3cret&sslmode=require",
        "host=db.internal user=fleet password=s3cret dbname=app",
    ],
)
def test_the_password_never_shows(dsn: str) -> None:
    store = PostgresStore(dsn)
    assert "s3cret" not in repr(store)
    assert "s3cret" not in store.where
    assert "db.internal" in store.where


# -- input PostgreSQL cannot hold ---------------------------------------------------------------
async def test_ids_postgresql_cannot_store_are_refused_alone(make: Any) -> None:
    async with make() as store:
        with pytest.raises(ValueError, match="NUL"):
            await store.accept("a\x00b", EventData("x"))
        with pytest.raises(ValueError, match="not valid Unicode"):
            await store.commit(make_commit("a\ud800", initial(), previous=None))
        with pytest.raises(ValueError, match="NUL"):
            await store.commit(
                make_commit("a", initial(), previous=None, deliveries=[("b\x00", EventData("x"))])
            )
        assert await store.count_actors() == 0
        assert await store.pending_actors() == []
        # events and snapshots are bytes: any text inside them is fine
        await store.accept("a", EventData("x\x00y", {"k\x00": "v\x00"}))
        (ev,) = await store.inbox("a")
        assert ev.event.data == {"k\x00": "v\x00"}


@pytest.mark.parametrize("schema", ["public; DROP TABLE x", "Fleet", "", "a" * 41, "1fleet", 'x"y'])
def test_a_bad_schema_name_is_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="schema must be a lower-case identifier"):
        PostgresStore("postgresql:///x", schema=schema)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="dsn"):
        PostgresStore("")
    with pytest.raises(ValueError, match="shards"):
        PostgresStore("postgresql:///x", shards=0)
    with pytest.raises(ValueError, match="lease_time"):
        PostgresStore("postgresql:///x", lease_time=float("nan"))
    with pytest.raises(ValueError, match="node"):
        PostgresStore("postgresql:///x", node="a\x00")


async def test_an_undecodable_inbox_event_goes_to_the_dead_letters(
    make: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    async with make() as store:
        bad = await store.accept("a", EventData("x"))
        good = await store.accept("a", EventData("y"))
        conn = await _admin(pg_server)
        await conn.execute(f"UPDATE {pg_schema}.inbox SET event = '\\xc1' WHERE seq = $1", bad)
        await conn.close()
        loaded = await store.load("a")
        assert [e.seq for e in loaded.inbox] == [good]
        (letter,) = await store.dead_letters("a")
        assert (letter.kind, letter.payload) == ("event", b"\xc1")
        assert f"inbox event {bad}" in letter.reason


# -- rows broken by another client; the caller's own exception ----------------------------------
def _deep_snapshot(depth: int) -> bytes:
    """A snapshot whose context holds a list nested ``depth`` deep (valid msgpack)."""
    head = encode_snapshot(
        msgspec.structs.replace(initial(), context={}, version=0)  # the row's chart and version
    )
    return head.replace(b"\xa7context\x80", b"\xa7context\x81\xa1n" + b"\x91" * depth + b"\xc0")


ROW_TAMPERING = {
    "deeply-nested-msgpack": ("UPDATE {s}.actors SET snapshot = $1 WHERE id = 'bad'", "deep"),
    "truncated": (
        "UPDATE {s}.actors SET snapshot = substr(snapshot, 1, 20) WHERE id = 'bad'",
        None,
    ),
    "version-disagrees": ("UPDATE {s}.actors SET version = 7 WHERE id = 'bad'", None),
    "format-from-the-future": ("UPDATE {s}.actors SET format = 99 WHERE id = 'bad'", None),
    "status-disagrees": ("UPDATE {s}.actors SET status = 'done' WHERE id = 'bad'", None),
    "chart-version-disagrees": ("UPDATE {s}.actors SET chart_version = '9' WHERE id = 'bad'", None),
}


@pytest.mark.parametrize("case", list(ROW_TAMPERING))
async def test_a_row_that_cannot_be_decoded_fails_that_actor_only(
    make: Any, pg_server: TempPostgres, pg_schema: str, case: str
) -> None:
    async with make() as store:
        for aid in ("bad", "good"):
            await store.commit(make_commit(aid, initial(), previous=None))
    sql, arg = ROW_TAMPERING[case]
    conn = await _admin(pg_server)
    args = (_deep_snapshot(300_000),) if arg == "deep" else ()
    await conn.execute(sql.format(s=pg_schema), *args)
    await conn.close()
    async with make() as store:
        results = await store.load_many(["bad", "good"])
        assert isinstance(results["bad"], PersistenceError)
        good = results["good"]
        assert not isinstance(good, PersistenceError) and good.record is not None
        if case != "format-from-the-future":  # a newer statefleet's row is left alone
            assert isinstance(results["bad"], CorruptRecordError)
            (letter,) = await store.dead_letters("bad")
            assert letter.kind == "snapshot"
            assert await store.count_actors("quarantined") == 1
        # the store (and its load worker) carry on
        assert (await store.load("good")).record is not None


@pytest.mark.parametrize("error", [ValueError("mine"), KeyError("k")])
async def test_the_blocks_own_exception_leaves_async_with_as_itself(
    make: Any, error: Exception
) -> None:
    with pytest.raises(type(error)) as caught:
        async with make() as store:
            await store.commit(make_commit("a", initial(n=1), previous=None))
            raise error
    assert caught.value is error
    async with make() as store:  # closed properly: it opens again, commit kept
        assert (await store.load("a")).record is not None


def test_trio_gets_a_clear_error(pg_server: TempPostgres, pg_schema: str) -> None:
    async def open_it() -> None:
        async with PostgresStore(pg_server.dsn, schema=pg_schema):
            pass

    with pytest.raises(PersistenceError, match="asyncio only"):
        anyio.run(open_it, backend="trio")
