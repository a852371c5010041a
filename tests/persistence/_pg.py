"""The throwaway PostgreSQL server of the test session (fixtures, imported by conftest).

``pg_server`` starts one server per test session in a temporary folder (``TempPostgres``:
the system's ``initdb``/``pg_ctl``, run as the ``postgres`` user under root, a unix socket
only) and removes it at the end. Where PostgreSQL is not installed or cannot start, the
tests that need it are skipped with the reason printed loudly; ``make test`` installs it.
Each test gets schemas of its own (``pg_schema``), so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

import pytest

from statefleet.core import PersistenceError
from statefleet.persistence._pgserver import TempPostgres

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    """A PostgreSQL server for the whole session (skips the test where none can start)."""
    server = TempPostgres(fsync=False)
    try:
        server.start()
    except PersistenceError as exc:
        reason = f"PostgreSQL cannot start here, skipping its tests: {exc}"
        print(f"\n{'!' * 78}\n{reason}\n{'!' * 78}", file=sys.stderr)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_schema(pg_server: TempPostgres) -> str:
    """A schema name no other test uses."""
    return f"t{next(_names)}"
