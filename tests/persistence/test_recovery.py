"""Recovery resumes in-flight work by itself (issue 12, item 1).

A process is killed with SIGKILL while an order's payment (an invoked async service) runs;
the order has nothing in its inbox and its timeout is far away. Restarted, the system must
start the order again without anything touching it: the payment is invoked again,
completes, and the order reaches ``completed`` instead of waiting for its timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

from ._killed import kill_at, output, run

PROGRAM = Path(__file__).with_name("_paying.py")


def test_an_invocation_killed_mid_flight_resumes_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    kill_at(run(PROGRAM, db, "start"), "invoked")
    out = output(run(PROGRAM, db, "resume"))
    lines = out.splitlines()
    assert lines[0] == "invoked"  # the payment started again, by recovery alone
    state = json.loads(lines[-1])
    assert state["configuration"] == ["completed"]
    (line,) = state["recovery"]
    assert "1 actor" in line, line
