"""``statefleet w3c DIR [--json] [--trusted]``: run W3C SCXML conformance tests."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from statefleet.formats._w3c import discover, run_test

_STYLES = {"pass": "green", "fail": "red", "error": "bold red"}


def add_parser(sub: Any) -> None:
    """Register the ``w3c`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "w3c",
        help="run the W3C SCXML conformance tests of a folder",
        description=(
            "Run every test*.scxml of DIR (sub-documents excluded) on a virtual clock and"
            " report pass/fail/error per test; the last line is 'N passed, N failed'."
        ),
    )
    p.add_argument("directory", metavar="DIR", help="folder holding test*.scxml documents")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="allow <script> and full Python expressions (default: safe mode)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the tests; exit status 0 when all passed, 1 otherwise, 2 for a bad folder."""
    directory = Path(args.directory)
    if not directory.is_dir():
        print(f"statefleet w3c: {directory} is not a folder", file=sys.stderr)
        return 2
    paths = discover(directory)
    if not paths:
        print(f"statefleet w3c: no test*.scxml in {directory}", file=sys.stderr)
        return 2
    out = Console(highlight=False, soft_wrap=True)
    outcomes: dict[str, str] = {}
    for path in paths:
        result = run_test(path, trusted=args.trusted)
        outcomes[result.name] = result.outcome
        if not args.json:
            line = f"[{_STYLES[result.outcome]}]{result.outcome:5}[/] {_escape(result.name)}"
            if result.detail:
                line += f"  [dim]{_escape(result.detail)}[/]"
            out.print(line)
    passed = sum(1 for o in outcomes.values() if o == "pass")
    failed = len(outcomes) - passed
    if args.json:
        sys.stdout.write(json.dumps({"tests": outcomes, "passed": passed, "failed": failed}) + "\n")
    else:
        out.print(f"{passed} passed, {failed} failed", markup=False)
    return 0 if failed == 0 else 1


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
