"""The cluster benchmark workloads do the work they claim (correctness only, tiny sizes,
never timing), on the test session's PostgreSQL server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from statefleet.persistence._pgserver import TempPostgres

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def test_every_workload_runs_and_checks_its_work(
    tmp_path: Path, pg_server: TempPostgres, pg_schema: str
) -> None:
    bp = _load("bench_persistence")
    bc = _load("bench_cluster")
    tiny = bp.Settings(p1_actors=40, p1_events=2, p1_senders=10, floor_rows=500)
    results = await bc.run(tiny, 20, tmp_path, pg_server.dsn, prefix=pg_schema, processes=[2])
    assert [r.name for r in results] == [
        "SQLite P1 (full), same machine",
        "C1 one store, no fencing",
        "C1 one node, fenced",
        "C4 2 processes, one database",
        "C3 the store alone, batches of 1,000",
        "C2 NOTIFY wake-up p50",
        "C2 NOTIFY wake-up p99",
    ]
    assert all(r.value > 0 for r in results)
    assert "80 commits in" in results[2].notes[0]
    assert "raw asyncpg rows/s" in bc.table(results, markdown=True)
