"""``statefleet inspect DB [--actor ID] [--json]``: look into a statefleet SQLite database.

Opens the file read-only (``mode=ro``): safe on a database a running system is writing (WAL
lets readers in while the one writer commits).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from statefleet.cli._cluster import is_postgres, show_cluster
from statefleet.cli._common import fail
from statefleet.cli._history import show_history
from statefleet.core import Snapshot, SnapshotError, decode_snapshot
from statefleet.persistence import SCHEMA_VERSION


def add_parser(sub: Any) -> None:
    """Register the ``inspect`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "inspect",
        help="list stored actors, or show one actor's snapshot, timers and dead letters",
        description=(
            "Read a statefleet SQLite database (read-only; fine while a system runs on it)."
            " Without --actor: one row per actor (id, chart, state, version, status, pending"
            " timers). With --actor: its snapshot, pending timers, inbox and dead letters."
        ),
        epilog=(
            "examples:\n"
            "  statefleet inspect demo.db\n"
            "  statefleet inspect demo.db --status done --chart order --limit 20\n"
            "  statefleet inspect demo.db --actor o00042 --json\n"
            "  statefleet inspect demo.db --actor o00042 --history"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("db", metavar="DB", help="a statefleet SQLite file")
    p.add_argument("--actor", metavar="ID", help="show this actor in detail")
    p.add_argument("--status", help="only actors with this status (active, done, quarantined...)")
    p.add_argument("--chart", help="only actors running this chart id")
    p.add_argument("--state", help="only actors with this state active")
    p.add_argument("--limit", type=_count, default=50, help="rows to list (default 50, 0: all)")
    p.add_argument(
        "--history",
        action="store_true",
        help="with --actor: its journal of committed macrosteps (the last --limit)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--schema",
        default="statefleet",
        help="with a postgresql:// DB: its schema; shows nodes, shard owners and lease ages",
    )
    p.set_defaults(run=run)


def _count(text: str) -> int:
    """``--limit``: a whole number >= 0 (argparse reports anything else as bad usage)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


class InspectError(Exception):
    """The database cannot be inspected (missing, not ours, newer schema)."""


def _connect(path: str) -> sqlite3.Connection:
    p = Path(path)
    if not p.is_file():
        raise InspectError(f"{path}: no such database file")
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise InspectError(f"{path}: not a SQLite database ({exc})") from exc
    if "statefleet_meta" not in tables or "actors" not in tables:
        raise InspectError(f"{path}: not a statefleet database")
    row = con.execute("SELECT value FROM statefleet_meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row and str(row[0]).isdigit() else -1
    if version > SCHEMA_VERSION:
        raise InspectError(
            f"{path}: schema version {version} is newer than this statefleet ({SCHEMA_VERSION})"
        )
    return con


def stored_snapshot(path: str, actor: str) -> tuple[str, Snapshot]:
    """The chart id and the snapshot stored for ``actor`` in the statefleet SQLite file
    ``path``, opened read-only. Raises :class:`InspectError` naming what is wrong."""
    con = _connect(path)
    try:
        row = con.execute("SELECT chart_id, snapshot FROM actors WHERE id = ?", (actor,)).fetchone()
    except sqlite3.Error as exc:  # a damaged or tampered database
        raise InspectError(f"{path}: cannot read the database ({exc})") from exc
    finally:
        con.close()
    if row is None:
        raise InspectError(f"no actor {actor!r} in {path}")
    chart_id, blob = row
    if not isinstance(blob, bytes):
        raise InspectError(f"actor {actor!r}: the stored snapshot is not bytes")
    try:
        return str(chart_id), decode_snapshot(blob)
    except SnapshotError as exc:
        raise InspectError(f"actor {actor!r}: {exc}") from exc


def _due(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)


def _state(blob: Any) -> tuple[list[str], str | None]:
    if not isinstance(blob, bytes):
        return [], f"the stored snapshot is {type(blob).__name__}, not bytes"
    try:
        snap = decode_snapshot(blob)
    except SnapshotError as exc:
        return [], str(exc)
    return list(snap.configuration), None


def _list(con: sqlite3.Connection, args: argparse.Namespace) -> tuple[list[dict[str, Any]], int]:
    """The rows to show (at most ``--limit``) and how many actors match the filters."""
    where: list[str] = []
    params: list[Any] = []
    if args.status:
        where.append("a.status = ?")
        params.append(args.status)
    if args.chart:
        where.append("a.chart_id = ?")
        params.append(args.chart)
    # the state index (schema 5); an older file, opened read-only, is filtered by decoding
    indexed = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'actor_states'"
    ).fetchone()
    decode_filter = bool(args.state) and indexed is None
    if args.state and not decode_filter:
        where.append("a.id IN (SELECT actor_id FROM actor_states WHERE state_id = ?)")
        params.append(args.state)
    sql = (
        "SELECT a.id, a.chart_id, a.chart_version, a.version, a.status, a.snapshot,"
        " (SELECT COUNT(*) FROM timers t WHERE t.actor_id = a.id),"
        " (SELECT MIN(due) FROM timers t WHERE t.actor_id = a.id)"
        " FROM actors a"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY a.id"
    rows: list[dict[str, Any]] = []
    matched = 0
    for aid, chart, cv, version, status, blob, ntimers, next_due in con.execute(sql, params):
        config, problem = _state(blob)
        if decode_filter and args.state not in config:
            continue
        matched += 1
        if args.limit and len(rows) >= args.limit:
            if not decode_filter:  # the count is SQL's: no need to decode every snapshot
                break
            continue  # counted, not shown
        rows.append(
            {
                "id": aid,
                "chart": chart,
                "chart_version": cv,
                "state": config,
                "version": version,
                "status": status,
                "timers": ntimers,
                "next_due": next_due,
                **({"problem": problem} if problem else {}),
            }
        )
    if not decode_filter:
        count = "SELECT COUNT(*) FROM actors a" + (" WHERE " + " AND ".join(where) if where else "")
        matched = int(con.execute(count, params).fetchone()[0])
    return rows, matched


def _detail(con: sqlite3.Connection, actor: str) -> dict[str, Any]:
    row = con.execute(
        "SELECT chart_id, chart_version, version, status, snapshot, created_at, updated_at"
        " FROM actors WHERE id = ?",
        (actor,),
    ).fetchone()
    if row is None:
        raise InspectError(f"no actor {actor!r} in this database")
    chart, cv, version, status, blob, created, updated = row
    out: dict[str, Any] = {
        "id": actor,
        "chart": chart,
        "chart_version": cv,
        "version": version,
        "status": status,
        "created_at": created,
        "updated_at": updated,
    }
    problem: str | None = None
    if isinstance(blob, bytes):
        try:
            out["snapshot"] = msgspec.to_builtins(decode_snapshot(blob))
        except (SnapshotError, TypeError) as exc:
            problem = str(exc)
    else:
        problem = _state(blob)[1]
    if problem is not None:
        out["snapshot_error"] = problem
    out["timers"] = [
        {"sendid": sid, "due": due, "target": target}
        for sid, due, target in con.execute(
            "SELECT sendid, due, target FROM timers WHERE actor_id = ? ORDER BY due", (actor,)
        )
    ]
    out["inbox"] = con.execute(
        "SELECT COUNT(*) FROM inbox WHERE actor_id = ?", (actor,)
    ).fetchone()[0]
    out["dead_letters"] = [
        {"kind": kind, "reason": reason, "at": at}
        for kind, reason, at in con.execute(
            "SELECT kind, reason, created_at FROM dead_letters WHERE actor_id = ? ORDER BY id",
            (actor,),
        )
    ]
    return out


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 for an unknown actor, 2 for a database that cannot be read."""
    # no markup: ids, states and reasons come from the database and may hold '[...]'
    out = Console(highlight=False, soft_wrap=True, markup=False)
    if is_postgres(args.db):
        return show_cluster(out, args)
    try:
        con = _connect(args.db)
    except InspectError as exc:
        fail("inspect", exc)
        return 2
    try:
        return _show(out, con, args)
    except InspectError as exc:
        fail("inspect", exc)
        return 1
    except sqlite3.Error as exc:  # a damaged or tampered database
        fail("inspect", f"{args.db}: cannot read the database ({exc})")
        return 2
    finally:
        con.close()


def _show(out: Console, con: sqlite3.Connection, args: argparse.Namespace) -> int:
    if args.history:
        if not args.actor:
            raise InspectError("--history needs --actor ID")
        return show_history(out, con, args)
    if args.actor:
        detail = _detail(con, args.actor)
        if args.json:
            out.print_json(json.dumps(detail, default=str))
        else:
            _print_detail(out, detail)
        return 0
    rows, matched = _list(con, args)
    total = con.execute("SELECT COUNT(*) FROM actors").fetchone()[0]
    if args.json:
        print(json.dumps({"actors": rows, "matched": matched, "total": total}, default=str))
        return 0
    filtered = args.status or args.chart or args.state
    of = f" of {total:,}" if filtered else ""
    title = f"{args.db}: {matched:,}{of} actors (showing {len(rows):,})"
    table = Table(title=title)
    for col in ("id", "chart", "state", "version", "status", "timers", "next due"):
        table.add_column(col, justify="right" if col in ("version", "timers") else "left")
    for r in rows:
        due = "" if r["next_due"] is None else _due(r["next_due"])
        state = ", ".join(r["state"]) or r.get("problem", "")
        table.add_row(
            str(r["id"]),
            f"{r['chart']} v{r['chart_version']}",
            state,
            str(r["version"]),
            str(r["status"]),
            str(r["timers"]),
            due,
        )
    out.print(table)
    return 0


def _print_detail(out: Console, d: dict[str, Any]) -> None:
    table = Table(title=f"actor {d['id']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    snap = d.get("snapshot") or {}
    table.add_row("chart", f"{d['chart']} v{d['chart_version']}")
    table.add_row("status", str(d["status"]))
    table.add_row("version", str(d["version"]))
    table.add_row("configuration", ", ".join(snap.get("configuration", [])))
    table.add_row("context", json.dumps(snap.get("context", {}), default=str))
    if snap.get("history"):
        table.add_row("history", json.dumps(snap["history"]))
    if "snapshot_error" in d:
        table.add_row("snapshot", Text(str(d["snapshot_error"]), style="red"))
    table.add_row("inbox", str(d["inbox"]))
    for t in d["timers"]:
        table.add_row(
            "timer",
            f"{t['sendid']} due {_due(t['due'])}" + (f" -> {t['target']}" if t["target"] else ""),
        )
    for dl in d["dead_letters"]:
        table.add_row("dead letter", f"{dl['kind']}: {dl['reason']}")
    out.print(table)
