"""Recovery resumes in-flight work by itself (issue 12, item 1).

A process is killed with SIGKILL while an order's payment (an invoked async service) runs;
the order has nothing in its inbox and its timeout is far away. Restarted, the system must
start the order again without anything touching it: the payment is invoked again,
completes, and the order reaches ``completed`` instead of waiting for its timeout.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

PROGRAM = Path(__file__).with_name("_paying.py")


def _run(db: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(PROGRAM), str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_invocation_killed_mid_flight_resumes_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    proc = _run(db, "start")
    assert proc.stdout is not None
    assert proc.stdout.readline() == "invoked\n", proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    proc = _run(db, "resume")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "invoked"  # the payment started again, by recovery alone
    state = json.loads(lines[-1])
    assert state["configuration"] == ["completed"]
    (line,) = state["recovery"]
    assert "1 actor" in line, line
