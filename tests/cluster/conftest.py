"""Fixtures of the cluster tests: the session's throwaway PostgreSQL server, and asyncio as
the one backend (PostgresStore runs on asyncpg: asyncio only)."""

from __future__ import annotations

import pytest

from tests.persistence._pg import pg_schema, pg_server

__all__ = ["anyio_backend", "pg_schema", "pg_server"]


@pytest.fixture
def anyio_backend() -> str:
    """The cluster's node runtime and PostgresStore run on asyncio."""
    return "asyncio"
