"""``statefleet simulate`` shows what each step did: transitions, unhandled events, errors,
context changes, and a chart that loops forever as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statefleet.cli import main

ORDER = {
    "id": "order",
    "initial": "cart",
    "states": {
        "cart": {"on": {"CHECKOUT": "paying"}},
        "paying": {"on": {"PAID": "done"}, "after": {"60": "expired"}},
        "done": {"type": "final"},
        "expired": {"type": "final"},
    },
}

COUNTER = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
       initial="a">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="a">
    <transition event="go" target="b">
      <assign location="n" expr="n + 1"/>
      <assign location="n" expr="undefined.x"/>
    </transition>
  </state>
  <state id="b"/>
</scxml>
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_each_step_lists_its_transitions_and_unhandled_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = _write(tmp_path, "order.json", json.dumps(ORDER))
    args = ["simulate", order, "--event", "CHECKOUT", "--event", "SHIP", "--advance", "60"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "t=0  (start)                  -> order.cart",
        "t=0  CHECKOUT                 -> order.paying",
        "    order.cart: CHECKOUT -> order.paying",
        "t=0  SHIP                     -> order.paying",
        "    SHIP: not handled (no transition takes it)",
        "t=60  +60s                     -> order.expired  (done)",
        "    order.paying: $after(60)#order.paying -> order.expired",
    ]


def test_errors_and_context_changes_are_shown_under_their_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = _write(tmp_path, "counter.scxml", COUNTER)
    assert main(["simulate", counter, "--event", "go"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "t=0  (start)                  -> a",
        "    context: n = 0",
        "t=0  go                       -> b",
        "    a: go -> b",
        "    error: AttributeError: 'NoneType' object has no attribute 'x'",
        "    context: n = 1 (was 0)",
    ]


def test_a_chart_looping_at_one_instant_is_one_error_line_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at_start = {"id": "loop", "initial": "a", "states": {"a": {"after": {"0": "a"}}}}
    loop = _write(tmp_path, "loop.json", json.dumps(at_start))
    assert main(["simulate", loop, "--advance", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    # a zero-delay timer is a timer: it fires when the clock runs, not inside start()
    assert "advance '1': chart 'loop': more than 100000 delayed events" in err

    later = {
        "id": "loop2",
        "initial": "a",
        "states": {"a": {"on": {"GO": "b"}}, "b": {"after": {"0": "b"}}},
    }
    loop2 = _write(tmp_path, "loop2.json", json.dumps(later))
    assert main(["simulate", loop2, "--event", "GO", "--advance", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("statefleet simulate: advance '1': chart 'loop2': more than")
    shown = captured.out.splitlines()
    # the start, the event's step and its line, the advance, at most 50 lines, "... more"
    assert len(shown) <= 2 + 1 + 1 + 50 + 1
    assert shown[-1].startswith("    ... and ") and shown[-1].endswith(" more")


class Ambiguous:
    """A value whose comparison raises, like a numpy array's."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("the truth value is ambiguous")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "Ambiguous()"


def test_a_context_value_that_cannot_be_compared_is_still_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "ambiguous_chart.py"
    module.write_text(
        "from statefleet import Chart\n"
        "from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart\n"
        "from tests.cli.test_simulate_trace import Ambiguous\n\n\n"
        "def put(ctx):\n"
        "    ctx.context['value'] = Ambiguous()\n\n\n"
        "def chart() -> Chart:\n"
        "    go = TransitionSpec(event=('go',), actions=(put,))\n"
        "    return compile_chart(ChartSpec('amb', states=[StateSpec('a', transitions=[go])]))\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        assert main(["simulate", "ambiguous_chart:chart", "--event", "go", "--event", "go"]) == 0
    finally:
        sys.path.remove(str(tmp_path))
    out = capsys.readouterr().out
    assert out.count("context: value = Ambiguous()") == 2
