"""The commit pipeline runs every batch in the context the system was opened in: a step whose
event carries no trace context is a root span, whatever span was current where its actor was
spawned (the pipeline's first batch was queued there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statefleet.actors import ActorSystem
from statefleet.persistence import MemoryStore, SQLiteStore
from statefleet.telemetry import OpenTelemetry
from statefleet.telemetry import attributes as A
from tests.core._build import S, T, chart
from tests.telemetry.conftest import Otel

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[("asyncio", "memory"), ("trio", "memory"), ("asyncio", "sqlite")],
    ids=["asyncio-memory", "trio-memory", "asyncio-sqlite"],  # SQLiteStore: asyncio only
)
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value


@pytest.fixture
def anyio_backend(case: tuple[str, str]) -> str:
    return case[0]


def _store(kind: str, tmp_path: Path) -> Any:
    return MemoryStore() if kind == "memory" else SQLiteStore(str(tmp_path / "ctx.db"))


async def test_a_step_of_an_untraced_event_is_a_root_span_after_a_spawn_in_a_span(
    otel: Otel, case: tuple[str, str], tmp_path: Path
) -> None:
    c = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="ctx")
    tracer = otel.tracer_provider.get_tracer("app")
    listener = OpenTelemetry(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
    )
    async with ActorSystem(store=_store(case[1], tmp_path), listeners=[listener]) as system:
        with tracer.start_as_current_span("app"):
            ref = system.spawn(c, id="one")  # its initial step's batch is queued in "app"
            await system.wait_idle()
        await ref.send("t")  # no span current: the event carries no trace context
        await system.wait_idle()
    (app,) = otel.spans("app")
    steps = [
        sp for sp in otel.spans(f"{A.SPAN_MACROSTEP} ctx") if sp.attributes.get(A.EVENT_NAME) == "t"
    ]
    assert len(steps) == 1
    assert steps[0].parent is None  # a root: not a child of "app"
    assert steps[0].context.trace_id != app.context.trace_id
