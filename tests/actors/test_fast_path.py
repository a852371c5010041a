"""An actor's run of many events gives exactly what the engine's macrostep gives.

The dispatcher takes a shortcut for an event whose whole macrostep is a targetless
transition's content (issue 16); random charts with targetless and moving transitions,
guards, eventless transitions, raised internal events and failing actions, fed a batch of
random events at once, must end where a sync :class:`~statefleet.Session` fed the same
events ends: the same configuration, datamodel and version.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statefleet.actors import ActorSystem
from statefleet.core import ChartSpec, EventData, StateSpec, TransitionSpec, compile_chart
from tests._random_charts import charts, even, fail, inc, inc_raise

EVENTS = ("a", "b", "c")
CHARTS = charts(
    events=EVENTS,
    guards=(None, None, None, even),
    blocks=((inc,), (inc_raise,), (fail,)),
    parallel=False,
    error_handler=True,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=CHARTS, events=st.lists(st.sampled_from(EVENTS), min_size=5, max_size=60))
def test_a_batch_of_events_ends_where_the_engine_ends(spec: ChartSpec, events: list[str]) -> None:
    chart = compile_chart(spec)
    context = {"n": 0, "errors": 0}
    session = chart.start(context=dict(context))
    for name in events:
        session.send(name)
    expected = session.snapshot()

    async def run() -> Any:
        async with ActorSystem() as system:
            ref = system.spawn(chart, context=dict(context))
            for name in events:
                ref.send_nowait(name)  # all queued first: one run of the dispatcher takes them
            await system.wait_idle()
            return ref.snapshot()

    got = anyio.run(run)
    assert got.configuration == expected.configuration
    assert got.context == expected.context
    assert got.version == expected.version
    assert got.status == expected.status


async def _run_batch(spec: ChartSpec, events: list[str]) -> Any:
    async with ActorSystem() as system:
        ref = system.spawn(compile_chart(spec), context={"n": 0, "errors": 0})
        for name in events:
            ref.send_nowait(name)
        await system.wait_idle()
        return ref.snapshot()


def test_an_event_that_moves_the_actor_mid_batch_changes_what_the_next_ones_do() -> None:
    # "a" in x only counts, but its third count raises "b", which moves to y; the events
    # queued behind it run in y ("a" moves on to z there)
    spec = ChartSpec(
        "mover",
        states=[
            StateSpec(
                "x",
                transitions=[
                    TransitionSpec(event=("a",), actions=(inc_raise,)),
                    TransitionSpec(event=("b",), target=("y",)),
                ],
            ),
            StateSpec("y", transitions=[TransitionSpec(event=("a",), target=("z",))]),
            StateSpec("z", transitions=[TransitionSpec(event=("a",), actions=(inc,))]),
        ],
    )
    snap = anyio.run(_run_batch, spec, ["a", "a", "a", "a", "a"])
    assert snap.configuration == ("z",)
    assert snap.context["n"] == 4  # three in x, none in y, one in z
    assert snap.version == 5


def _dec(ctx: Any) -> None:
    ctx.context["n"] -= 1


def _counter(subs: list[Any] | None = None) -> ChartSpec:
    """``inc``/``dec`` count; ``sub`` subscribes to the actor from inside its step."""

    def subscribe(ctx: Any) -> None:
        assert subs is not None
        subs.append(ctx.owner.subscribe(buffer=100))

    return ChartSpec(
        "counter",
        states=[
            StateSpec(
                "s",
                transitions=[
                    TransitionSpec(event=("inc",), actions=(inc,)),
                    TransitionSpec(event=("dec",), actions=(_dec,)),
                    TransitionSpec(event=("sub",), actions=(subscribe,)),
                ],
            )
        ],
    )


@pytest.mark.anyio
async def test_an_event_with_a_send_id_amid_shared_events_takes_its_own_transition() -> None:
    # "inc" sent by name is one shared event object; "dec" carrying a send id cannot be
    # shortcut by identity, and the "inc" events after it must still increment
    async with ActorSystem() as system:
        ref = system.spawn(compile_chart(_counter()), context={"n": 0})
        for item in ("inc", "inc", EventData("dec", sendid="s-1"), "inc", "inc", "inc"):
            ref.send_nowait(item)
        await system.wait_idle()
        assert ref.context["n"] == 4
        assert ref.snapshot().version == 6  # one per event


@pytest.mark.anyio
async def test_a_subscriber_added_while_events_are_queued_sees_every_step() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(compile_chart(_counter()), context={"n": 0})
        for _ in range(5):
            ref.send_nowait("inc")
        sub = ref.subscribe(buffer=100)  # before the dispatcher took any of them
        await system.wait_idle()
        assert [s.context["n"] async for s in _take(sub, 6)] == [0, 1, 2, 3, 4, 5]


@pytest.mark.anyio
async def test_a_subscriber_an_action_adds_mid_run_sees_every_later_step() -> None:
    async with ActorSystem() as system:
        subs: list[Any] = []
        ref = system.spawn(compile_chart(_counter(subs)), context={"n": 0})
        for name in ("inc", "inc", "sub", "inc", "inc", "inc"):
            ref.send_nowait(name)  # one run of the dispatcher takes them all
        await system.wait_idle()
        (sub,) = subs
        # the snapshot when it subscribed (inside the step), then one after every step
        assert [s.context["n"] async for s in _take(sub, 5)] == [2, 2, 3, 4, 5]


@pytest.mark.anyio
async def test_after_an_ask_a_subscriber_an_action_adds_sees_every_later_step() -> None:
    # the ask leaves the actor its extras (its reply kept as a checkpoint): the run loop
    # still hands every step after the subscription to it
    async with ActorSystem() as system:
        subs: list[Any] = []
        ref = system.spawn(compile_chart(_counter(subs)), context={"n": 0})
        await ref.ask("inc")
        for name in ("inc", "inc", "sub", "inc", "inc"):
            ref.send_nowait(name)
        await system.wait_idle()
        (sub,) = subs
        assert [s.context["n"] async for s in _take(sub, 4)] == [3, 3, 4, 5]
        assert ref.context["n"] == 5


async def _take(sub: Any, n: int) -> Any:
    for _ in range(n):
        yield await sub.__anext__()
