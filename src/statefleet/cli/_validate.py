"""``statefleet validate FILE...``: check chart definitions in any format."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from statefleet.cli._common import add_base_dir, load_chart
from statefleet.core import ChartDefinitionError

#: problems printed per chart (a generated file can have a million)
MAX_SHOWN = 100


def add_parser(sub: Any) -> None:
    """Register the ``validate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check chart definitions (JSON, YAML, SCXML, module:Class)",
        description="Load and compile each chart; print every problem with its path and line.",
        epilog=(
            "examples:\n"
            "  statefleet validate order.json signup.yaml\n"
            "  statefleet validate myapp.charts:OrderChart"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a chart file or module:Class")
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


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every chart is valid, 1 otherwise."""
    out = Console(highlight=False, soft_wrap=True)
    bad = 0
    for ref in args.files:
        try:
            chart = load_chart(ref, resolve=args.check_bindings, base_dir=args.base_dir)
        except ChartDefinitionError as exc:
            bad += 1
            out.print(f"[red]invalid[/] {_esc(ref)}: {len(exc.errors)} problem(s)")
            for i, (path, message) in enumerate(exc.errors[:MAX_SHOWN]):
                line = f" (line {exc.line})" if i == 0 and exc.line is not None else ""
                where = f"{path}{line}" if path and path != ref else line.strip()
                prefix = f"  {ref}: {where}: " if where else f"  {ref}: "
                out.print(prefix + " ".join(message.splitlines()), markup=False)
            if len(exc.errors) > MAX_SHOWN:
                out.print(f"  {ref}: ... and {len(exc.errors) - MAX_SHOWN} more", markup=False)
            continue
        unbound = chart.meta.get("unbound") or ()
        note = f", {len(unbound)} name(s) not bound (--check-bindings)" if unbound else ""
        out.print(
            f"[green]ok[/] {_esc(ref)}: chart {_esc(chart.id)!s} v{_esc(chart.version)},"
            f" {len(chart.nodes)} states, {len(chart.transitions)} transitions{note}"
        )
    return 1 if bad else 0


def _esc(text: str) -> str:
    return str(text).replace("[", "\\[")
