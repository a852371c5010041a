"""Supervision: unhandled error events escalate by policy; crashes restart from the last
snapshot with backoff and an intensity limit, then escalate."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import ActorError, ChartSpec, InvokeSpec, VirtualClock, compile_chart
from statefleet.actors import ActorCrashedError, ActorInvocation, ActorSystem, Supervision
from statefleet.core import ActorEscalated, ActorRestarted, ActorStopped, AfterSpec, TransitionSpec
from tests.actors._charts import Recorder, S, T, chart, inc, record

pytestmark = pytest.mark.anyio


def fail(ctx: Any) -> None:
    raise ValueError("bad input")


def crashy(**data: Any) -> Any:
    """``inc`` counts; ``boom`` loops forever inside one macrostep (InfiniteLoopError: a crash
    of the runtime around the actor, not a user error)."""
    spec = ChartSpec(
        id="crashy",
        states=[
            S(
                "a",
                on=[
                    T("inc", actions=(inc("n"),)),
                    T("boom", actions=(lambda ctx: ctx.raise_("loop"),)),
                    T("loop", actions=(lambda ctx: ctx.raise_("loop"),)),
                    T("fail", actions=(fail,)),
                    T("finish", "end"),
                ],
            ),
            S("end", kind="final"),
        ],
        max_microsteps=50,
    )
    return compile_chart(spec)


# -- error events ---------------------------------------------------------------------------
async def test_an_unhandled_error_in_an_invoked_child_escalates_to_the_parent() -> None:
    got: list[Any] = []
    child = chart(S("c", on=[T("fail", actions=(fail,))]), id="child")
    parent = chart(
        S(
            "p",
            invokes=[InvokeSpec(id="kid", src=child)],
            on=[T("error.child", actions=(record(got),))],
        )
    )
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        p = system.spawn(parent, id="p")
        kid = system.get("p/kid")
        assert kid is not None
        await kid.send("fail")
        await p.wait_for(lambda s: bool(got))
        assert kid.status == "active"  # a user error does not stop it
    assert got == [
        (
            "error.child.kid",
            {"child": "p/kid", "event": "error.execution", "error": "bad input"},
        )
    ]
    esc = rec.of(ActorEscalated)
    assert [(r.actor, r.to) for r in esc] == [("p/kid", "p")]
    assert "bad input" in esc[0].error


async def test_escalation_climbs_until_a_chart_handles_it() -> None:
    got: list[Any] = []
    grandchild = chart(S("g", entry=[fail]), id="grandchild")
    child = chart(S("c", invokes=[InvokeSpec(id="g", src=grandchild)]), id="child")
    parent = chart(
        S("p", invokes=[InvokeSpec(id="c", src=child)], on=[T("error", actions=(record(got),))])
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        p = system.spawn(parent, id="top")
        await p.wait_for(lambda s: bool(got))
    name, data = got[0]
    assert name == "error.child.c"
    assert data["event"] == "error.child.g" and data["child"] == "top/c"


async def test_a_handled_error_is_not_escalated() -> None:
    got: list[Any] = []
    c = chart(S("a", on=[T("fail", actions=(fail,)), T("error.execution", actions=(record(got),))]))
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(c)
        await a.ask("fail")
        await system.wait_idle()
    assert got == [("error.execution", {"error": "bad input"})]
    assert rec.of(ActorEscalated) == []


async def test_at_the_top_an_unhandled_error_is_reported_and_the_actor_goes_on() -> None:
    rec = Recorder()
    c = chart(S("a", on=[T("fail", actions=(fail,)), T("inc", actions=(inc("n"),))]), data={"n": 0})
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(c, id="top")
        a.send_nowait("fail")
        snap = await a.ask("inc")
        assert snap.context["n"] == 1 and a.status == "active"
    assert [(r.actor, r.to) for r in rec.of(ActorEscalated)] == [("top", None)]


async def test_error_policy_ignore_and_stop() -> None:
    got: list[Any] = []
    child = chart(S("c", on=[T("fail", actions=(fail,))]), id="child")
    parent = chart(
        S(
            "p",
            on=[
                T(
                    "spawn_ignoring",
                    actions=(lambda ctx: ctx.owner.spawn(child, id="ign", on_error="ignore"),),
                ),
                T(
                    "spawn_stopping",
                    actions=(lambda ctx: ctx.owner.spawn(child, id="stp", on_error="stop"),),
                ),
                T("spawn_escalating", actions=(lambda ctx: ctx.owner.spawn(child, id="esc"),)),
                T("error", actions=(record(got),)),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        p = system.spawn(parent)
        await p.ask("spawn_ignoring")
        await p.ask("spawn_stopping")
        ign, stp = system.get("ign"), system.get("stp")
        assert ign is not None and stp is not None
        await ign.ask("fail")
        await stp.ask("fail")
        await system.wait_idle()
        assert ign.status == "active"
        assert stp.status == "failed"
        assert got == []  # "stop" stops the child quietly; "ignore" drops the error
        await p.ask("spawn_escalating")
        esc = system.get("esc")
        assert esc is not None
        await esc.ask("fail")  # the default: escalate to the parent
        await p.wait_for(lambda s: bool(got), timeout=10)
        assert esc.status == "active"
    assert got == [
        ("error.child.esc", {"child": "esc", "event": "error.execution", "error": "bad input"})
    ]


async def test_error_policy_stop_on_an_invoked_child_fails_the_invocation() -> None:
    got: list[Any] = []
    child = chart(S("c", entry=[fail]), id="child")
    parent = chart(
        S(
            "p",
            invokes=[InvokeSpec(id="kid", src=child)],
            on=[T("error.invoke.kid", "failed", actions=(record(got),))],
        ),
        S("failed"),
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        # invoked children inherit their parent's supervision
        p = system.spawn(parent, on_error="stop")
        await p.wait_for("failed", timeout=60)
        assert p.status == "active"
    assert got[0][0] == "error.invoke.kid"
    assert "bad input" in got[0][1]["error"]


def test_supervision_settings_are_validated() -> None:
    with pytest.raises(ActorError, match="on_error"):
        Supervision(on_error="explode")  # type: ignore[arg-type]
    with pytest.raises(ActorError, match="restart"):
        Supervision(restart="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ActorError, match="max_restarts"):
        Supervision(max_restarts=-1)


# -- crashes --------------------------------------------------------------------------------
NO_JITTER = Supervision(backoff=0.1, jitter=0.0, max_restarts=3, period=60.0)


async def test_a_crash_restarts_from_the_last_snapshot_not_the_initial_state() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec], supervision=NO_JITTER) as system:
        a = system.spawn(crashy(), id="c", context={"n": 0})
        for _ in range(3):
            await a.ask("inc")
        with pytest.raises(ActorCrashedError, match="InfiniteLoopError"):
            await a.ask("boom")
        assert a.status == "restarting"
        snap = await a.ask("inc")  # queued while restarting, processed after the restart
        assert snap.context["n"] == 4
        assert a.status == "active"
    (r,) = rec.of(ActorRestarted)
    assert r.actor == "c" and r.attempt == 1 and r.delay == pytest.approx(0.1)
    assert r.from_version == 3 and "InfiniteLoopError" in r.error


async def test_checkpoint_step_restores_exactly_the_state_before_the_crashing_event() -> None:
    policies: list[Any] = [("step", 3), ("batch", 0)]
    for policy, expected in policies:
        async with ActorSystem(
            clock=VirtualClock(), supervision=NO_JITTER, checkpoint=policy
        ) as system:
            a = system.spawn(crashy(), context={"n": 0})
            for ev in ("inc", "inc", "inc", "boom"):
                a.send_nowait(ev)  # one batch
            await system.sleep(1)  # the restart is due after 0.1 s
            assert a.status == "active"
            # "step" lost nothing; "batch" went back to the start of the batch (reported)
            assert a.context["n"] == expected


async def test_restarts_back_off_exponentially_then_escalate_past_the_limit() -> None:
    rec = Recorder()
    got: list[Any] = []
    parent = chart(
        S(
            "p",
            on=[
                T(
                    "spawn",
                    actions=(lambda ctx: ctx.owner.spawn(crashy(), id="c", context={"n": 0}),),
                ),
                T("error.child", actions=(record(got),)),
            ],
        )
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock, listeners=[rec], supervision=NO_JITTER) as system:
        p = system.spawn(parent, id="p")
        await p.ask("spawn")
        c = system.get("c")
        assert c is not None
        times = []
        for _ in range(3):
            with pytest.raises(ActorCrashedError):
                await c.ask("boom")
            times.append(clock.now())
            await c.wait_for(lambda s, c=c: c.status == "active")
        with pytest.raises(ActorCrashedError):
            await c.ask("boom")  # the 4th crash within the period: escalate
        assert c.status == "failed"
        await p.wait_for(lambda s: bool(got))
    restarts = rec.of(ActorRestarted)
    assert [r.attempt for r in restarts] == [1, 2, 3]
    assert [r.delay for r in restarts] == pytest.approx([0.1, 0.2, 0.4])
    assert [r.ts for r in restarts] == pytest.approx([0.1, 0.3, 0.7])
    esc = rec.of(ActorEscalated)
    assert [(r.actor, r.to) for r in esc] == [("c", "p")]
    assert "restart limit" in esc[0].error
    assert [r.reason for r in rec.of(ActorStopped) if r.actor == "c"] == ["failed"]
    assert got[0][0] == "error.child.c"


async def test_restart_intensity_counts_crashes_within_the_period_only() -> None:
    sup = Supervision(backoff=0.1, jitter=0.0, max_restarts=1, period=5.0)
    clock = VirtualClock()
    async with ActorSystem(clock=clock, supervision=sup) as system:
        a = system.spawn(crashy(), context={"n": 0})
        for _ in range(3):
            with pytest.raises(ActorCrashedError):
                await a.ask("boom")
            await a.wait_for(lambda s: a.status == "active")
            await system.sleep(10)  # the period passes: the count starts again
        assert a.status == "active"


async def test_jittered_backoff_stays_within_bounds() -> None:
    sup = Supervision(backoff=1.0, jitter=0.5, max_restarts=10, period=100.0)
    rec = Recorder()
    async with ActorSystem(
        clock=VirtualClock(), supervision=sup, listeners=[rec], seed=7
    ) as system:
        a = system.spawn(crashy(), context={"n": 0})
        for _ in range(3):
            with pytest.raises(ActorCrashedError):
                await a.ask("boom")
            await a.wait_for(lambda s: a.status == "active")
    delays = [r.delay for r in rec.of(ActorRestarted)]
    for base, d in zip((1.0, 2.0, 4.0), delays, strict=True):
        assert base <= d <= base * 1.5


async def test_a_temporary_actor_is_not_restarted() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(crashy(), restart="temporary", id="t")
        with pytest.raises(ActorCrashedError):
            await a.ask("boom")
        assert a.status == "failed"
    assert rec.of(ActorRestarted) == []
    assert [(r.actor, r.to) for r in rec.of(ActorEscalated)] == [("t", None)]


async def test_without_a_snapshot_a_crash_escalates_instead_of_restarting_from_scratch() -> None:
    async with ActorSystem(clock=VirtualClock(), checkpoint="none") as system:
        a = system.spawn(crashy(), context={"n": 0})
        await a.ask("inc")
        with pytest.raises(ActorCrashedError):
            await a.ask("boom")
        assert a.status == "failed"


async def test_a_permanent_actor_that_finishes_starts_again_from_its_initial_state() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec], supervision=NO_JITTER) as system:
        a = system.spawn(crashy(), restart="permanent", context={"n": 10})
        await a.ask("inc")
        await a.ask("finish")
        snap = await a.wait_for(lambda s: a.status == "active")
        assert snap.configuration == ("a",) and snap.context["n"] == 10
    (r,) = rec.of(ActorRestarted)
    assert r.from_version == 0 and "final state" in r.error


async def test_timers_survive_a_restart_and_fire_at_their_original_due_time() -> None:
    fired: list[float] = []
    spec = ChartSpec(
        id="timed",
        states=[
            S(
                "a",
                after=[
                    AfterSpec(10.0, TransitionSpec(actions=(lambda ctx: fired.append(ctx.now),)))
                ],
                on=[
                    T("boom", actions=(lambda ctx: ctx.raise_("loop"),)),
                    T("loop", actions=(lambda ctx: ctx.raise_("loop"),)),
                ],
            )
        ],
        max_microsteps=20,
    )
    async with ActorSystem(clock=VirtualClock(), supervision=NO_JITTER) as system:
        a = system.spawn(compile_chart(spec))
        await system.sleep(3)
        with pytest.raises(ActorCrashedError):
            await a.ask("boom")
        await system.sleep(20)
    assert fired == [10.0]


async def test_invocations_are_cancelled_by_a_crash_and_started_again_after_the_restart() -> None:
    starts: list[float] = []
    cleanups: list[float] = []

    async def worker(inv: ActorInvocation) -> None:
        starts.append(inv.system.now)
        try:
            await anyio.sleep_forever()
        finally:
            cleanups.append(inv.system.now)

    spec = ChartSpec(
        id="inv",
        states=[
            S(
                "a",
                invokes=[InvokeSpec(id="w", src=worker)],
                on=[
                    T("boom", actions=(lambda ctx: ctx.raise_("loop"),)),
                    T("loop", actions=(lambda ctx: ctx.raise_("loop"),)),
                ],
            )
        ],
        max_microsteps=20,
    )
    async with ActorSystem(clock=VirtualClock(), supervision=NO_JITTER) as system:
        a = system.spawn(compile_chart(spec))
        await system.sleep(1)
        with pytest.raises(ActorCrashedError):
            await a.ask("boom")
        await system.sleep(1)
        assert starts == [0.0, pytest.approx(1.1)]
        assert cleanups == [1.0]
