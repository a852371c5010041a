"""``make bench-peers``'s harnesses run and check their work (tiny sizes, never timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
