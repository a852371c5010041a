"""``statefleet diagram FILE [--format mermaid|dot|svg] [--snapshot SNAP | --db DB --actor ID]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from statefleet.cli._common import add_base_dir, fail, load_chart, load_snapshot
from statefleet.cli._inspect import InspectError, stored_snapshot
from statefleet.core import Chart, Snapshot, SnapshotError, StatefleetError
from statefleet.formats._diagram import to_dot, to_mermaid, to_svg


def add_parser(sub: Any) -> None:
    """Register the ``diagram`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "diagram",
        help="draw a chart (Mermaid, Graphviz DOT or SVG)",
        description=(
            "Draw a chart: compound, parallel, history and final states as such; with"
            " --snapshot, or --db and --actor (an actor stored in a SQLite database, opened"
            " read-only), the active configuration is highlighted."
        ),
        epilog=(
            "examples:\n"
            "  statefleet diagram order.json > order.mmd\n"
            "  statefleet diagram order.json --format svg --snapshot order-42.json -o o.svg\n"
            "  statefleet diagram statefleet.demo.fleet:order_chart --db demo.db --actor o00042"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="a chart file or module:Class")
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    live = p.add_mutually_exclusive_group()
    live.add_argument("--snapshot", metavar="SNAP", help="a snapshot file (.json or msgpack)")
    live.add_argument("--actor", metavar="ID", help="the actor of --db whose state to show")
    p.add_argument("--db", metavar="DB", help="a statefleet SQLite database (with --actor)")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    p.add_argument(
        "--check-bindings",
        action="store_true",
        help=(
            "require every action, guard, service and delay a JSON chart names to be bound"
            " (by default they are shown, not resolved: the implementations live in Python)"
        ),
    )
    add_base_dir(p)
    p.set_defaults(run=run)


def _is_sqlite(path: str) -> bool:
    """Does ``path`` name a SQLite database file (by its header)?"""
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except (OSError, ValueError):
        return False


def _snapshot(args: argparse.Namespace, chart: Chart) -> Snapshot | None:
    if args.snapshot:
        return load_snapshot(args.snapshot)
    if args.actor is None:
        if args.db:
            raise SnapshotError("--db needs --actor: which actor's state to show")
        return None
    if not args.db:
        raise SnapshotError("--actor needs --db: the database the actor is stored in")
    try:
        chart_id, snapshot = stored_snapshot(args.db, args.actor)
    except InspectError as exc:
        raise SnapshotError(str(exc)) from exc
    if chart_id != chart.id:
        raise SnapshotError(
            f"actor {args.actor!r} runs chart {chart_id!r}, not {chart.id!r} ({args.file})"
        )
    return snapshot


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 for a bad chart, snapshot, database or actor or an output that
    cannot be written, 2 when Graphviz is missing."""
    if args.actor and not args.db and _is_sqlite(args.file):
        fail(
            "diagram",
            f"{args.file} is a database, not a chart: name the chart as FILE and the database"
            f" with --db (statefleet diagram CHART --db {args.file} --actor {args.actor})",
        )
        return 1
    try:
        chart = load_chart(args.file, resolve=args.check_bindings, base_dir=args.base_dir)
        snapshot = _snapshot(args, chart)
        if args.format == "svg":
            try:
                text = to_svg(chart, snapshot)
            except StatefleetError as exc:
                fail("diagram", exc)
                return 2
        elif args.format == "dot":
            text = to_dot(chart, snapshot)
        else:
            text = to_mermaid(chart, snapshot)
    except StatefleetError as exc:
        fail("diagram", exc)
        return 1
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            fail("diagram", f"cannot write {args.output}: {reason}")
            return 1
    else:
        sys.stdout.write(text)
    return 0
