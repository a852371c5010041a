"""The crash test's fleet (``_fleet.py``) on PostgreSQL: ``python _pg_fleet.py DSN SCHEMA LOG
ROUND SEED`` runs until killed, ``... verify SEED`` recovers and prints the state. The fleet,
its chart and its senders are ``_fleet``'s; only the store differs."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import _fleet  # the fleet next to this file (a script's folder is on sys.path)

from statefleet.persistence import PostgresStore


def main() -> None:
    dsn, schema, log_path, mode, seed = sys.argv[1:6]

    def store(_db: str, **_options: Any) -> PostgresStore:
        return PostgresStore(dsn, schema=schema)

    _fleet.SQLiteStore = store  # type: ignore[assignment,misc]
    if mode == "verify":
        asyncio.run(_fleet.verify(dsn))
    else:
        asyncio.run(_fleet.run(dsn, log_path, int(mode), int(seed)))


if __name__ == "__main__":
    main()
