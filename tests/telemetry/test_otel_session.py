"""OpenTelemetry spans and metrics from the sync Session (the actor tests cover actors)."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import StatusCode

from statefleet.core import InvokeSpec
from statefleet.telemetry import OpenTelemetry
from statefleet.telemetry import attributes as A
from tests.core._build import S, T, chart
from tests.telemetry.conftest import Otel


def _listener(otel: Otel) -> OpenTelemetry:
    return OpenTelemetry(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)


def test_one_span_per_macrostep_with_attributes_and_transition_events(otel: Otel) -> None:
    c = chart(S("idle", on=[T("go", "busy")]), S("busy", on=[T("done", "idle")]), id="job")
    s = c.start(listeners=[_listener(otel)])
    s.send("go")
    spans = otel.spans(A.SPAN_MACROSTEP)
    assert [sp.name for sp in spans] == ["statefleet.macrostep job"] * 2
    go = spans[1]
    assert go.attributes[A.EVENT_NAME] == "go"
    assert go.attributes[A.CHART_ID] == "job"
    assert go.attributes[A.CHART_VERSION] == "1"
    assert go.attributes[A.ACTOR_ID] == s.session_id
    assert list(go.attributes[A.CONFIG_BEFORE]) == ["idle"]
    assert list(go.attributes[A.CONFIG_AFTER]) == ["busy"]
    assert go.attributes[A.MICROSTEPS] == 1
    assert go.attributes[A.SNAPSHOT_VERSION] == 1
    (ev,) = go.events
    assert ev.name == A.TRANSITION_EVENT
    assert list(ev.attributes[A.TRANSITION_EXITED]) == ["idle"]
    assert list(ev.attributes[A.TRANSITION_ENTERED]) == ["busy"]
    assert go.status.status_code == StatusCode.UNSET
    assert otel.spans(A.SPAN_SPAWN)[0].attributes[A.CHART_ID] == "job"


def test_errors_are_recorded_on_the_span_with_status_error(otel: Otel) -> None:
    def boom(ctx: Any) -> None:
        raise ValueError("card declined")

    c = chart(S("a", on=[T("pay", "b", actions=(boom,))]), S("b"))
    s = c.start(listeners=[_listener(otel)])
    s.send("pay")
    span = otel.spans(A.SPAN_MACROSTEP)[-1]
    assert span.status.status_code == StatusCode.ERROR
    assert "card declined" in (span.status.description or "")
    assert any(e.name == "exception" for e in span.events)
    errors = otel.metric_points(A.METRIC_ERRORS)
    assert sum(p.value for p in errors) == 1


def test_events_sent_from_a_macrostep_carry_its_trace_context(otel: Otel) -> None:
    child = chart(
        S("c", entry=[lambda ctx: ctx.send("hello", target="#_parent")]),
        id="child",
    )
    parent = chart(
        S("a", on=[T("go", "b", actions=(lambda ctx: ctx.send("later", delay=5),))]),
        S("b", invokes=[InvokeSpec(id="kid", src=child)], on=[T("later", "c")]),
        S("c"),
        id="parent",
    )
    s = parent.start(listeners=[_listener(otel)])
    s.send("go")
    go_span = next(
        sp
        for sp in otel.spans("statefleet.macrostep parent")
        if sp.attributes[A.EVENT_NAME] == "go"
    )
    # the delayed event stored in the snapshot carries the trace context of "go"
    (pending,) = s.snapshot().pending
    assert pending.event.trace is not None and "traceparent" in pending.event.trace
    s.advance(5)
    later_span = otel.spans("statefleet.macrostep parent")[-1]
    assert later_span.attributes[A.EVENT_NAME] == "later"
    assert later_span.parent is not None
    assert later_span.parent.span_id == go_span.context.span_id
    assert later_span.context.trace_id == go_span.context.trace_id


def test_delayed_event_links_to_its_sender_after_restore(otel: Otel) -> None:
    c = chart(
        S(
            "a",
            on=[T("arm", None, actions=(lambda ctx: ctx.send("fire", delay=60),)), T("fire", "b")],
        ),
        S("b"),
        id="timer",
    )
    listener = _listener(otel)
    s = c.start(listeners=[listener])
    s.send("arm")
    arm_span = otel.spans(A.SPAN_MACROSTEP)[-1]
    # "restart": a new session (and a new listener) from the snapshot
    restored = c.restore(s.snapshot(), listeners=[_listener(otel)])
    restored.advance(60)
    fire_span = otel.spans(A.SPAN_MACROSTEP)[-1]
    assert fire_span.attributes[A.EVENT_NAME] == "fire"
    assert fire_span.parent is not None and fire_span.parent.span_id == arm_span.context.span_id


def test_macrostep_metrics(otel: Otel) -> None:
    c = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="toggle")
    s = c.start(listeners=[_listener(otel)])
    for _ in range(3):
        s.send("t")
    points = otel.metric_points(A.METRIC_EVENTS)
    by_event = {p.attributes[A.EVENT_NAME]: p.value for p in points}
    assert by_event == {"(start)": 1, "t": 3}
    (hist,) = otel.metric_points(A.METRIC_MACROSTEP_DURATION)
    assert hist.count == 4


def test_library_never_sets_a_global_provider(otel: Otel) -> None:
    before = trace.get_tracer_provider()
    c = chart(S("a"))
    c.start(listeners=[_listener(otel)])
    assert trace.get_tracer_provider() is before


def test_noop_provider_costs_nothing_visible() -> None:
    # with only the API installed (no SDK provider), the listener must work and record nothing
    c = chart(S("a", on=[T("t", "a")]))
    s = c.start(listeners=[OpenTelemetry()])
    s.send("t")
    assert s.configuration == {"a"}


def test_invocation_spans_are_linked_to_the_invoking_macrostep(otel: Otel) -> None:
    child = chart(S("c", on=[T("finish", "cz")]), S("cz", kind="final"), id="child")
    parent = chart(
        S("a", on=[T("go", "b")]),
        S(
            "b",
            invokes=[InvokeSpec(id="kid", src=child)],
            on=[
                T("poke", None, actions=(lambda ctx: ctx.send("finish", target="#_kid"),)),
                T("done.invoke.kid", "c"),
            ],
        ),
        S("c"),
        id="parent",
    )
    s = parent.start(listeners=[_listener(otel)])
    s.send("go")
    assert otel.spans(A.SPAN_INVOKE) == []  # still running: no span held open in the exporter
    s.send("poke")
    (inv,) = otel.spans(A.SPAN_INVOKE)
    go = next(sp for sp in otel.spans(A.SPAN_MACROSTEP) if sp.attributes[A.EVENT_NAME] == "go")
    assert inv.attributes[A.INVOKE_ID] == "kid"
    assert inv.parent is None
    assert [link.context.span_id for link in inv.links] == [go.context.span_id]
    # the child chart's macrosteps are traced too
    assert otel.spans("statefleet.macrostep child")
    assert s.configuration == {"c"}
