"""``statefleet migrate``: stored actors moved to a new chart version, or a dry run saying
what would move and what would fail, on a real SQLite file and on a real PostgreSQL schema
(the session's throwaway server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.persistence import PostgresStore, SQLiteStore, Store
from tests.persistence._pg import pg_schema, pg_server

from ._migrate_charts import order_v1, order_v2

__all__ = ["pg_schema", "pg_server"]  # fixtures

CHARTS = "tests.cli._migrate_charts"


@dataclass
class Fleet:
    """Where the fleet is stored: the command's DB arguments and a way to open the store."""

    args: list[str]
    dsn: str = ""
    schema: str = ""
    path: Path | None = None

    def open(self) -> Store:
        if self.path is not None:
            return SQLiteStore(self.path)
        return PostgresStore(self.dsn, schema=self.schema)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Fleet:
    if request.param == "sqlite":
        path = tmp_path / "orders.db"
        return Fleet([str(path)], path=path)
    server = request.getfixturevalue("pg_server")
    schema = request.getfixturevalue("pg_schema")
    return Fleet([server.dsn, "--schema", schema], dsn=server.dsn, schema=schema)


def _fleet(db: Fleet) -> None:
    """a-1 pending, a-2 shipped, a-3 legacy (which version 2 does not have), on version 1."""

    async def make() -> None:
        v1 = order_v1()
        async with ActorSystem(store=db.open(), charts=[v1]) as system:
            await system.ref(v1, "a-1").ask("back")  # stays pending (no transition)
            await system.ref(v1, "a-2").ask("ship")
            await system.ref(v1, "a-3").ask("old")

    anyio.run(make)


def _stored(db: Fleet) -> dict[str, tuple[str, tuple[str, ...]]]:
    async def read() -> dict[str, tuple[str, tuple[str, ...]]]:
        async with db.open() as store:
            ids = await store.actor_ids()
            out = {}
            for aid, loaded in (await store.load_many(ids)).items():
                snap = loaded.record.snapshot  # type: ignore[union-attr]
                out[aid] = (snap.chart_version, snap.configuration)
            return out

    return anyio.run(read)


def _migrate(db: Fleet, *extra: str) -> int:
    return main(
        [
            "migrate",
            *db.args,
            "--chart",
            "order",
            "--to",
            "2",
            "--charts",
            f"{CHARTS}:order_v1",
            "--charts",
            f"{CHARTS}:order_v2",
            *extra,
        ]
    )


def test_dry_run_reports_what_would_move_and_fail_and_writes_nothing(
    db: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    _fleet(db)
    before = _stored(db)
    assert _migrate(db, "--migration", f"{CHARTS}:RENAME", "--dry-run") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "a-1: 1 -> 2 would move (order.awaiting)"
    assert out[1] == "a-2: 1 -> 2 would move (order.shipped)"
    assert out[2].startswith("a-3: 1 -> 2 would fail: migrating chart 'order' from version")
    assert "legacy" in out[2]
    assert out[3] == (
        "3 actor(s) of chart 'order' not on version '2': 2 would move, 1 would fail"
        " (dry run: nothing written)"
    )
    assert _stored(db) == before


def test_migrate_moves_the_actors_that_fit_and_leaves_the_others(
    db: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    _fleet(db)
    assert _migrate(db, "--migration", f"{CHARTS}:RENAME") == 1
    assert "2 moved, 1 failed" in capsys.readouterr().out
    stored = _stored(db)
    assert stored["a-1"] == ("2", ("order.awaiting",))
    assert stored["a-2"] == ("2", ("order.shipped",))
    assert stored["a-3"] == ("1", ("order.legacy",))

    async def use_v2() -> tuple[str, ...]:
        # a system with only version 2 runs the moved actors (no migration registered)
        v2 = order_v2()
        async with ActorSystem(store=db.open(), charts=[v2]) as system:
            return (await system.ref(v2, "a-1").ask("ship")).configuration

    assert anyio.run(use_v2) == ("order.shipped",)
    # nothing left to move but the one that does not fit
    assert _migrate(db, "--migration", f"{CHARTS}:RENAME", "--dry-run") == 1
    assert "1 actor(s) of chart 'order' not on version '2': 0 would move, 1 would fail" in (
        capsys.readouterr().out
    )


def test_migrate_refuses_a_target_version_it_was_not_given(
    db: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    _fleet(db)
    assert (
        main(
            [
                "migrate",
                *db.args,
                "--chart",
                "order",
                "--to",
                "3",
                "--charts",
                f"{CHARTS}:order_v1",
                "--charts",
                f"{CHARTS}:order_v2",
            ]
        )
        == 1
    )
    assert "--charts has no chart 'order' at version '3' (it has '1', '2')" in (
        capsys.readouterr().err
    )
    assert _migrate(db, "--migration", f"{CHARTS}:NOT_A_MIGRATION") == 1
    assert "a migration is a function from snapshot to snapshot or a state map, not a int" in (
        capsys.readouterr().err
    )


def test_migrate_refuses_to_write_while_a_node_holds_the_fleets_shards(
    pg_server: object, pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A running node keeps its actors in memory: writing under it would be overwritten by
    its next commit, so the command refuses (a dry run still reads), and works once the node
    has stopped (a clean stop releases its leases)."""
    dsn = pg_server.dsn  # type: ignore[attr-defined]
    db = Fleet([dsn, "--schema", pg_schema], dsn=dsn, schema=pg_schema)
    _fleet(db)
    before = _stored(db)

    async def with_node_running() -> tuple[int, int]:
        v1 = order_v1()
        store = PostgresStore(dsn, schema=pg_schema, node="web-1", lease_time=30.0)
        async with ActorSystem(store=store, charts=[v1]) as system:
            await system.ref(v1, "a-9").ask("back")  # the node owns its shards now
            args = ("--migration", f"{CHARTS}:RENAME")
            refused = await anyio.to_thread.run_sync(lambda: _migrate(db, *args))
            dry = await anyio.to_thread.run_sync(lambda: _migrate(db, *args, "--dry-run"))
            return refused, dry

    refused, dry = anyio.run(with_node_running)
    out, err = capsys.readouterr()
    assert refused == 1
    assert "node(s) web-1 hold shards of this fleet" in err
    assert dry == 1  # a-3 would fail; the others would move
    assert "a-1: 1 -> 2 would move (order.awaiting)" in out
    after = _stored(db)
    assert {k: after[k] for k in before} == before  # nothing written while the node ran
    assert _migrate(db, "--migration", f"{CHARTS}:RENAME") == 1  # a-3 does not fit
    assert "3 moved, 1 failed" in capsys.readouterr().out
