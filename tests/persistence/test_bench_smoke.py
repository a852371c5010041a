"""The persistence benchmark workloads do the work they claim (correctness only, tiny sizes,
never timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_persistence.py"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_persistence", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_persistence", module)
    spec.loader.exec_module(module)
    return module


bp = _load()
TINY = bp.Settings(
    p1_actors=40,
    p1_events=2,
    p1_senders=10,
    p2_actors=60,
    p3_entities=300,
    p3_in_memory=100,
    p3_idle=0.05,
    floor_rows=500,
)


async def test_every_workload_runs_and_checks_its_work(tmp_path: Path) -> None:
    results = await bp.run(TINY, set(), tmp_path)
    names = [r.name.split(",")[0] for r in results]
    assert names == ["P1 normal", "P1 full", "P2 activate 60 passivated actors", "P3 300 entities"]
    assert all(r.value > 0 and r.floor for r in results)
    assert "all 300 applied their event" in " ".join(results[-1].notes)


def test_the_table_prints(tmp_path: Path) -> None:
    r = bp.Result("P2 x", "activations/s", 25_000.0, 350_000.0, 20_000.0, ["a note"])
    text = bp._table([r], markdown=True)
    assert "| P2 x | activations/s | 25,000 | 350,000 | 0.071 | >= 20,000 ok |" in text
    assert "  - P2: a note" in text
