"""Seed 004's examples (counter, traffic light) and the other hsm examples print what they say."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "hsm"

EXPECTED: dict[str, str] = {
    "counter.py": """\
Initial state: /Counter/counting
Count: 1
Count: 2
Final count: 2
""",
    "traffic_light.py": """\
Initial state: /TrafficLight/red
🟢 Green light
timer -> /TrafficLight/green
timer -> /TrafficLight/yellow
timer -> /TrafficLight/red
🟢 Green light
timer -> /TrafficLight/green
timer -> /TrafficLight/yellow
timer -> /TrafficLight/red
Cycles: 2
Stopped: ''
""",
    "traffic_light_timers.py": """\
🔴 Red light
t=0s /TrafficLight/red
🟢 Green light
t=3s /TrafficLight/green
🟡 Yellow light
t=5s /TrafficLight/yellow
🔴 Red light
t=6s /TrafficLight/red
🟢 Green light
t=9s /TrafficLight/green
🟡 Yellow light
t=11s /TrafficLight/yellow
🔴 Red light
t=12s /TrafficLight/red
Cycles: 2, seconds counted by every(1): 13
""",
    "printer.py": """\
asyncio:
  /Printer/warming_up: 2 jobs deferred
  temperature 20 -> 120
  temperature 120 -> 185
  printing report.pdf
  printing photo.png
  /Printer/ready: printed ['report.pdf', 'photo.png']
trio:
  /Printer/warming_up: 2 jobs deferred
  temperature 20 -> 120
  temperature 120 -> 185
  printing report.pdf
  printing photo.png
  /Printer/ready: printed ['report.pdf', 'photo.png']
""",
    "robust_machine.py": """\
ValidationError: /RobustMachine/working: effect() belongs in a transition() or an initial(); \
use entry() for behaviours run when a state is entered
Work done
fail=False: /RobustMachine/working
Error occurred: Something went wrong!
fail=True: /RobustMachine/error_state
""",
    "download.py": """\
size 500:
  /Download/rejected (activities running: 0)
size 0:
  /Download/done (activities running: 0)
size 20:
  fetching 20 MB
  /Download/downloading (activities running: 1)
  fetch cancelled (context done: True)
  cancel -> /Download/idle (activities running: 0)
size 20:
  fetching 20 MB
  /Download/downloading (activities running: 1)
  fetch cancelled (context done: True)
  failed: checksum mismatch
  received -> /Download/failed (activities running: 0)
""",
}


def test_every_example_has_its_expected_output() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_output(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert capsys.readouterr().out == EXPECTED[name]
