"""Trace a chart with OpenTelemetry: spans per macrostep, printed to the console.

Run: python examples/tracing_otel.py
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart
from statefleet.telemetry import MetricsListener, OpenTelemetry

# the application owns its providers; statefleet never sets a global one
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))

order = compile_chart(
    ChartSpec(
        "order",
        states=[
            StateSpec(
                "cart", transitions=[TransitionSpec(event=("checkout",), target=("paying",))]
            ),
            StateSpec("paying", transitions=[TransitionSpec(event=("paid",), target=("shipped",))]),
            StateSpec("shipped", kind="final"),
        ],
    )
)

metrics = MetricsListener()
session = order.start(listeners=[OpenTelemetry(tracer_provider=provider), metrics])
session.send("checkout")
session.send("paid")

for span in exporter.get_finished_spans():
    attrs = span.attributes or {}
    if span.name.startswith("statefleet.macrostep"):
        before = list(attrs["statefleet.configuration.before"])
        after = list(attrs["statefleet.configuration.after"])
        print(f"{span.name}: {attrs['statefleet.event.name']}: {before} -> {after}")
print("transitions:", metrics.summary()["transitions"])
