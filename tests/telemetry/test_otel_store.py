"""Traces with a store (issue 12, item 5), under the OpenTelemetry SDK's in-memory exporter.

With a store, one order must be one trace: the caller's span is the parent of the macrostep
its ``send`` / ``ask`` / ``send_nowait`` causes (the trace context rides with the event
through the durable inbox), a commit span is a child of its macrostep, the step taking an
invocation's result is linked to the invoke span, nothing is published for a step that was
never committed, and the active-actors gauge goes down with the labels it went up with.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from statefleet.actors import ActorCrashedError, ActorSystem
from statefleet.core import InvokeSpec, PersistenceError, VirtualClock
from statefleet.persistence import MemoryStore
from statefleet.telemetry import OpenTelemetry
from statefleet.telemetry import attributes as A
from tests.core._build import S, T, chart
from tests.telemetry.conftest import Otel

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


def _listener(otel: Otel) -> OpenTelemetry:
    return OpenTelemetry(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)


def _steps(otel: Otel, event: str) -> list[Any]:
    return [
        sp
        for sp in otel.spans(A.SPAN_MACROSTEP)
        if sp.attributes and sp.attributes.get(A.EVENT_NAME) == event
    ]


TOGGLE = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="toggle")


async def test_the_callers_span_is_the_parent_of_the_steps_it_causes(otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    async with ActorSystem(
        clock=VirtualClock(), store=MemoryStore(), listeners=[_listener(otel)]
    ) as system:
        ref = system.ref(TOGGLE, "one")
        live = system.spawn(TOGGLE, id="two")
        with tracer.start_as_current_span("http POST /orders", kind=SpanKind.SERVER) as app:
            await ref.send("t")  # through the durable inbox
            await ref.ask("t")
            live.send_nowait("t")
            await live.ask("t")
        await system.wait_idle()
    steps = _steps(otel, "t")
    assert len(steps) == 4
    for sp in steps:
        assert sp.parent is not None and sp.parent.span_id == app.get_span_context().span_id
        assert sp.context.trace_id == app.get_span_context().trace_id


async def test_a_commit_span_is_a_child_of_its_macrostep(otel: Otel) -> None:
    async with ActorSystem(
        clock=VirtualClock(), store=MemoryStore(), listeners=[_listener(otel)]
    ) as system:
        ref = system.ref(TOGGLE, "one")
        await ref.ask("t")
    (step,) = _steps(otel, "t")
    commits = [sp for sp in otel.spans(A.SPAN_COMMIT) if sp.attributes[A.SNAPSHOT_VERSION] == 1]
    (commit,) = commits
    assert commit.parent is not None and commit.parent.span_id == step.context.span_id
    assert commit.context.trace_id == step.context.trace_id


async def test_an_invocation_result_is_linked_to_its_invoke_span(otel: Otel) -> None:
    async def pay(inv: Any) -> str:
        return "ok"

    async def fail(inv: Any) -> str:
        raise ValueError("declined")

    c = chart(
        S("idle", on=[T("go", "paying"), T("bad", "refusing")]),
        S("paying", invokes=[InvokeSpec(id="pay", src=pay)], on=[T("done.invoke.pay", "idle")]),
        S(
            "refusing",
            invokes=[InvokeSpec(id="fail", src=fail)],
            on=[T("error.invoke.fail", "idle")],
        ),
        id="payer",
    )
    async with ActorSystem(
        clock=VirtualClock(), store=MemoryStore(), listeners=[_listener(otel)]
    ) as system:
        ref = system.ref(c, "p")
        live = await ref.activate()
        assert (await ref.ask("go")).configuration == ("paying",)
        await live.wait_for("idle", timeout=60)
        assert (await ref.ask("bad")).configuration == ("refusing",)
        await live.wait_for("idle", timeout=60)
    invokes = {sp.attributes[A.INVOKE_ID]: sp for sp in otel.spans(A.SPAN_INVOKE)}
    for event, iid in (("done.invoke.pay", "pay"), ("error.invoke.fail", "fail")):
        (step,) = _steps(otel, event)
        assert [link.context.span_id for link in step.links] == [invokes[iid].context.span_id], (
            event
        )


class _FailingStore(MemoryStore):
    fail = False

    async def commit_many(self, commits: Any) -> Any:
        if self.fail:
            self.fail = False
            raise PersistenceError("disk full")
        return await super().commit_many(commits)


async def test_a_step_that_was_never_committed_is_never_published(otel: Otel) -> None:
    store = _FailingStore()
    async with ActorSystem(clock=VirtualClock(), store=store, listeners=[_listener(otel)]) as sys:
        ref = sys.ref(TOGGLE, "one")
        await ref.ask("t")
        store.fail = True
        with pytest.raises(ActorCrashedError, match="disk full"):
            await ref.ask("t")
        await sys.sleep(60)  # past the restart backoff (virtual time)
        # restarted from version 1 ("b"): the failed step is gone
        assert (await ref.ask("t")).configuration == ("a",)
    # "t" was stepped three times and committed twice (versions 1, 2): the step whose
    # commit failed was never published, neither as a span nor as a metric point
    assert sorted(sp.attributes[A.SNAPSHOT_VERSION] for sp in _steps(otel, "t")) == [1, 2]
    counted = otel.metric_points(A.METRIC_EVENTS)
    assert sum(p.value for p in counted if p.attributes[A.EVENT_NAME] == "t") == 2


async def test_the_active_gauge_goes_down_with_the_labels_it_went_up_with(otel: Otel) -> None:
    async with ActorSystem(clock=VirtualClock(), listeners=[_listener(otel)]) as system:
        one = system.spawn(TOGGLE)
        system.spawn(TOGGLE)
        await one.stop()
        points = otel.metric_points(A.METRIC_ACTIVE_ACTORS)
        assert [(p.attributes, p.value) for p in points] == [({A.CHART_ID: "toggle"}, 1)]
    points = otel.metric_points(A.METRIC_ACTIVE_ACTORS)
    assert [(p.attributes, p.value) for p in points] == [({A.CHART_ID: "toggle"}, 0)]
