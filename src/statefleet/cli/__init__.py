"""The ``statefleet`` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``statefleet`` command."""
    args = sys.argv[1:] if argv is None else argv
    print(f"statefleet: no command yet ({' '.join(args)})", file=sys.stderr)
    return 2
