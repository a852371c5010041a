"""A span the sampler drops costs close to nothing: nothing is built for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from statefleet.actors import ActorSystem
from statefleet.core import EventReceived, MacrostepRecord, Record, VirtualClock
from statefleet.telemetry import OpenTelemetry
from statefleet.telemetry import attributes as A
from tests.core._build import S, T, chart

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


class _DropAll(Sampler):
    """Drops every span, and remembers what it was asked about (name, attributes)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Attributes]] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        self.asked.append((name, attributes))
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "DropAll"


class _Counting(OpenTelemetry):
    """The OpenTelemetry listener, counting the records the runtime hands it."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.seen: list[type] = []

    def on_record(self, record: Record) -> None:
        self.seen.append(type(record))
        super().on_record(record)


async def test_a_sampled_out_step_builds_nothing_for_its_span() -> None:
    sampler = _DropAll()
    exporter = InMemorySpanExporter()
    tp = TracerProvider(sampler=sampler)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    listener = _Counting(tracer_provider=tp, meter_provider=MeterProvider(metric_readers=[reader]))
    c = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="toggle")
    async with ActorSystem(clock=VirtualClock(), listeners=[listener]) as system:
        ref = system.spawn(c)
        for _ in range(5):
            ref.send_nowait("t")
        await system.wait_idle()
    steps = [a for name, a in sampler.asked if name == A.SPAN_MACROSTEP]
    # the sampler decided before anything was built: no attributes for the span it dropped
    assert len(steps) == 6 and all(not a for a in steps)
    assert exporter.get_finished_spans() == ()
    # the runtime builds no record nothing turns into a span or a metric
    assert EventReceived not in listener.seen
    assert listener.seen.count(MacrostepRecord) == 6
    # the metrics still count every step
    data = reader.get_metrics_data()
    points = [
        p
        for rm in (data.resource_metrics if data else [])
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == A.METRIC_MACROSTEP_DURATION
        for p in m.data.data_points
    ]
    assert [p.count for p in points] == [6]
    tp.shutdown()
