"""The ``statefleet`` command: validate, diagram, simulate (w3c has its own tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from statefleet.cli import main

ORDER = {
    "id": "order",
    "initial": "cart",
    "states": {
        "cart": {"on": {"CHECKOUT": "paying"}},
        "paying": {
            "on": {"PAID": "done"},
            "after": {"60000": "expired"},
        },
        "done": {"type": "final"},
        "expired": {"type": "final"},
    },
}


@pytest.fixture
def order_file(tmp_path: Path) -> Path:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER))
    return path


def test_validate_ok_and_bad_files(
    order_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(order_file), "tests.cli.charts_for_cli:Door"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "chart order v1, 4 states" in out and "chart Door" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "initial": "a", "states": {"a": {"on": {"GO": "nope"}}}}))
    broken = tmp_path / "broken.yaml"
    broken.write_text("states:\n  - name: a\n    type: initial\n  bad indent\n")
    assert main(["validate", str(order_file), str(bad), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "invalid" in out
    assert "unknown target 'nope'" in out
    assert "line" in out  # the YAML syntax error names its line


def test_validate_missing_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no_such_module_here:Chart"]) == 1
    assert "cannot import module" in capsys.readouterr().out


def test_diagram_mermaid_and_dot_with_snapshot(
    order_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagram", str(order_file)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("stateDiagram-v2")
    from statefleet import encode_snapshot, from_json

    session = from_json(order_file).start()
    session.send("CHECKOUT")
    snap = tmp_path / "snap.json"
    snap.write_bytes(encode_snapshot(session.snapshot(), format="json"))
    out_file = tmp_path / "order.dot"
    assert (
        main(
            [
                "diagram",
                str(order_file),
                "--format",
                "dot",
                "--snapshot",
                str(snap),
                "-o",
                str(out_file),
            ]
        )
        == 0
    )
    dot = out_file.read_text()
    assert 'label="paying", fillcolor="#ffd966"' in dot


def test_diagram_bad_snapshot(
    order_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "bad.json"
    snap.write_text("{not json")
    assert main(["diagram", str(order_file), "--snapshot", str(snap)]) == 1
    assert "corrupt snapshot" in capsys.readouterr().err


def test_simulate_events_and_time_in_order(
    order_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "simulate",
                str(order_file),
                "--event",
                "CHECKOUT",
                "--advance",
                "59",
                "--advance",
                "1",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "t=0  (start)                  -> order.cart",
        "t=0  CHECKOUT                 -> order.paying",
        "    order.cart: CHECKOUT -> order.paying",
        "t=59  +59s                     -> order.paying",
        "t=60  +1s                      -> order.expired  (done)",
        "    order.paying: $after(60000)#order.paying -> order.expired",
    ]


def test_simulate_event_data_and_bad_input(
    order_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(order_file), "--event", 'CHECKOUT:{"items": 2}']) == 0
    assert main(["simulate", str(order_file), "--event", "CHECKOUT:[1]"]) == 2
    assert "must be a JSON object" in capsys.readouterr().err
    assert main(["simulate", str(order_file), "--advance", "soon"]) == 2


def test_simulate_interactive_prompt(order_file: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "statefleet.cli", "simulate", str(order_file)],
        input="CHECKOUT\n+30\nPAID\nquit\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "order.paying" in proc.stdout
    assert "t=30  PAID" in proc.stdout and "order.done  (done)" in proc.stdout
