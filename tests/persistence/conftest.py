"""Store fixtures: every contract test runs on MemoryStore (asyncio and trio), on
SQLiteStore (asyncio only) with a real file in ``tmp_path``, and
on PostgresStore (asyncio only: asyncpg) in a schema of its own on the session's throwaway
PostgreSQL server (``_pg``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from statefleet.core import (
    AfterSpec,
    Chart,
    ChartSpec,
    DataSpec,
    Snapshot,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.persistence import MemoryStore, PostgresStore, SQLiteStore, Store

from ._pg import pg_schema, pg_server

__all__ = ["pg_schema", "pg_server"]  # fixtures for every test here

KINDS = [
    ("memory", "asyncio"),
    ("memory", "trio"),
    ("sqlite", "asyncio"),
    ("postgres", "asyncio"),
]


@pytest.fixture(params=KINDS, ids=[f"{k}-{b}" for k, b in KINDS])
def kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def anyio_backend(kind: tuple[str, str]) -> str:
    return kind[1]


@pytest.fixture
def make_store(kind: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A factory: the same underlying data on every call (a restart reopens it)."""
    memory = MemoryStore()
    if kind[0] == "postgres":
        server = request.getfixturevalue("pg_server")
        schema = request.getfixturevalue("pg_schema")

    def make(**options: Any) -> Store:
        if kind[0] == "memory":
            return memory
        if kind[0] == "postgres":
            return PostgresStore(server.dsn, schema=schema, **options)
        return SQLiteStore(tmp_path / "fleet.db", **options)

    return make


@pytest.fixture
async def store(make_store: Any) -> AsyncIterator[Store]:
    async with make_store() as s:
        yield s


def _inc(ctx: Any) -> None:
    ctx.context["n"] = ctx.context.get("n", 0) + 1


COUNTER = compile_chart(
    ChartSpec(
        id="counter",
        version="1",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                id="idle",
                transitions=[
                    TransitionSpec(event=("inc",), actions=(_inc,), type="internal"),
                    TransitionSpec(event=("arm",), target=("armed",)),
                ],
            ),
            StateSpec(
                id="armed",
                after=[
                    AfterSpec(delay=30.0, transition=TransitionSpec(target=("idle",))),
                ],
                transitions=[TransitionSpec(event=("disarm",), target=("idle",))],
            ),
        ],
    )
)


def initial(chart: Chart = COUNTER, **context: Any) -> Snapshot:
    snap: Snapshot = chart.initial(context=context or None, now=1000.0, session_id="s").snapshot
    return snap
