"""A span the sampler drops costs close to nothing: nothing is built for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
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


# -- sampling decided before a span is started ---------------------------------------------------
_LOW = 1  # TraceIdRatioBased(0.5) samples a trace id whose low 64 bits are below 2**63
_HIGH = (1 << 63) + 1  # ... and drops this one


class _Ids(IdGenerator):
    """Trace ids from a script (then alternating sampled/dropped ones); counts span ids."""

    def __init__(self, trace_ids: Sequence[int] = ()) -> None:
        self.script = list(trace_ids)
        self.n = 0
        self.span_ids = 0

    def generate_trace_id(self) -> int:
        if self.script:
            return self.script.pop(0)
        self.n += 1
        return (_LOW if self.n % 2 else _HIGH) + (self.n << 64)

    def generate_span_id(self) -> int:
        self.span_ids += 1
        return self.span_ids

    def is_trace_id_random(self) -> bool:
        return True


def _provider(sampler: Sampler, ids: IdGenerator) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider(sampler=sampler, id_generator=ids)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp, exporter


def _hops(n: int) -> Any:
    """A chart that, on ``go``, sends itself ``hop`` ``n`` times (each from the step before)."""

    def hop(ctx: Any) -> None:
        left = ctx.event.data.get("left", n) if ctx.event.data else n
        if left:
            ctx.send("hop", {"left": left - 1})

    return chart(
        S("a", on=[T("go", None, actions=(hop,)), T("hop", None, actions=(hop,))]), id="hops"
    )


class _Carried:
    """A listener keeping the trace context each macrostep's event carried."""

    record_types = (MacrostepRecord,)

    def __init__(self) -> None:
        self.traces: list[tuple[str, dict[str, str] | None]] = []

    def __call__(self, record: Record) -> None:
        assert isinstance(record, MacrostepRecord)
        if record.event is not None:
            self.traces.append((record.event.name, record.event.trace))


async def test_a_dropped_root_step_starts_no_span_and_a_sampled_one_keeps_its_trace_id() -> None:
    ids = _Ids()
    tp, exporter = _provider(ParentBased(TraceIdRatioBased(0.5)), ids)
    listener = OpenTelemetry(tracer_provider=tp)
    async with ActorSystem(clock=VirtualClock(), listeners=[listener]) as system:
        ref = system.spawn(_hops(0))
        for _ in range(10):
            ref.send_nowait("go")  # no span around: each step is a root
        await system.wait_idle()
    spans = exporter.get_finished_spans()
    steps = [s for s in spans if s.name.startswith(A.SPAN_MACROSTEP)]
    # one trace id drawn per root span (11 steps and the spawn span), half of them sampled:
    # the SDK started each sampled one with the very id it was sampled on
    assert len(spans) == 6 and len(steps) >= 5
    assert all(s.context.trace_id & ((1 << 64) - 1) == _LOW for s in spans)
    assert all(s.context.trace_flags.sampled for s in spans)
    # no span (not even a span id) for the dropped steps, which sent nothing
    assert ids.span_ids == len(spans)
    tp.shutdown()


async def test_the_children_of_an_unsampled_span_stay_unsampled_in_its_trace() -> None:
    ids = _Ids()
    tp, exporter = _provider(ParentBased(ALWAYS_OFF), ids)
    carried = _Carried()
    listener = OpenTelemetry(tracer_provider=tp)
    async with ActorSystem(clock=VirtualClock(), listeners=[listener, carried]) as system:
        ref = system.spawn(_hops(2))
        await system.wait_idle()
        with tp.get_tracer("app").start_as_current_span("request") as app:
            ref.send_nowait("go")
        await system.wait_idle()
    app_sc = app.get_span_context()
    assert not app_sc.trace_flags.sampled
    assert exporter.get_finished_spans() == ()
    hops = [(name, t) for name, t in carried.traces if name in ("go", "hop")]
    assert [name for name, _ in hops] == ["go", "hop", "hop"]
    parents: list[str] = []
    for _, t in hops:
        assert t is not None
        version, trace_id, span_id, flags = t["traceparent"].split("-")
        # the caller's trace, unsampled, with the flags the SDK would give (random trace id)
        assert (version, int(trace_id, 16)) == ("00", app_sc.trace_id)
        assert int(flags, 16) == app_sc.trace_flags
        parents.append(span_id)
    # each hop is the child of the step before it (a span id of its own, never reused)
    assert len(set(parents)) == 3 and parents[0] == f"{app_sc.span_id:016x}"
    # span ids only for what needed one: the app's span and the two steps that sent a hop
    # (the last hop sent nothing; the spawn and initial steps are roots of their own)
    assert ids.span_ids == 3
    tp.shutdown()


class _CountingRatio(TraceIdRatioBased):
    """A sampler of the user's own (a subclass may decide otherwise): counts what it is asked."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.asked = 0

    def should_sample(self, *args: Any, **kw: Any) -> SamplingResult:
        self.asked += 1
        return super().should_sample(*args, **kw)


async def test_a_sampler_of_the_users_own_is_asked_for_every_step() -> None:
    sampler = _CountingRatio(0.0)
    tp, exporter = _provider(sampler, RandomIdGenerator())
    listener = OpenTelemetry(tracer_provider=tp)
    async with ActorSystem(clock=VirtualClock(), listeners=[listener]) as system:
        ref = system.spawn(_hops(3))
        ref.send_nowait("go")
        await system.wait_idle()
    # spawn, the initial step, go and three hops
    assert sampler.asked == 6
    assert exporter.get_finished_spans() == ()
    tp.shutdown()


async def test_no_record_is_built_for_a_dropped_step_when_nothing_measures_it() -> None:
    ids = _Ids()
    tp, exporter = _provider(ParentBased(TraceIdRatioBased(0.5)), ids)
    listener = _Counting(tracer_provider=tp, meter_provider=NoOpMeterProvider())
    async with ActorSystem(clock=VirtualClock(), listeners=[listener]) as system:
        ref = system.spawn(_hops(0))
        for _ in range(10):
            ref.send_nowait("go")
        await system.wait_idle()
    steps = [s for s in exporter.get_finished_spans() if s.name.startswith(A.SPAN_MACROSTEP)]
    # half the steps are sampled: each gets its record, turned into a span with attributes
    assert len(steps) >= 5 and all(s.attributes[A.ACTOR_ID] == ref.id for s in steps)
    # the dropped ones: no record (no meter to count them, no span to describe)
    assert listener.seen.count(MacrostepRecord) == len(steps)
    tp.shutdown()


async def test_a_tracestate_travels_with_the_unsampled_trace() -> None:
    tp, exporter = _provider(ParentBased(ALWAYS_OFF), RandomIdGenerator())
    carried = _Carried()
    listener = OpenTelemetry(tracer_provider=tp)
    incoming = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        "tracestate": "vendor=opaque",
    }
    async with ActorSystem(clock=VirtualClock(), listeners=[listener, carried]) as system:
        ref = system.spawn(_hops(2))
        await system.wait_idle()
        with tp.get_tracer("app").start_as_current_span(
            "request", context=TraceContextTextMapPropagator().extract(incoming)
        ):
            ref.send_nowait("go")
        await system.wait_idle()
    hops = [t for name, t in carried.traces if name in ("go", "hop")]
    assert len(hops) == 3
    for t in hops:
        assert t is not None and t["tracestate"] == "vendor=opaque"
        assert t["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
        assert t["traceparent"].endswith("-00")
    assert exporter.get_finished_spans() == ()
    tp.shutdown()


def test_a_session_keeps_an_unsampled_trace_unsampled() -> None:
    ids = _Ids()
    tp, exporter = _provider(ParentBased(ALWAYS_OFF), ids)
    c = chart(S("a", on=[T("go", "b", actions=(lambda ctx: ctx.send("later", delay=5),))]), S("b"))
    s = c.start(listeners=[OpenTelemetry(tracer_provider=tp)])
    with tp.get_tracer("app").start_as_current_span("request") as app:
        s.send("go")
    (pending,) = s.snapshot().pending
    assert pending.event.trace is not None
    _, trace_id, span_id, flags = pending.event.trace["traceparent"].split("-")
    # the step is a dropped child of the application's span: same trace, unsampled
    assert int(trace_id, 16) == app.get_span_context().trace_id
    assert int(flags, 16) == app.get_span_context().trace_flags
    assert int(span_id, 16) != app.get_span_context().span_id
    assert exporter.get_finished_spans() == ()
    tp.shutdown()
