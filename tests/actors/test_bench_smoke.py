"""benchmarks/bench_actors.py's workloads run and do their work (never timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_actors.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_actors", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_actors", module)
    spec.loader.exec_module(module)
    return module


ba = _load()
TINY = ba.Sizes(200, 20, 5, 50, 100, 20)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", sorted(ba.WORKLOADS))
async def test_workload_and_floor_run(name: str, anyio_backend: str) -> None:
    sf, floor = ba.WORKLOADS[name]
    assert await sf(TINY, anyio_backend) > 0
    assert await floor(TINY, anyio_backend) > 0


async def test_a4_memory_is_measured() -> None:
    assert 0 < await ba.sf_a4_memory(TINY) < 10_000
    assert await ba.floor_a4_memory(TINY) > 0
