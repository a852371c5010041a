"""A crash mid-step restarts from the state before that step, whatever the step changed in
place before it crashed: the datamodel's lists and dicts, the pending timers (issue 16: the
crash checkpoint is kept raw and made a snapshot only when a crash needs it)."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import ChartSpec, DataSpec, VirtualClock, compile_chart
from statefleet.actors import ActorCrashedError, ActorSystem, Supervision
from tests.actors._charts import S, T

pytestmark = pytest.mark.anyio

NO_JITTER = Supervision(backoff=0.1, jitter=0.0, max_restarts=3, period=60.0)


def add(ctx: Any) -> None:
    """Mutates the datamodel in place: a list appended to, a nested dict and a counter."""
    c = ctx.context
    c["items"].append(len(c["items"]))
    c["totals"]["sum"] += 1
    c["n"] += 1


def crashy() -> Any:
    """``add`` mutates in place; ``boom`` mutates in place, cancels the timer ``t``, then
    loops forever inside its macrostep (InfiniteLoopError: a crash around the actor)."""
    spec = ChartSpec(
        id="crashy",
        data=[DataSpec("items", None), DataSpec("totals", None), DataSpec("n", 0)],
        states=[
            S(
                "a",
                on=[
                    T("add", actions=(add,)),
                    T("arm", actions=(lambda ctx: ctx.send("rang", delay=5.0, sendid="t"),)),
                    T("rang", actions=(lambda ctx: ctx.context.__setitem__("rang", True),)),
                    T(
                        "boom",
                        actions=(add, lambda ctx: ctx.cancel("t"), lambda ctx: ctx.raise_("loop")),
                    ),
                    T("loop", actions=(lambda ctx: ctx.raise_("loop"),)),
                ],
            ),
        ],
        max_microsteps=50,
    )
    return compile_chart(spec)


@pytest.mark.parametrize("policy", ["batch", "step"])
async def test_a_crash_after_in_place_mutation_restarts_from_the_pre_step_state(
    policy: Any,
) -> None:
    clock = VirtualClock()
    async with ActorSystem(clock=clock, supervision=NO_JITTER, checkpoint=policy) as system:
        a = system.spawn(crashy(), context={"items": [], "totals": {"sum": 0}})
        await a.ask("add")
        await a.ask("add")
        await a.ask("arm")
        with pytest.raises(ActorCrashedError, match="InfiniteLoopError"):
            await a.ask("boom")  # one event in its batch, as in a ping-pong
        await system.sleep(1)  # the restart is due after 0.1 s
        assert a.status == "active"
        ctx = a.context
        assert ctx["items"] == [0, 1]
        assert ctx["totals"] == {"sum": 2}
        assert ctx["n"] == 2
        assert a.snapshot().version == 3
        # the timer the crashing step cancelled is pending again and fires when it was due
        await system.sleep(5)
        assert a.context.get("rang") is True


@pytest.mark.parametrize("policy", ["batch", "step"])
async def test_a_send_crashing_mid_batch_restarts_from_the_step_before_it(policy: Any) -> None:
    async with ActorSystem(
        clock=VirtualClock(), supervision=NO_JITTER, checkpoint=policy
    ) as system:
        a = system.spawn(crashy(), context={"items": [], "totals": {"sum": 0}})
        await a.ask("add")
        for ev in ("add", "add", "boom"):
            a.send_nowait(ev)  # one batch
        await system.sleep(1)
        assert a.status == "active"
        # "step": the two adds of the batch kept; "batch": back to the start of the batch
        expected = 3 if policy == "step" else 1
        assert a.context["items"] == list(range(expected))
        assert a.context["totals"] == {"sum": expected}


async def test_an_actor_asked_once_then_sent_to_restarts_from_its_latest_state() -> None:
    # the ask keeps its reply as the checkpoint while the actor's version holds; events sent
    # after it move the actor on without touching that snapshot, so the next batch's
    # checkpoint is taken afresh, and a crash restarts from there, not from the ask
    async with ActorSystem(clock=VirtualClock(), supervision=NO_JITTER) as system:
        a = system.spawn(crashy(), context={"items": [], "totals": {"sum": 0}})
        await a.ask("add")
        for _ in range(3):
            a.send_nowait("add")
        await system.wait_idle()
        with pytest.raises(ActorCrashedError, match="InfiniteLoopError"):
            await a.ask("boom")
        await system.sleep(1)  # the restart is due after 0.1 s
        assert a.status == "active"
        assert a.context["n"] == 4
        assert a.context["items"] == [0, 1, 2, 3]
        assert a.snapshot().version == 4


def flat() -> Any:
    """A flat datamodel (every value immutable: the checkpoint's copy shares them):
    ``inc`` bumps ``n`` and rewrites ``label``; ``boom`` does the same, then loops forever."""

    def inc(ctx: Any) -> None:
        c = ctx.context
        c["n"] += 1
        c["label"] = f"n={c['n']}"
        c["ratio"] = c["n"] / 2

    spec = ChartSpec(
        id="flat",
        data=[DataSpec("n", 0), DataSpec("label", "n=0"), DataSpec("ratio", 0.0)],
        states=[
            S(
                "a",
                on=[
                    T("inc", actions=(inc,)),
                    T("boom", actions=(inc, lambda ctx: ctx.raise_("loop"))),
                    T("loop", actions=(lambda ctx: ctx.raise_("loop"),)),
                ],
            ),
        ],
        max_microsteps=50,
    )
    return compile_chart(spec)


@pytest.mark.parametrize("batch", [1, 3])
async def test_a_crash_of_a_flat_datamodel_restarts_from_the_batch_start(batch: int) -> None:
    # a flat datamodel's checkpoint is a plain copy made as the run starts (no ask kept a
    # snapshot): a crash in a run of one event (a ping-pong hop) or of several restores
    # every value the run's steps rewrote in place, and nothing the steps before it did
    async with ActorSystem(clock=VirtualClock(), supervision=NO_JITTER) as system:
        a = system.spawn(flat(), context={"extra": b"raw", "flag": True, "none": None})
        a.send_nowait("inc")
        a.send_nowait("inc")
        await system.wait_idle()  # a run of two, no ask: no snapshot kept
        assert a.context["n"] == 2
        for _ in range(batch - 1):
            a.send_nowait("inc")
        a.send_nowait("boom")  # one run: the incs (if any), then the crash
        await system.wait_idle()
        await system.sleep(1)  # the restart is due after 0.1 s
        assert a.status == "active"
        assert a.context == {
            "n": 2,
            "label": "n=2",
            "ratio": 1.0,
            "extra": b"raw",
            "flag": True,
            "none": None,
        }
        assert a.snapshot().version == 2  # the two incs before the run that crashed
