"""``statefleet inspect DB --actor ID --history``: an actor's journal of committed
macrosteps (oldest first), read from the database read-only.

A database written before the journal existed (schema version 2 or older) has none: the
history is empty and says so.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import UTC, datetime

import msgspec
from rich.console import Console
from rich.table import Table

from statefleet.cli._common import fail
from statefleet.core import PersistenceError
from statefleet.persistence._journal import JournalEntry, decode_rows

__all__ = ["read_history", "show_history"]


def read_history(con: sqlite3.Connection, actor: str, limit: int) -> list[JournalEntry] | None:
    """The last ``limit`` journal entries of ``actor`` (0: all), oldest first; ``None`` when
    the database has no journal table. A damaged entry raises ``PersistenceError``."""
    if not con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'"
    ).fetchone():
        return None
    rows = con.execute(
        "SELECT version, at, entry FROM journal WHERE actor_id = ? ORDER BY id DESC LIMIT ?",
        (actor, limit or -1),
    ).fetchall()
    return decode_rows(actor, rows)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def show_history(out: Console, con: sqlite3.Connection, args: argparse.Namespace) -> int:
    """Print the history of ``args.actor`` (a table, or JSON with ``--json``); exit status 0,
    or 1 when an entry cannot be read."""
    try:
        entries = read_history(con, args.actor, args.limit)
    except PersistenceError as exc:
        fail("inspect", exc)
        return 1
    if args.json:
        print(json.dumps({"actor": args.actor, "history": msgspec.to_builtins(entries or [])}))
        return 0
    if entries is None:
        out.print(f"{args.db}: this database has no journal (written before schema 3)")
        return 0
    table = Table(title=f"actor {args.actor}: {len(entries)} macrosteps")
    for col in ("version", "time (UTC)", "event", "data", "before", "after", "transitions"):
        table.add_column(col, justify="right" if col == "version" else "left")
    for e in entries:
        after = ", ".join(e.configuration_after)
        if e.errors:
            after += "  errors: " + "; ".join(e.errors)
        table.add_row(
            str(e.version),
            _when(e.at),
            e.event or "(start)",
            e.data or "",
            ", ".join(e.configuration_before),
            after,
            ", ".join(e.transitions),
        )
    out.print(table)
    return 0
