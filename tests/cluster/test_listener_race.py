"""A node store makes one listening connection, also when two callers start listening at
once (a node's first shards and its first cross-node ``ask``, both right after it starts).

Found by tests/cluster/test_fenced_commit.py: each caller found no listening connection and
made one; the store kept the last and the other stayed open, listening (every notification
was delivered twice), until the garbage collector warned about it (``ResourceWarning``:
``unclosed connection``)."""

from __future__ import annotations

import anyio
import asyncpg
import pytest

from statefleet.persistence import PostgresStore
from statefleet.persistence._pgserver import TempPostgres

pytestmark = pytest.mark.anyio


async def _backends(conn: asyncpg.Connection) -> int:
    """The store's connections to the server (statefleet's application name)."""
    n: int = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'statefleet'"
    )
    return n


async def test_two_callers_listening_at_once_share_one_connection_closed_with_the_store(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    watcher = await asyncpg.connect(pg_server.dsn)
    try:
        before = await _backends(watcher)
        store = PostgresStore(pg_server.dsn, schema=pg_schema, node="a", shards=4)
        async with store, anyio.create_task_group() as tg:
            tg.start_soon(store.listen_replies, lambda key, payload: None)
            tg.start_soon(store.listen_inbox, [0, 1], lambda shard, ids: None)
        # every connection of the store ends with it (the server may take a moment to see
        # a connection closed: wait for it, a leaked one never goes)
        with anyio.fail_after(20):
            while await _backends(watcher) != before:
                await anyio.sleep(0.02)
    finally:
        await watcher.close()
