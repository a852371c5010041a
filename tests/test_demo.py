"""`make demo` in small: a fleet on a real SQLite file, SIGKILLed mid-run and recovered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_recovers_every_acknowledged_order_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = subprocess.run(
        [sys.executable, "-m", "statefleet.demo", "--orders", "300", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "run 1 killed (SIGKILL)" in out
    assert "every one, exactly once" in out
    assert "acknowledged in all" in out and "300" in out
    assert db.exists()
