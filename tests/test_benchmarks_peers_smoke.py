"""``make bench-peers``'s harnesses run and check their work (tiny sizes, never timing).

The tests marked ``peers`` need a peer library, which lives in ``.venv-peers`` only: ``make
test`` deselects them and ``make bench-peers`` runs them there before it times anything.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


peers = _load("bench_peers")
runtime = _load("bench_peers_runtime")


def _need(module: str, peer: str) -> None:
    """Skip unless ``peer`` is installed (``make bench-peers`` installs it into .venv-peers)."""
    pytest.importorskip(
        module, reason=f"{peer} is not installed here (make bench-peers installs it in .venv-peers)"
    )


def _library(name: str) -> Any:
    return next(lib for lib in peers.LIBRARIES if lib.name == name)


def test_the_user_forms_run_checked_and_reach_the_targets_table() -> None:
    forms = [lib for lib in peers.LIBRARIES if lib.dist == "statefleet"]
    results = peers.run(forms, repeats=1, budget=0.0001, sf_events=20)
    for name in (peers.SF_DSL, peers.SF_DICT):
        for w in peers.WORKLOADS:
            cell = results[name][w]
            assert cell.rate is not None and cell.rate > 0, (name, w, cell.note)
    # no peer measured here: every target row says so instead of a ratio
    assert "W2" in peers.format_targets(results)


def test_a_contender_that_fails_or_is_missing_is_reported_not_fatal() -> None:
    def wrong() -> float:
        raise AssertionError("counted 3, not 4")

    def missing() -> float:
        raise ImportError("no", name="pykka")

    best = runtime.interleave(
        {"ok": lambda: 2.0, "wrong": wrong, "missing": missing, "absent": None},
        2,
        higher=True,
    )
    assert best["ok"] == 2.0
    assert "counted 3, not 4" in best["wrong"]
    assert best["missing"] == "not installed (pykka)"
    assert best["absent"] == "not installed"


def test_every_runtime_row_measures_statefleet_and_its_reference() -> None:
    s = runtime.QUICK
    rows = (
        runtime.actor_rows(s)
        + runtime.durable_rows(s)
        + runtime.concurrent_rows(s)
        + runtime.tracing_rows(s)
    )
    for row in rows:
        assert row.statefleet is not None and row.statefleet > 0, (row.path, row.note)
        assert row.other is not None and row.other > 0, (row.path, row.note)
    for row in rows:  # every durable row, one client or many, against its asyncio floor
        if row.path.startswith("durable"):
            assert any(e.startswith("floor (raw sqlite3 on a thread") for e in row.extra), row
    table = runtime.format_rows(rows, markdown=True)
    assert table.count("\n") == len(rows) + 1
    assert "ping-pong" in table and "synchronous=FULL" in table


def test_idle_bytes_and_import_rows_run_in_subprocesses() -> None:
    idle = runtime.idle_row(runtime.QUICK)[0]
    assert idle.statefleet is not None and idle.statefleet > 0
    imp, first_use = runtime.import_rows(runtime.QUICK)
    assert imp.statefleet is not None and imp.statefleet > 0
    # the first-use runs assert their chart reached "b": a number means it ran
    assert first_use.statefleet is not None and first_use.statefleet > 0
    assert not any("failed" in e for e in first_use.extra), first_use.extra


@pytest.mark.peers
def test_pystator_runs_every_workload_checked() -> None:
    _need("pystator", "pystator")
    results = peers.run([_library("pystator")], repeats=1, budget=0.0001, sf_events=20)
    for w in peers.WORKLOADS:  # W4 too: through its process_parallel
        cell = results["pystator"][w]
        assert cell.rate is not None and cell.rate > 0, (w, cell.note)


@pytest.mark.peers
def test_stateforward_hsm_runs_w1_to_w3_checked_and_says_why_not_w4() -> None:
    _need("hsm", "stateforward-hsm (Python >= 3.13)")
    results = peers.run([_library("stateforward-hsm")], repeats=1, budget=0.0001, sf_events=20)
    for w in ("W1", "W2", "W3"):
        cell = results["stateforward-hsm"][w]
        assert cell.rate is not None and cell.rate > 0, (w, cell.note)
    assert results["stateforward-hsm"]["W4"].note.startswith("n/a: no orthogonal regions")


@pytest.mark.peers
def test_a_peer_case_that_does_not_do_the_work_prints_no_number() -> None:
    _need("pystator", "pystator")
    case = peers.pystator_cases()["W3"]
    lazy = peers.Case(case.make, lambda sess, _event: lambda _e: None, case.check)
    out = peers.run(
        [peers.Library("lazy", "pystator", lambda: dict.fromkeys(peers.WORKLOADS, lazy))],
        repeats=1,
        budget=0.0001,
        sf_events=20,
    )
    assert out["lazy"]["W3"].rate is None
    assert out["lazy"]["W3"].note.startswith("wrong result")


@pytest.mark.peers
def test_xoscar_runs_every_actor_row_in_process_and_checked() -> None:
    _need("xoscar", "xoscar")
    for key, run in runtime.xoscar_rows(runtime.QUICK).items():
        assert run is not None
        assert run() > 0, key


@pytest.mark.peers
@pytest.mark.parametrize("durability", ["full", "normal"])
def test_dbos_runs_one_workflow_per_durable_event(durability: str) -> None:
    _need("dbos", "DBOS")
    commits: list[float] = []
    run = runtime.dbos_durable(runtime.QUICK.durable, durability, commits)
    assert run is not None
    assert run() > 0
    assert commits and commits[0] >= 1  # each event committed at least one transaction
