"""The benchmark workloads do the work they claim (correctness only, never timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_core.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_core", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_core", module)
    spec.loader.exec_module(module)
    return module


bc = _load()
TINY = bc.Settings(events=40, repeats=1, sessions=20, compiles=1)


@pytest.mark.parametrize(("n", "expected"), [(3, {"b"}), (4, {"a"})])
def test_w1_toggles(n: int, expected: set[str]) -> None:
    assert bc.run_statefleet("W1", n).configuration == expected
    assert bc.run_floor("W1", n).state == next(iter(expected))


def test_w2_guard_passes_and_action_counts() -> None:
    session = bc.run_statefleet("W2", 7)
    assert session.configuration == {"s"}
    assert session.context["n"] == 7
    assert bc.run_floor("W2", 7).context["n"] == 7


def test_w3_crosses_branches_running_every_entry_and_exit() -> None:
    session = bc.run_statefleet("W3", 3)
    assert session.configuration == {"B", "B1", "B11"}
    # initial entry of A, A1, A11, then three exits and three entries per event
    assert session.context == {"entries": 3 + 3 * 3, "exits": 3 * 3}
    assert bc.run_statefleet("W3", 4).configuration == {"A", "A1", "A11"}
    floor = bc.run_floor("W3", 3)
    assert floor.state == "B11"
    assert floor.context == session.context


def test_w4_one_event_moves_every_region() -> None:
    regions = {"P", "R1", "R2", "R3", "R4"}
    assert bc.run_statefleet("W4", 1).configuration == regions | {"y1", "y2", "y3", "y4"}
    assert bc.run_statefleet("W4", 2).configuration == regions | {"x1", "x2", "x3", "x4"}
    assert bc.run_floor("W4", 1).state == ("y1", "y2", "y3", "y4")


def test_w5_chart_has_100_states_and_the_floor_table_agrees() -> None:
    chart = bc.chart_100()
    assert len(chart.state_ids) == 100
    session = chart.start()
    assert session.configuration == {"g0", "g0s0"}
    table = bc.floor_table_100(bc.spec_100())
    leaf = "g0s0"
    for _ in range(9):
        session.send("next")
        leaf = table[leaf]["next"]
    assert session.configuration == {"g1", "g1s0"}
    assert leaf == "g1s0"
    session.send("skip")
    assert session.configuration == {"g2", "g2s0"}
    assert table["g1s0"]["skip"] == "g2s0"
    assert table["g9s3"]["skip"] == "g0s0"


def test_the_table_covers_every_workload() -> None:
    rows = bc.run_all(TINY)
    text = bc.format_table(rows)
    for w in ("W1", "W2", "W3", "W4", "W5"):
        assert w in text
    assert all(r.statefleet > 0 and r.floor > 0 for r in rows)
    assert bc.format_table(rows, markdown=True).startswith("| workload |")


def test_profile_names_the_engine() -> None:
    assert "macrostep" in bc.profile("W1", TINY)
    w5 = bc.profile("W5", TINY)
    assert "sessions created" in w5
    assert "statefleet/core/_api.py" in w5
