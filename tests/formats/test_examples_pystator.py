"""Every pystator example (seeds 002 and 003) runs and prints what its comments say."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pystator"

EXPECTED: dict[str, str] = {
    "01_quickstart_process.py": """\
True
pending
open
""",
    "02_entity_session.py": """\
pending
True
False
open
filled
True
filled 10
filled
order-123
""",
    "03_guards.py": """\
True filled
False is_full_fill
""",
    "04_inline_guards.py": """\
filled
partially_filled
False guard_rejected
expr: fill_qty >= order_qty
""",
    "05_actions.py": """\
['update_positions']
persisted: filled
Positions updated
""",
    "07_errors.py": """\
Guard 'is_full_fill' blocked in state 'open'
Entity already in a terminal state
Error code: invalid_transition
Error code: undefined_trigger
ok
GuardRejectedError
guard_rejected is_full_fill
True undefined_trigger
True
""",
    "08_api_requests.py": """\
{"valid": true, "errors": []}
{"valid": false, "errors": ["states[0].name: state name 'Pending' is invalid: use lowercase \
a-z, digits and underscores only"]}
{"success": true, "source_state": "open", "target_state": "filled", "actions": ["notify"], \
"error": null}
{"success": false, "source_state": "pending", "target_state": null, "actions": [], \
"error": "invalid_transition"}
""",
    "09_three_ways.py": """\
  positions += 5
session: filled
process: open -> filled ['update_positions']
orchestrator: open guard_rejected
  positions += 3
orchestrator: filled
""",
    "10_hierarchy_history.py": """\
stopped
play:
    open_stream
    start_audio
playing True True
pause:
    stop_audio
paused
stop (declared on the parent, applies in any child):
    close_stream
stopped
resume_last (H(active) remembers 'paused'):
    open_stream
paused
playing -> stopped ['stop_audio', 'close_stream']
paused
""",
    "11_parallel_regions.py": """\
processing
{'payment': 'awaiting_payment', 'shipping': 'packing'}
False expr: amount >= total
   receipt for 50
{'payment': 'paid', 'shipping': 'packing'}
True False
completed True
completed
('awaiting_payment', 'shipped')
""",
    "12_delayed_transitions.py": """\
pending 30.0
pending
[('timeout', 'timed_out_ack')]
open 5.0
   order o-2 expired
expired
filled None
expire 5.0 105.0
expire expired ['notify_expired']
[] pending
""",
    "13_guards_actions_context.py": """\
confirm with a bad token: guard_rejected
confirm (exit -> transition -> enter):
   log_leave
   audit {'event': 'confirmed'}
   send_email {'template': 'welcome'}
confirmed
['exit:log_leave', 'transition:audit', 'enter:send_email']
phased executor:
   log_leave
   audit {'event': 'confirmed'}
   send_email {'template': 'welcome'}
False
40
active ['granted']
""",
    "14_sandwich_dict_store.py": """\
order-1: fill rejected (guard_rejected)
order-1: committed filled
   act: positions for order-1
order-2: commit failed (database is down); no actions run
{'order-1': 'filled', 'order-2': 'open'}
""",
}


def test_every_example_is_checked() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == {*EXPECTED, "06_hooks_metrics.py"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_output(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert capsys.readouterr().out == EXPECTED[name]


def test_hooks_and_metrics_example() -> None:
    # run apart: it configures the root logger to print on stdout
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "06_hooks_metrics.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"INFO exchange_ack: pending -> open \(\d+\.\d{3} ms\)", lines[0])
    assert re.fullmatch(r"INFO fill: open -> filled \(\d+\.\d{3} ms\)", lines[1])
    assert lines[2:6] == [
        "1.0",
        "['avg_ms', 'max_ms', 'min_ms', 'p95_ms']",
        "2 {'pending->open': 1, 'open->filled': 1}",
        "WARNING fill from pending rejected: invalid_transition",
    ]
    assert lines[6:] == ["0.67 {'invalid_transition': 1}"]
