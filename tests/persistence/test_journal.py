"""The per-actor journal: every committed macrostep, written with its commit, kept by a
retention policy and read back with ``store.history``. Runs on MemoryStore (asyncio, trio),
SQLiteStore and PostgresStore."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import EventData, MacrostepRecord, PersistenceError
from statefleet.persistence import (
    JournalEntry,
    JournalPolicy,
    MemoryStore,
    PostgresStore,
    SQLiteStore,
    Store,
    VersionConflictError,
    make_commit,
)

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def journal_store(kind: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A factory of stores of this kind with store options (a journal policy)."""

    def make(**options: Any) -> Store:
        if kind[0] == "memory":
            return MemoryStore(**options)
        if kind[0] == "postgres":
            server = request.getfixturevalue("pg_server")
            schema = request.getfixturevalue("pg_schema")
            return PostgresStore(server.dsn, schema=schema, **options)
        return SQLiteStore(tmp_path / "fleet.db", **options)

    return make


async def test_history_lists_each_committed_macrostep(journal_store: Any) -> None:
    steps: list[MacrostepRecord] = []
    async with (
        journal_store() as store,
        ActorSystem(store=store, charts=[COUNTER], listeners=[_wants_steps(steps)]) as system,
    ):
        ref = system.ref(COUNTER, "order-1")
        await ref.ask("inc", amount=3)
        await ref.ask(EventData("arm", trace={"traceparent": TRACEPARENT}))
        await ref.ask("disarm")
        history = await store.history("order-1")
        assert await store.history("nobody") == []
    assert [e.event for e in history] == [None, "inc", "arm", "disarm"]
    assert [e.version for e in history] == sorted(e.version for e in history)
    assert history[1].data == '{"amount":3}'
    assert history[2].configuration_before == ("idle",)
    assert history[2].configuration_after == ("armed",)
    assert history[2].transitions  # the runtime built records: the transitions are there
    assert history[2].trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert history[3].configuration_after == ("idle",)
    assert all(e.actor_id == "order-1" and e.at > 0 for e in history)


async def test_retention_keeps_the_last_n_per_actor(journal_store: Any) -> None:
    async with (
        journal_store(journal=3) as store,
        ActorSystem(store=store, charts=[COUNTER]) as system,
    ):
        a, b = system.ref(COUNTER, "a"), system.ref(COUNTER, "b")
        for i in range(6):
            await a.ask("inc", i=i)
        await b.ask("inc", i=0)
        kept = await store.history("a")
        assert [e.data for e in kept] == ['{"i":3}', '{"i":4}', '{"i":5}']
        assert [e.event for e in await store.history("b")] == [None, "inc"]
        # paging backwards: the entries below a version
        older = await store.history("a", limit=1, before=kept[-1].version)
        assert older == [kept[-2]]


async def test_journal_off_keeps_nothing(journal_store: Any) -> None:
    async with (
        journal_store(journal=0) as store,
        ActorSystem(store=store, charts=[COUNTER]) as system,
    ):
        await system.ref(COUNTER, "a").ask("inc")
        assert await store.history("a") == []


async def test_a_refused_commit_writes_no_entry(journal_store: Any) -> None:
    async with journal_store() as store:
        snap = initial()
        await store.commit(make_commit("a", snap, previous=None))
        # expects no actor (there is one): refused, and its entry with it
        stale = msgspec.structs.replace(
            make_commit("a", snap, previous=None),
            journal=JournalEntry(actor_id="a", version=snap.version, event="x"),
        )
        with pytest.raises(VersionConflictError):
            await store.commit(stale)
        assert await store.history("a") == []


async def test_delete_forgets_the_journal(journal_store: Any) -> None:
    async with (
        journal_store() as store,
        ActorSystem(store=store, charts=[COUNTER]) as system,
    ):
        await system.ref(COUNTER, "a").ask("inc")
        assert await store.history("a")
    async with journal_store() as store:
        await store.delete("a")
        assert await store.history("a") == []


async def test_history_arguments_are_checked(journal_store: Any) -> None:
    async with journal_store() as store:
        with pytest.raises(ValueError, match="history limit"):
            await store.history("a", limit=-1)
        with pytest.raises(ValueError, match="history before"):
            await store.history("a", before="3")  # type: ignore[arg-type]


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="journal limit"):
        JournalPolicy(-1)
    with pytest.raises(ValueError, match="max_age"):
        JournalPolicy(5, max_age=0)
    with pytest.raises(ValueError, match="journal is a JournalPolicy"):
        MemoryStore(journal="lots")  # type: ignore[arg-type]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sqlite_corrupt_journal_row_is_a_persistence_error(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    async with SQLiteStore(path) as store, ActorSystem(store=store, charts=[COUNTER]) as system:
        await system.ref(COUNTER, "a").ask("inc")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE journal SET entry = x'c1c1'")
    async with SQLiteStore(path) as store:
        with pytest.raises(PersistenceError, match="journal entry of version"):
            await store.history("a")
        assert (await store.load("a")).record is not None  # the actor itself is untouched


def _wants_steps(out: list[MacrostepRecord]) -> Any:
    class Steps:
        record_types = (MacrostepRecord,)

        def __call__(self, record: Any) -> None:
            out.append(record)

    return Steps()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sqlite_max_age_drops_old_entries(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    policy = JournalPolicy(limit=4, max_age=3600)  # small: every commit trims
    async with (
        SQLiteStore(path, journal=policy) as store,
        ActorSystem(store=store, charts=[COUNTER]) as system,
    ):
        await system.ref(COUNTER, "a").ask("inc", i=1)
    with sqlite3.connect(path) as db:  # those entries were written two hours ago
        db.execute("UPDATE journal SET at = at - 7200")
    async with (
        SQLiteStore(path, journal=policy) as store,
        ActorSystem(store=store, charts=[COUNTER]) as system,
    ):
        assert await store.history("a") == []  # too old to be shown
        await system.ref(COUNTER, "a").ask("inc", i=2)
        assert [e.data for e in await store.history("a")] == ['{"i":2}']
    with sqlite3.connect(path) as db:  # and the actor's next commit deleted them
        assert db.execute("SELECT count(*) FROM journal").fetchone() == (1,)
