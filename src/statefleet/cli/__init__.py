"""The ``statefleet`` command.

Subcommands register themselves in :data:`COMMANDS` (a module with ``add_parser`` and
``run``); ``main`` builds the argparse parser from them and dispatches.

- ``statefleet validate FILE...``: check chart definitions.
- ``statefleet diagram FILE``: draw a chart (Mermaid, DOT, SVG).
- ``statefleet simulate FILE``: run a chart on a virtual clock.
- ``statefleet inspect DB``: stored actors, timers, dead letters (read-only).
- ``statefleet migrate DB --chart ID --to VERSION``: move stored actors to a chart version.
- ``statefleet serve --store DB --charts mod:attr``: the HTTP API over a stored fleet.
- ``statefleet node --store postgresql://... --charts mod:attr``: run a cluster node.
- ``statefleet w3c DIR [--json] [--trusted]``: run the W3C SCXML conformance tests of DIR.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from statefleet.cli import (
    _diagram,
    _inspect,
    _migrate,
    _node,
    _serve,
    _simulate,
    _validate,
    _w3c,
)
from statefleet.cli._common import crash_message, fail
from statefleet.core import StatefleetError

__all__ = ["INTERNAL_ERROR", "build_parser", "main"]

#: the subcommand modules, in help order
COMMANDS = (_validate, _diagram, _simulate, _inspect, _migrate, _serve, _node, _w3c)


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


#: the exit status of an unexpected error (a bug in statefleet), reported on one line
INTERNAL_ERROR = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``statefleet`` command; returns the exit status.

    No failure prints a traceback: each command reports its own errors on one line with the
    status docs/cli.md lists, a statefleet or OS error left over is one line and status 1,
    anything else one line naming it and status :data:`INTERNAL_ERROR`.
    """
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    command = str(args.command)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of stdout went away (| head): nothing to tell it
        return 1
    except StatefleetError as exc:
        fail(command, exc)
        return 1
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        fail(command, f"cannot access{name}: {exc.strerror or exc}")
        return 1
    except Exception as exc:  # a bug: still one line, not a traceback
        fail(command, f"internal error: {crash_message(exc)} (please report it)")
        return INTERNAL_ERROR
    return status
