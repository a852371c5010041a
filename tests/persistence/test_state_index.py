"""``system.query(state=...)`` and ``store.actor_ids(state=...)`` over the stores' state index
(issue 12 item 7): every active state of each committed snapshot (compound ancestors
included) is indexed in the commit's own transaction and forgotten with the actor, on Memory,
SQLite and PostgreSQL; an older database is backfilled from its stored snapshots when it is
opened, a row that cannot be decoded skipped (loading it quarantines it)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart
from statefleet.persistence import SCHEMA_VERSION, CorruptRecordError, PostgresStore, SQLiteStore
from statefleet.persistence._pgserver import TempPostgres
from statefleet.persistence._rows import actor_ids_query

LAMP = compile_chart(
    ChartSpec(
        id="lamp",
        states=[
            StateSpec(id="off", transitions=[TransitionSpec(event=("power",), target=("on",))]),
            StateSpec(
                id="on",
                initial=("low",),
                transitions=[TransitionSpec(event=("power",), target=("off",))],
                children=[
                    StateSpec(
                        id="low", transitions=[TransitionSpec(event=("up",), target=("high",))]
                    ),
                    StateSpec(
                        id="high",
                        transitions=[TransitionSpec(event=("down",), target=("low",))],
                    ),
                ],
            ),
        ],
    )
)
FAN = compile_chart(
    ChartSpec(
        id="fan",
        states=[
            StateSpec(id="on", transitions=[TransitionSpec(event=("power",), target=("off",))]),
            StateSpec(id="off"),
        ],
    )
)


async def _lamps(system: ActorSystem) -> None:
    """l0 off, l1 on/low, l2 on/high, l3 off, l4 on/low; fan f0 on, f1 off."""
    for n, events in enumerate([[], ["power"], ["power", "up"], [], ["power"]]):
        ref = system.ref(LAMP, f"l{n}")
        await ref.ask("noop")
        for event in events:
            await ref.ask(event)
    await system.ref(FAN, "f0").ask("noop")
    await system.ref(FAN, "f1").ask("power")


@pytest.mark.anyio
async def test_actors_are_found_by_atomic_and_compound_state_as_committed(
    make_store: Any,
) -> None:
    async with ActorSystem(store=make_store(), charts=[LAMP, FAN]) as system:
        await _lamps(system)
    async with ActorSystem(store=make_store(), charts=[LAMP, FAN]) as system:
        store: Any = system.store
        assert await store.actor_ids(state="low") == ["l1", "l4"]
        assert await store.actor_ids(state="high") == ["l2"]
        # a compound state matches every actor inside it, of any chart with that state id
        assert await store.actor_ids(state="on") == ["f0", "l1", "l2", "l4"]
        assert await store.actor_ids(state="on", chart="lamp") == ["l1", "l2", "l4"]
        assert await store.actor_ids(state="on", chart="lamp", status="active") == [
            "l1",
            "l2",
            "l4",
        ]
        assert await store.actor_ids(state="on", status="done") == []
        assert await store.actor_ids(state="on", after="f0", limit=2) == ["l1", "l2"]
        assert await store.actor_ids(state="on", after="l2", limit=2) == ["l4"]
        assert await store.actor_ids(state="nowhere") == []
        found = await system.query(state="on", chart="lamp", limit=2)
        assert [s.session_id for s in found] == ["l1", "l2"]
        found = await system.query(state="on", chart="lamp", after="l2")
        assert [s.session_id for s in found] == ["l4"]
        assert system.get("l1") is None  # nothing was activated to answer

        # after transitions the old states no longer match, the new ones do
        await system.ref(LAMP, "l1").ask("up")
        await system.ref(LAMP, "l2").ask("power")
        await system.ref(LAMP, "l0").ask("power")
        assert await store.actor_ids(state="low") == ["l0", "l4"]
        assert await store.actor_ids(state="high") == ["l1"]
        assert await store.actor_ids(state="off", chart="lamp") == ["l2", "l3"]
        assert await store.actor_ids(state="on", chart="lamp") == ["l0", "l1", "l4"]
        found = await system.query(state="high")
        assert [s.session_id for s in found] == ["l1"]

        # a deleted actor is forgotten by the index too (l4 is not in memory)
        await store.delete("l4")
        assert await store.actor_ids(state="low") == ["l0"]
        assert await store.actor_ids(state="on", chart="lamp") == ["l0", "l1"]
        # made again under the same id: indexed from its new snapshot only
        await system.ref(LAMP, "l4").ask("noop")
        assert await store.actor_ids(state="off", chart="lamp") == ["l2", "l3", "l4"]
        assert await store.actor_ids(state="low") == ["l0"]


def _sqlite_plan(db: Path, state: str) -> str:
    sql, params = actor_ids_query(None, None, state, "", "?")
    conn = sqlite3.connect(db)
    plan = conn.execute(f"EXPLAIN QUERY PLAN {sql} LIMIT 10", params).fetchall()
    conn.close()
    return str(plan)


def test_an_older_sqlite_database_is_backfilled_from_its_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "old.db"

    async def fill() -> None:
        async with ActorSystem(store=SQLiteStore(db), charts=[LAMP, FAN]) as system:
            await _lamps(system)

    anyio.run(fill)
    # the file as schema 4 left it: no state index; one row that cannot be decoded
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE actor_states")
    conn.execute("UPDATE statefleet_meta SET value = '4' WHERE key = 'schema_version'")
    conn.execute("INSERT INTO actors VALUES ('l9', 'lamp', '', 1, 'active', 1, X'C1C1', 0.0, 0.0)")
    conn.commit()
    conn.close()

    async def check() -> None:
        async with ActorSystem(store=SQLiteStore(db), charts=[LAMP, FAN]) as system:
            store: Any = system.store
            assert await store.actor_ids(state="on", chart="lamp") == ["l1", "l2", "l4"]
            assert await store.actor_ids(state="high") == ["l2"]
            assert await store.actor_ids(state="off") == ["f1", "l0", "l3"]
            with pytest.raises(CorruptRecordError):  # left to the quarantine path
                await store.load("l9")
            await system.ref(LAMP, "l0").ask("power")  # commits keep the index up to date
            assert await store.actor_ids(state="low") == ["l0", "l1", "l4"]

    anyio.run(check)
    conn = sqlite3.connect(db)
    meta = "SELECT value FROM statefleet_meta WHERE key = 'schema_version'"
    assert conn.execute(meta).fetchone() == (str(SCHEMA_VERSION),)
    conn.close()
    # the ids come from the index (state, then id: the page's cursor), never a scan
    plan = _sqlite_plan(db, "on")
    assert "SEARCH s USING PRIMARY KEY (state_id=? AND actor_id>?)" in plan, plan
    assert "SCAN" not in plan, plan


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_older_postgres_schema_is_backfilled_from_its_snapshots(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    def make() -> PostgresStore:
        return PostgresStore(pg_server.dsn, schema=pg_schema)

    async with ActorSystem(store=make(), charts=[LAMP, FAN]) as system:
        await _lamps(system)
    conn = await asyncpg.connect(pg_server.dsn)
    try:
        await conn.execute(f"DROP TABLE {pg_schema}.actor_states")
        await conn.execute(
            f"UPDATE {pg_schema}.statefleet_meta SET value = '3' WHERE key = 'schema_version'"
        )
        await conn.execute(
            f"INSERT INTO {pg_schema}.actors VALUES"
            " ('l9', 0, 'lamp', '', 1, 'active', 1, '\\xc1c1'::bytea, 0, 0)"
        )
    finally:
        await conn.close()
    async with ActorSystem(store=make(), charts=[LAMP, FAN]) as system:
        store: Any = system.store
        assert await store.actor_ids(state="on", chart="lamp") == ["l1", "l2", "l4"]
        assert await store.actor_ids(state="off") == ["f1", "l0", "l3"]
        with pytest.raises(CorruptRecordError):
            await store.load("l9")


def test_inspect_filters_by_state_on_the_index_and_on_an_older_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "lamps.db"

    async def fill() -> None:
        async with ActorSystem(store=SQLiteStore(db), charts=[LAMP, FAN]) as system:
            await _lamps(system)

    anyio.run(fill)

    def listing() -> tuple[list[str], int]:
        assert main(["inspect", str(db), "--state", "on", "--limit", "2", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        return [r["id"] for r in out["actors"]], out["matched"]

    assert listing() == (["f0", "l1"], 4)
    # a schema-4 file (inspect opens it read-only: not migrated) is filtered by decoding
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE actor_states")
    conn.execute("UPDATE statefleet_meta SET value = '4' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert listing() == (["f0", "l1"], 4)
