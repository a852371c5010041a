"""The ``statefleet`` command.

Subcommands register themselves in :data:`COMMANDS` (a module with ``add_parser`` and
``run``); ``main`` builds the argparse parser from them and dispatches.

- ``statefleet validate FILE...``: check chart definitions.
- ``statefleet diagram FILE``: draw a chart (Mermaid, DOT, SVG).
- ``statefleet simulate FILE``: run a chart on a virtual clock.
- ``statefleet inspect DB``: stored actors, timers, dead letters (read-only).
- ``statefleet w3c DIR [--json] [--trusted]``: run the W3C SCXML conformance tests of DIR.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from statefleet.cli import _diagram, _inspect, _simulate, _validate, _w3c

__all__ = ["build_parser", "main"]

#: the subcommand modules, in help order
COMMANDS = (_validate, _diagram, _simulate, _inspect, _w3c)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``statefleet`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="statefleet",
        description="statefleet: statecharts that run as supervised asyncio actors.",
    )
    sub = parser.add_subparsers(dest="command", title="commands")
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``statefleet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    status: int = args.run(args)
    return status
