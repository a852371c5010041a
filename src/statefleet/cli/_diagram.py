"""``statefleet diagram FILE [--format mermaid|dot|svg] [--snapshot SNAP]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from statefleet.cli._common import fail, load_chart, load_snapshot
from statefleet.core import StatefleetError
from statefleet.formats._diagram import to_dot, to_mermaid, to_svg


def add_parser(sub: Any) -> None:
    """Register the ``diagram`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "diagram",
        help="draw a chart (Mermaid, Graphviz DOT or SVG)",
        description=(
            "Draw a chart: compound, parallel, history and final states as such; with"
            " --snapshot, the active configuration is highlighted."
        ),
        epilog=(
            "examples:\n"
            "  statefleet diagram order.json > order.mmd\n"
            "  statefleet diagram order.json --format svg --snapshot order-42.json -o o.svg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="a chart file or module:Class")
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    p.add_argument("--snapshot", metavar="SNAP", help="a snapshot file (.json or msgpack)")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    p.add_argument(
        "--check-bindings",
        action="store_true",
        help=(
            "require every action, guard, service and delay a JSON chart names to be bound"
            " (by default they are shown, not resolved: the implementations live in Python)"
        ),
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 for a bad chart or snapshot or an output that cannot be
    written, 2 when Graphviz is missing."""
    try:
        chart = load_chart(args.file, resolve=args.check_bindings)
        snapshot = load_snapshot(args.snapshot) if args.snapshot else None
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
