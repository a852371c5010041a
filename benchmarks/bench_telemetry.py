"""The cost of telemetry on actor throughput (issue 7): A1 and A2 from bench_actors.py with
no listener, with the OpenTelemetry listener on a no-op provider (API only, the default in an
application that configured no SDK), with the SDK sampling 1% of traces (with and without an
SDK meter), and with the SDK and a batch span processor recording every span.

Run: python benchmarks/bench_telemetry.py [--quick] [--backend trio]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import NoOpTracerProvider

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_actors import toggle_chart

from statefleet.actors import ActorSystem
from statefleet.telemetry import OpenTelemetry


class _Discard(SpanExporter):
    """Exports nowhere (measures the SDK's own cost, not a network)."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _listeners(kind: str) -> list[Any]:
    if kind == "none":
        return []
    if kind == "noop":
        return [OpenTelemetry(tracer_provider=NoOpTracerProvider())]
    if kind.startswith("sdk-1%"):
        tp = TracerProvider(sampler=TraceIdRatioBased(0.01))
    else:
        tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=1_000_000))
    mp = NoOpMeterProvider() if kind == "sdk-1%-nometer" else MeterProvider()
    return [OpenTelemetry(tracer_provider=tp, meter_provider=mp)]


async def a1(kind: str, events: int) -> float:
    chart = toggle_chart()
    async with ActorSystem(mailbox_size=events, listeners=_listeners(kind)) as system:
        ref = system.spawn(chart)
        t0 = time.perf_counter()
        for _ in range(events):
            ref.send_nowait("t")
        await system.wait_idle()
        return events / (time.perf_counter() - t0)


async def a2(kind: str, actors: int, per: int) -> float:
    chart = toggle_chart()
    async with ActorSystem(listeners=_listeners(kind)) as system:
        refs = [system.spawn(chart) for _ in range(actors)]
        t0 = time.perf_counter()
        for _ in range(per):
            for ref in refs:
                ref.send_nowait("t")
        await system.wait_idle()
        return actors * per / (time.perf_counter() - t0)


def sdk_floor(events: int) -> float:
    """The SDK's own cost for what a 1%-sampled macrostep asks of it, with no actor: one
    ``start_span`` + ``end`` and one duration histogram point per event (events/s)."""
    tp = TracerProvider(sampler=TraceIdRatioBased(0.01))
    tp.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=1_000_000))
    tracer = tp.get_tracer("bench")
    histogram = MeterProvider().get_meter("bench").create_histogram("d")
    labels = {"statefleet.chart.id": "toggle"}
    t0 = time.perf_counter()
    for _ in range(events):
        tracer.start_span("statefleet.macrostep").end()
        histogram.record(1e-6, labels)
    return events / (time.perf_counter() - t0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    scale = 10 if args.quick else 1
    rows = []
    for kind in ("none", "noop", "sdk-1%-nometer", "sdk-1%", "sdk"):
        best1 = best2 = 0.0
        for _ in range(args.repeat):
            gc.collect()
            best1 = max(best1, anyio.run(a1, kind, 200_000 // scale, backend=args.backend))
            gc.collect()
            best2 = max(best2, anyio.run(a2, kind, 2_000 // scale, 50, backend=args.backend))
        rows.append((kind, best1, best2))
    base1, base2 = rows[0][1], rows[0][2]
    print(f"telemetry cost on actor throughput ({args.backend}; events/s, best of {args.repeat})")
    print(f"{'listener':<34}{'A1 one actor':>16}{'vs none':>9}{'A2 many actors':>18}{'vs none':>9}")
    names = {
        "none": "no listener",
        "noop": "OpenTelemetry, no-op provider",
        "sdk-1%-nometer": "OpenTelemetry, SDK 1%, no meter",
        "sdk-1%": "OpenTelemetry, SDK, 1% sampled",
        "sdk": "OpenTelemetry, SDK + batch export",
    }
    for kind, r1, r2 in rows:
        d1, d2 = r1 / base1 - 1, r2 / base2 - 1
        print(f"{names[kind]:<34}{r1:>16,.0f}{d1:>+9.0%}{r2:>18,.0f}{d2:>+9.0%}")
    floor = max(sdk_floor(200_000 // scale) for _ in range(args.repeat))
    print(f"{'SDK alone, same span + histogram':<34}{floor:>16,.0f}  (the floor for 1% sampled)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
