"""OpenTelemetry and the inspection stream through the actor runtime (asyncio and trio)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from opentelemetry.trace import StatusCode

from statefleet.actors import ActorCrashedError, ActorSystem
from statefleet.core import (
    ActorSpawned,
    InvokeSpec,
    MacrostepRecord,
    RecordsDropped,
    VirtualClock,
)
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


def _span(otel: Otel, chart_id: str, event: str) -> Any:
    return next(
        sp
        for sp in otel.spans(f"{A.SPAN_MACROSTEP} {chart_id}")
        if sp.attributes[A.EVENT_NAME] == event
    )


async def test_parent_invoking_a_child_chart(otel: Otel) -> None:
    child = chart(
        S(
            "working",
            on=[T("finish", "ok", actions=(lambda ctx: ctx.send("progress", target="#_parent"),))],
        ),
        S("ok", kind="final"),
        id="child",
    )
    parent = chart(
        S("idle", on=[T("go", "busy")]),
        S(
            "busy",
            invokes=[InvokeSpec(id="job", src=child)],
            on=[
                T("poke", None, actions=(lambda ctx: ctx.send("finish", target="#_job"),)),
                T("done.invoke.job", "done"),
            ],
        ),
        S("done"),
        id="parent",
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[_listener(otel)]) as system:
        ref = system.spawn(parent, id="p")
        await ref.ask("go")
        await ref.ask("poke")
        await ref.wait_for("done", timeout=10)
    go = _span(otel, "parent", "go")
    poke = _span(otel, "parent", "poke")
    finish = _span(otel, "child", "finish")
    progress = _span(otel, "parent", "progress")
    # parent -> child: the child's macrostep is a child span of the parent's "poke" step
    assert finish.parent is not None and finish.parent.span_id == poke.context.span_id
    # child -> parent: "progress" is a child span of the child's "finish" step
    assert progress.parent is not None and progress.parent.span_id == finish.context.span_id
    assert (
        progress.context.trace_id == poke.context.trace_id
    )  # one trace: poke -> finish -> progress
    (inv,) = otel.spans(A.SPAN_INVOKE)
    assert inv.attributes[A.INVOKE_ID] == "job"
    assert [link.context.span_id for link in inv.links] == [go.context.span_id]
    assert otel.spans(A.SPAN_SPAWN)


async def test_delayed_send_is_a_child_of_the_step_that_scheduled_it(otel: Otel) -> None:
    c = chart(
        S(
            "a",
            on=[T("arm", None, actions=(lambda ctx: ctx.send("fire", delay=30),)), T("fire", "b")],
        ),
        S("b"),
        id="timer",
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[_listener(otel)]) as system:
        ref = system.spawn(c)
        await ref.ask("arm")
        await ref.wait_for("b", timeout=60)
    arm, fire = _span(otel, "timer", "arm"), _span(otel, "timer", "fire")
    assert fire.parent is not None and fire.parent.span_id == arm.context.span_id


async def test_errors_and_restarts_are_recorded(otel: Otel) -> None:
    def boom(ctx: Any) -> None:
        raise ValueError("card declined")

    c = chart(
        S(
            "a",
            on=[
                T("pay", None, actions=(boom,)),
                T("loop", "b"),
            ],
        ),
        S("b", on=[T(None, "b")]),  # an eventless self-loop: InfiniteLoopError, a crash
        id="flaky",
        max_microsteps=50,
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[_listener(otel)]) as system:
        ref = system.spawn(c)
        await ref.ask("pay")
        with pytest.raises(ActorCrashedError):
            await ref.ask("loop")
        await system.sleep(60)  # virtual time: past the restart backoff
        assert ref.snapshot().configuration == ("a",)  # restarted from its last snapshot
    pay = _span(otel, "flaky", "pay")
    assert pay.status.status_code == StatusCode.ERROR
    assert "card declined" in (pay.status.description or "")
    (restart,) = otel.spans(A.SPAN_RESTART)
    assert restart.status.status_code == StatusCode.ERROR
    assert "InfiniteLoopError" in (restart.status.description or "")
    assert sum(p.value for p in otel.metric_points(A.METRIC_RESTARTS)) == 1


async def test_inspect_streams_records_and_tells_a_slow_reader_what_it_lost() -> None:
    c = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="toggle")
    async with ActorSystem(clock=VirtualClock()) as system:
        async with system.inspect(buffer=8) as records:
            ref = system.spawn(c, id="x")
            for _ in range(20):
                await ref.ask("t")
            got: list[Any] = []
            with anyio.fail_after(5):
                async for r in records:
                    got.append(r)
                    if len(got) == 9:
                        break
        assert isinstance(got[0], ActorSpawned)
        assert any(isinstance(r, MacrostepRecord) for r in got)
        dropped = [r for r in got if isinstance(r, RecordsDropped)]
        assert dropped and dropped[0].count > 0
        assert records.dropped_total >= dropped[0].count


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # SQLiteStore: asyncio only
async def test_commits_are_traced_and_measured(otel: Otel, tmp_path: Any) -> None:
    from statefleet.persistence import SQLiteStore

    c = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="stored")
    async with ActorSystem(
        store=SQLiteStore(str(tmp_path / "t.db")), charts=[c], listeners=[_listener(otel)]
    ) as system:
        ref = system.ref(c, "one")
        await ref.ask("t")
        await ref.ask("t")
    commits = otel.spans(A.SPAN_COMMIT)
    assert commits and all(sp.attributes[A.ACTOR_ID] == "one" for sp in commits)
    assert {sp.attributes[A.SNAPSHOT_VERSION] for sp in commits} >= {1, 2}
    (latency,) = otel.metric_points(A.METRIC_COMMIT_LATENCY)
    assert latency.count == len(commits)
    assert otel.metric_points(A.METRIC_COMMIT_BATCH)


async def test_mailbox_depth_gauge(otel: Otel) -> None:
    c = chart(S("a", on=[T("t", "a")]), id="busy")
    listener = _listener(otel)
    async with ActorSystem(clock=VirtualClock(), listeners=[listener]) as system:
        listener.observe(system)
        one, two = system.spawn(c), system.spawn(c)
        for _ in range(3):
            one.send_nowait("t")
        two.send_nowait("t")
        # collected before the dispatcher ran: four events are waiting
        (point,) = otel.metric_points(A.METRIC_MAILBOX_DEPTH)
        assert point.value == 4 and point.attributes[A.CHART_ID] == "busy"
        await system.wait_idle()
        assert otel.metric_points(A.METRIC_MAILBOX_DEPTH) == []
