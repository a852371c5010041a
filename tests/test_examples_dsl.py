"""Seed 000 (python-statemachine 3's cleanup/finalize example) runs unchanged but for its
import line and prints exactly what the seed shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "seed000_resource_manager.py"

# the output shown by the seed document, success path then failure path
EXPECTED = """\
  [idle] ready
State: ['idle']
  [working] resource acquired
  [working] processing... done!
  [after_start] resource released
  [idle] ready
State: ['idle']
  [idle] ready
  [working] resource acquired
  [working] processing... oops!
  [after_start] resource released
  [recovering] error caught: something went wrong
  [idle] ready
State: ['idle']
"""


def test_seed000_prints_exactly_the_seed_output() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED
    assert proc.stderr == ""


def test_seed000_differs_from_the_original_only_in_its_import_line() -> None:
    lines = SCRIPT.read_text().splitlines()
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    assert imports == ["from statefleet import Event, State, StateChart"]
