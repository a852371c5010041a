"""``system.query(chart=..., state=..., status=...)`` over the stores' chart index (issue 12
item 7): the store pages actor ids by chart id (and status) itself, on Memory, SQLite and
PostgreSQL; an older SQLite database gets the index when it is opened, its data kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart
from statefleet.persistence import SQLiteStore
from statefleet.persistence._schema import MIGRATIONS

CHART_INDEX = 4  # the migration that adds the chart index


def _chart(chart_id: str) -> Any:
    return compile_chart(
        ChartSpec(
            id=chart_id,
            states=[
                StateSpec(
                    id="open", transitions=[TransitionSpec(event=("close",), target=("shut",))]
                ),
                StateSpec(
                    id="shut", transitions=[TransitionSpec(event=("open",), target=("open",))]
                ),
            ],
        )
    )


@pytest.mark.anyio
async def test_query_by_chart_and_state_pages_through_the_chart_index(make_store: Any) -> None:
    door, gate = _chart("door"), _chart("gate")
    async with ActorSystem(store=make_store(), charts=[door, gate]) as system:
        for n in range(7):
            await system.ref(door if n % 3 else gate, f"a{n}").ask("close" if n % 2 else "open")
    async with ActorSystem(store=make_store(), charts=[door, gate]) as system:
        store = system.store
        assert store is not None
        # the store filters by chart (indexed), in id order, paged
        assert await store.actor_ids(chart="gate") == ["a0", "a3", "a6"]  # type: ignore[attr-defined]
        assert await store.actor_ids(chart="door", after="a2", limit=2) == ["a4", "a5"]  # type: ignore[attr-defined]
        assert await store.actor_ids(chart="door", status="active") == ["a1", "a2", "a4", "a5"]  # type: ignore[attr-defined]
        assert await store.actor_ids(chart="nope") == []  # type: ignore[attr-defined]
        doors = await system.query(chart="door", state="shut")
        assert [s.session_id for s in doors] == ["a1", "a5"]
        page = await system.query(chart="door", limit=3)
        assert [s.session_id for s in page] == ["a1", "a2", "a4"]
        rest = await system.query(chart="door", after="a4")
        assert [s.session_id for s in rest] == ["a5"]
        assert system.get("a1") is None  # nothing was activated


def test_an_older_sqlite_database_gets_the_chart_index(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE statefleet_meta (key TEXT PRIMARY KEY, value TEXT)")
    for version, statements in MIGRATIONS:
        if version < CHART_INDEX:
            for stmt in statements:
                conn.execute(stmt)
    conn.execute(
        "INSERT INTO statefleet_meta VALUES ('schema_version', ?)", (str(CHART_INDEX - 1),)
    )
    conn.commit()
    conn.close()

    async def open_it() -> None:
        async with SQLiteStore(db) as store:
            assert await store.actor_ids(chart="door") == []

    anyio.run(open_it)
    conn = sqlite3.connect(db)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM actors WHERE chart_id = ? AND id > ? ORDER BY id",
        ("door", ""),
    ).fetchall()
    conn.close()
    assert any("actors_chart" in str(row) for row in plan), plan
