"""Fixtures of the cluster tests: the session's throwaway PostgreSQL server."""

from __future__ import annotations

from tests.persistence._pg import pg_schema, pg_server

__all__ = ["pg_schema", "pg_server"]
