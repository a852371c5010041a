"""The functional builder (seed 004's ``hsm`` vocabulary) and its async start/dispatch/stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import statefleet
from statefleet import ActorStoppedError, Chart, ChartDefinitionError, VirtualClock, hsm
from statefleet.core import (
    AwaitEffect,
    CancelInvokeEffect,
    InvocationCancelled,
    InvokeEffect,
    Record,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the hsm shim runs its activities and timers as asyncio tasks


class Log(hsm.Instance):
    """An instance that records what behaviours did."""

    def __init__(self, **data: Any) -> None:
        super().__init__()
        self.log: list[str] = []
        self.__dict__.update(data)


def rec(msg: str) -> Callable[..., None]:
    """A sync behaviour appending ``msg`` to ``instance.log``."""

    def behaviour(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        inst.log.append(msg)

    behaviour.__name__ = msg
    return behaviour


def arec(msg: str) -> Callable[..., Any]:
    """An async behaviour appending ``msg`` to ``instance.log``."""

    async def behaviour(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        inst.log.append(msg)

    behaviour.__name__ = msg
    return behaviour


def definition_error(*elements: hsm.Element, name: str = "M") -> ChartDefinitionError:
    with pytest.raises(ChartDefinitionError) as info:
        hsm.define(name, *elements)
    return info.value


# -- the public names ----------------------------------------------------------------------------
def test_public_names() -> None:
    assert statefleet.hsm is statefleet.formats.hsm
    assert hsm.ValidationError is ChartDefinitionError
    for name in hsm.__all__:
        assert hasattr(hsm, name), name


# -- structure -----------------------------------------------------------------------------------
def test_define_compiles_a_core_chart_with_path_ids() -> None:
    model = hsm.define(
        "Counter",
        hsm.initial(hsm.target("counting")),
        hsm.state("counting", hsm.state("inner")),
        hsm.final("done"),
    )
    assert isinstance(model, Chart)
    assert model.id == "Counter"
    assert model.state_ids[:4] == (
        "/Counter",
        "/Counter/counting",
        "/Counter/counting/inner",
        "/Counter/done",
    )
    session = model.start()
    assert session.configuration == {"/Counter", "/Counter/counting", "/Counter/counting/inner"}


def test_entry_exit_effect_order_and_initial_effects() -> None:
    model = hsm.define(
        "M",
        hsm.initial(hsm.target("a"), hsm.effect(rec("init.effect")), rec("init.plain")),
        hsm.entry(rec("M.entry")),
        hsm.state(
            "a",
            hsm.entry(rec("a.entry1"), rec("a.entry2")),
            hsm.exit(rec("a.exit")),
            hsm.transition(hsm.on("go"), hsm.target("../b"), hsm.effect(rec("go.1"), rec("go.2"))),
        ),
        hsm.state(
            "b",
            hsm.initial(hsm.target("b1"), hsm.effect(rec("b.init"))),
            hsm.entry(rec("b.entry")),
            hsm.state("b1", hsm.entry(rec("b1.entry"))),
        ),
    )
    inst = Log()

    async def main() -> None:
        sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
        assert inst.log == ["M.entry", "init.effect", "init.plain", "a.entry1", "a.entry2"]
        inst.log.clear()
        await sm.dispatch(hsm.Event("go"))
        assert inst.log == ["a.exit", "go.1", "go.2", "b.entry", "b.init", "b1.entry"]
        assert sm.state() == "/M/b/b1"
        await sm.stop()

    asyncio.run(main())


def test_default_initial_is_the_first_child() -> None:
    model = hsm.define("M", hsm.state("a", hsm.state("a1"), hsm.state("a2")), hsm.state("b"))
    assert model.start().active_leaves == ("/M/a/a1",)


# -- paths -----------------------------------------------------------------------------------------
def paths_model() -> Chart:
    return hsm.define(
        "M",
        hsm.initial(hsm.target("p/c")),
        hsm.state(
            "p",
            hsm.entry(rec("p.entry")),
            hsm.exit(rec("p.exit")),
            hsm.state(
                "c",
                hsm.entry(rec("c.entry")),
                hsm.exit(rec("c.exit")),
                hsm.transition(hsm.on("self"), hsm.target(".")),
                hsm.transition(hsm.on("parent"), hsm.target("..")),
                hsm.transition(hsm.on("sibling"), hsm.target("../d")),
                hsm.transition(hsm.on("bare"), hsm.target("d")),
                hsm.transition(hsm.on("absolute"), hsm.target("/M/q")),
                hsm.transition(hsm.on("model_relative"), hsm.target("/q")),
                hsm.transition(hsm.on("outer"), hsm.target("q")),
            ),
            hsm.state("d", hsm.entry(rec("d.entry")), hsm.exit(rec("d.exit"))),
            hsm.transition(hsm.on("child"), hsm.target("d")),
            hsm.transition(hsm.on("dotchild"), hsm.target("./c")),
        ),
        hsm.state("q", hsm.transition(hsm.on("back"), hsm.target("p/c"))),
        hsm.transition(hsm.on("nested"), hsm.target("p/c")),
    )


@pytest.mark.parametrize(
    ("event", "leaf"),
    [
        ("self", "/M/p/c"),
        ("parent", "/M/p/c"),
        ("sibling", "/M/p/d"),
        ("bare", "/M/p/d"),
        ("absolute", "/M/q"),
        ("model_relative", "/M/q"),
        ("outer", "/M/q"),
        ("nested", "/M/p/c"),
    ],
)
def test_relative_and_absolute_targets(event: str, leaf: str) -> None:
    session = paths_model().start(context={"log": []})
    session.send(event)
    assert session.active_leaves == (leaf,)


def test_self_target_exits_and_reenters() -> None:
    session = paths_model().start(context={"log": []})
    session.context["log"].clear()
    session.send("self")
    assert session.context["log"] == ["c.exit", "c.entry"]


def test_parent_target_reenters_the_parent() -> None:
    # ".." is an SCXML external transition: the parent exits and is entered again
    session = paths_model().start(context={"log": []})
    session.context["log"].clear()
    session.send("parent")
    assert session.context["log"] == ["c.exit", "p.exit", "p.entry", "c.entry"]


def test_child_target_is_local_the_source_is_not_exited() -> None:
    session = paths_model().start(context={"log": []})
    session.context["log"].clear()
    session.send("child")
    assert session.context["log"] == ["c.exit", "d.entry"]
    session.context["log"].clear()
    session.send("dotchild")
    assert session.context["log"] == ["d.exit", "c.entry"]


def test_a_plain_name_prefers_a_child_over_a_sibling() -> None:
    model = hsm.define(
        "M",
        hsm.state("a", hsm.state("b"), hsm.transition(hsm.on("go"), hsm.target("b"))),
        hsm.state("b"),
    )
    session = model.start()
    session.send("go")
    assert session.active_leaves == ("/M/a/b",)


def test_explicit_source() -> None:
    model = hsm.define(
        "M",
        hsm.state("a"),
        hsm.state("b"),
        hsm.transition(hsm.on("go"), hsm.source("a"), hsm.target("../b")),
        hsm.transition(hsm.on("back"), hsm.source("/M/b"), hsm.target("a")),
    )
    session = model.start()
    session.send("back")
    assert session.active_leaves == ("/M/a",)  # declared on b: nothing to do in a
    session.send("go")
    assert session.active_leaves == ("/M/b",)
    session.send("go")
    assert session.active_leaves == ("/M/b",)
    session.send("back")
    assert session.active_leaves == ("/M/a",)


def test_machine_level_transitions_apply_in_every_state() -> None:
    model = hsm.define(
        "M",
        hsm.initial(hsm.target("a/a1")),
        hsm.entry(rec("M.entry")),
        hsm.state("a", hsm.state("a1")),
        hsm.state("reset", hsm.entry(rec("reset.entry"))),
        hsm.transition(hsm.on("reset"), hsm.target("reset")),
    )
    session = model.start(context={"log": []})
    session.send("reset")
    assert session.active_leaves == ("/M/reset",)
    # a target inside the machine does not exit the machine itself
    assert session.context["log"] == ["M.entry", "reset.entry"]


# -- choice ----------------------------------------------------------------------------------------
def choice_model() -> Chart:
    def low(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        inst.log.append("low?")
        return bool(inst.value < 3)

    def medium(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        inst.log.append("medium?")
        return bool(inst.value < 7)

    return hsm.define(
        "M",
        hsm.initial(hsm.target("start")),
        hsm.state(
            "start",
            hsm.transition(hsm.on("decide"), hsm.target("../decision"), hsm.effect(rec("go"))),
        ),
        hsm.choice(
            "decision",
            hsm.transition(hsm.guard(low), hsm.target("low"), hsm.effect(rec("chose-low"))),
            hsm.transition(hsm.guard(medium), hsm.target("medium"), hsm.effect(rec("chose-med"))),
            hsm.transition(hsm.target("high"), hsm.effect(rec("chose-high"))),
        ),
        hsm.state("low", hsm.entry(rec("low-entry"))),
        hsm.state("medium", hsm.entry(rec("medium-entry"))),
        hsm.state("high", hsm.entry(rec("high-entry"))),
    )


@pytest.mark.parametrize(
    ("value", "leaf", "log"),
    [
        (1, "/M/low", ["go", "low?", "chose-low", "low-entry"]),
        (5, "/M/medium", ["go", "low?", "medium?", "chose-med", "medium-entry"]),
        (9, "/M/high", ["go", "low?", "medium?", "chose-high", "high-entry"]),
    ],
)
def test_choice_takes_the_first_enabled_branch_else_the_last(
    value: int, leaf: str, log: list[str]
) -> None:
    session = choice_model().start(context={"log": [], "value": value})
    session.send("decide")
    assert session.active_leaves == (leaf,)
    assert session.context["log"] == log
    assert "/M/decision" not in session.configuration


def test_choice_guards_see_the_event_and_nest() -> None:
    def urgent(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        return bool(event.data and event.data.get("type") == "urgent")

    def deep(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        return bool(event.data.get("deep"))

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("waiting")),
        hsm.state("waiting", hsm.transition(hsm.on("process"), hsm.target("../router"))),
        hsm.choice(
            "router",
            hsm.transition(hsm.guard(urgent), hsm.target("second")),
            hsm.transition(hsm.target("fallback")),
        ),
        hsm.choice(
            "second",
            hsm.transition(hsm.guard(deep), hsm.target("deep")),
            hsm.transition(hsm.target("urgent")),
        ),
        hsm.state("urgent"),
        hsm.state("deep"),
        hsm.state("fallback"),
    )

    async def run(data: dict[str, Any]) -> str:
        sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
        await sm.dispatch(hsm.Event("process", data))
        leaf = sm.state()
        await hsm.stop(sm)
        return leaf

    assert asyncio.run(run({"type": "urgent"})) == "/M/urgent"
    assert asyncio.run(run({"type": "urgent", "deep": True})) == "/M/deep"
    assert asyncio.run(run({"type": "normal"})) == "/M/fallback"


def test_choice_as_initial_target() -> None:
    model = hsm.define(
        "M",
        hsm.initial(hsm.target("c")),
        hsm.choice(
            "c",
            hsm.transition(hsm.guard(lambda ctx, inst, ev: inst.go), hsm.target("yes")),
            hsm.transition(hsm.target("no")),
        ),
        hsm.state("yes"),
        hsm.state("no"),
    )
    assert model.start(context={"go": True}).active_leaves == ("/M/yes",)
    assert model.start(context={"go": False}).active_leaves == ("/M/no",)


def test_a_failing_guard_falls_through_to_the_else_branch() -> None:
    def broken(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        raise RuntimeError("guard broke")

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("c")),
        hsm.choice(
            "c", hsm.transition(hsm.guard(broken), hsm.target("a")), hsm.transition(hsm.target("b"))
        ),
        hsm.state("a"),
        hsm.state("b", hsm.transition(hsm.on("hsm_error"), hsm.target("../failed"))),
        hsm.state("failed"),
    )
    # the guard counts as false, and its error.execution is handled from b
    assert model.start().active_leaves == ("/M/failed",)


# -- timers ----------------------------------------------------------------------------------------
def test_after_fires_once_and_is_cancelled_on_exit() -> None:
    model = hsm.define(
        "M",
        hsm.initial(hsm.target("waiting")),
        hsm.state(
            "waiting",
            hsm.transition(hsm.after(5), hsm.target("../done"), hsm.effect(rec("timeout"))),
            hsm.transition(hsm.on("cancel"), hsm.target("../cancelled")),
        ),
        hsm.state("done"),
        hsm.state("cancelled", hsm.transition(hsm.on("again"), hsm.target("../waiting"))),
    )
    session = model.start(context={"log": []})
    session.advance(4.9)
    assert session.active_leaves == ("/M/waiting",)
    session.advance(0.1)
    assert session.active_leaves == ("/M/done",)
    assert session.context["log"] == ["timeout"]

    session = model.start(context={"log": []})
    session.advance(2)
    session.send("cancel")
    session.advance(10)
    assert session.active_leaves == ("/M/cancelled",)
    assert session.context["log"] == []
    session.send("again")  # re-entering starts a fresh timer
    session.advance(4)
    assert session.active_leaves == ("/M/waiting",)
    session.advance(1)
    assert session.active_leaves == ("/M/done",)


def test_every_repeats_while_active_and_stops_on_exit() -> None:
    def tick(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        inst.ticks += 1

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("counting")),
        hsm.state(
            "counting",
            hsm.transition(hsm.every(timedelta(seconds=2)), hsm.effect(tick)),
            hsm.transition(hsm.on("stop"), hsm.target("../stopped")),
        ),
        hsm.state("stopped"),
    )
    session = model.start(context={"ticks": 0})
    session.advance(7)
    assert session.context["ticks"] == 3
    session.send("stop")
    session.advance(10)
    assert session.context["ticks"] == 3


def test_every_with_a_self_target_reenters_each_time() -> None:
    model = hsm.define(
        "M",
        hsm.state("on", hsm.entry(rec("enter")), hsm.transition(hsm.every(1), hsm.target("."))),
    )
    session = model.start(context={"log": []})
    session.advance(3)
    assert session.context["log"] == ["enter"] * 4


def test_duration_functions_may_be_async_and_see_instance_and_event() -> None:
    seen: list[str] = []

    async def delay(ctx: hsm.Context, inst: Any, event: hsm.Event) -> timedelta:
        seen.append(event.name)
        return timedelta(seconds=inst.delay)

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("idle")),
        hsm.state("idle", hsm.transition(hsm.on("go"), hsm.target("../timed"))),
        hsm.state("timed", hsm.transition(hsm.after(delay), hsm.target("../done"))),
        hsm.state("done"),
    )

    async def main() -> None:
        sm = await hsm.start(hsm.Context(), Log(delay=3), model, clock=VirtualClock())
        await sm.dispatch("go")
        await sm.advance(2.5)
        assert sm.state() == "/M/timed"
        await sm.advance(0.5)
        assert sm.state() == "/M/done"
        await sm.stop()

    asyncio.run(main())
    assert seen == ["go"]


def test_a_bad_duration_at_run_time_is_an_execution_error() -> None:
    model = hsm.define(
        "M",
        hsm.state(
            "a",
            hsm.transition(hsm.every(lambda ctx, inst, ev: 0), hsm.target(".")),
            hsm.transition(hsm.on("hsm_error"), hsm.target("../failed")),
        ),
        hsm.state("failed"),
    )
    session = model.start()
    assert session.active_leaves == ("/M/failed",)
    assert session.next_due is None


def test_both_an_event_and_a_timer_trigger_one_transition() -> None:
    model = hsm.define(
        "M",
        hsm.state("a", hsm.transition(hsm.on("go"), hsm.after(5), hsm.target("../b"))),
        hsm.state("b", hsm.transition(hsm.on("back"), hsm.target("../a"))),
    )
    session = model.start()
    session.send("go")
    assert session.active_leaves == ("/M/b",)
    session.send("back")
    session.advance(5)
    assert session.active_leaves == ("/M/b",)


async def test_start_with_a_virtual_clock_fires_timers_one_by_one() -> None:
    order: list[str] = []

    async def note(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        order.append(event.name.rsplit(".", 1)[-1])

    model = hsm.define(
        "M",
        hsm.state(
            "a",
            hsm.transition(hsm.every(1), hsm.effect(note)),
            hsm.transition(hsm.after(2.5), hsm.target("../b"), hsm.effect(note)),
        ),
        hsm.state("b"),
    )
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    await sm.advance(10)
    assert order == ["/M/a", "/M/a", "/M/a"]  # ticks at 1 and 2, then the after at 2.5
    assert sm.state() == "/M/b"
    assert sm.now == 10
    await sm.stop()


async def test_start_with_the_real_clock_runs_due_timers_by_itself() -> None:
    reached = asyncio.Event()
    model = hsm.define(
        "M",
        hsm.state("a", hsm.transition(hsm.after(0), hsm.target("../b"))),
        hsm.state("b", hsm.entry(lambda ctx, inst, ev: reached.set())),
    )
    sm = await hsm.start(hsm.Context(), Log(), model)
    await asyncio.wait_for(reached.wait(), timeout=10)
    assert sm.state() == "/M/b"
    await sm.stop()


async def test_advance_needs_a_virtual_clock() -> None:
    sm = await hsm.start(hsm.Context(), Log(), hsm.define("M", hsm.state("a")))
    with pytest.raises(statefleet.StatefleetError, match="VirtualClock"):
        await sm.advance(1)
    await sm.stop()


# -- activities ------------------------------------------------------------------------------------
def test_activity_declaration_reaches_the_invoke_effect() -> None:
    async def poll(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        return None

    model = hsm.define(
        "M",
        hsm.state(
            "busy", hsm.activity(poll), hsm.transition(hsm.on("stop"), hsm.target("../idle"))
        ),
        hsm.state("idle"),
    )
    step = model.initial()
    invokes = [e for e in step.effects if isinstance(e, InvokeEffect)]
    assert len(invokes) == 1
    effect = invokes[0]
    assert effect.kind == "activity"
    assert effect.state == "/M/busy"
    assert isinstance(effect.src, hsm.Activity)
    assert effect.src.function is poll
    step = model.transition(step.snapshot, "stop")
    assert [e for e in step.effects if isinstance(e, CancelInvokeEffect)] == [
        CancelInvokeEffect(effect.invokeid, "/M/busy")
    ]


async def test_activities_run_while_active_and_are_cancelled_on_exit() -> None:
    events: list[str] = []
    contexts: list[hsm.Context] = []

    async def worker(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        events.append(f"started by {event.name}")
        contexts.append(ctx)
        try:
            await ctx.wait_done()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def quick(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        events.append("quick done")

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("idle")),
        hsm.state("idle", hsm.transition(hsm.on("go"), hsm.target("../busy"))),
        hsm.state(
            "busy",
            hsm.activity(worker, quick),
            hsm.transition(hsm.on("stop"), hsm.target("../idle")),
        ),
    )
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    await sm.dispatch("go")
    # dispatch returns once the new activities ran up to their first await
    assert events == ["started by go", "quick done"]
    assert sm.activities == 1
    await sm.dispatch("stop")
    # ... and once the activities of the states it left are cancelled
    assert events == ["started by go", "quick done", "cancelled"]
    assert contexts[0].is_done()
    assert sm.activities == 0
    await sm.stop()


async def test_an_activity_error_is_dispatched_as_hsm_error() -> None:
    async def failing(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        raise ValueError("Activity failed!")

    def caught(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        inst.error = event.data

    model = hsm.define(
        "M",
        hsm.state(
            "working",
            hsm.activity(failing),
            hsm.transition(hsm.on("hsm_error"), hsm.target("../error"), hsm.effect(caught)),
        ),
        hsm.state("error"),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    assert sm.state() == "/M/error"
    assert isinstance(inst.error, ValueError)
    assert str(inst.error) == "Activity failed!"
    await sm.stop()


async def test_cancelling_the_machine_context_reaches_activities() -> None:
    observed: list[bool] = []

    async def watcher(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        await ctx.wait_done()
        observed.append(ctx.is_done())

    ctx = hsm.Context()
    sm = await hsm.start(ctx, Log(), hsm.define("M", hsm.state("a", hsm.activity(watcher))))
    ctx.cancel()
    await sm.stop()
    assert observed == [True]


def test_activities_under_the_sync_session_run_if_they_do_not_suspend() -> None:
    def sync_activity(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        inst.ran = True

    model = hsm.define("M", hsm.state("a", hsm.activity(sync_activity)))
    assert model.start(context={"ran": False}).context == {"ran": True}


# -- behaviours and errors -------------------------------------------------------------------------
async def test_async_effects_are_awaited_by_dispatch_in_order() -> None:
    order: list[str] = []

    async def slow(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        await asyncio.sleep(0)
        order.append("slow")

    async def fast(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        order.append("fast")

    def sync(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        order.append("sync")

    model = hsm.define(
        "M",
        hsm.state("a", hsm.transition(hsm.on("go"), hsm.effect(slow, sync, fast))),
    )
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    await sm.dispatch("go")
    # in order, as stateforward hsm: a plain behaviour after an async one waits its turn
    assert order == ["slow", "sync", "fast"]
    await sm.stop()


@pytest.mark.parametrize("make", [rec, arec])
async def test_behaviour_errors_become_hsm_error_events(make: Callable[..., Any]) -> None:
    def fail(ctx: hsm.Context, inst: Any, event: hsm.Event) -> Any:
        raise ValueError("Effect failed!")

    async def afail(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        raise ValueError("Effect failed!")

    def caught(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        inst.caught = (event.name, event.data, event.error)

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("start")),
        hsm.state(
            "start",
            hsm.transition(
                hsm.on("trigger"),
                hsm.target("../next"),
                hsm.effect(fail if make is rec else afail, make("after")),
            ),
        ),
        hsm.state("next"),
        hsm.state("error"),
        hsm.transition(hsm.on("hsm_error"), hsm.target("error"), hsm.effect(caught)),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.dispatch(hsm.Event("trigger"))
    assert sm.state() == "/M/error"
    name, data, error = inst.caught
    assert name == "error.execution"
    assert isinstance(data, ValueError) and data is error
    assert str(data) == "Effect failed!"
    # a sync failure stops the rest of its block; an async one fails after the step
    assert inst.log == ([] if make is rec else ["after"])
    await sm.stop()


async def test_async_guards_that_complete_at_once_are_evaluated() -> None:
    async def allowed(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        return bool(inst.allowed)

    model = hsm.define(
        "M",
        hsm.state("a", hsm.transition(hsm.on("go"), hsm.guard(allowed), hsm.target("../b"))),
        hsm.state("b"),
    )
    inst = Log(allowed=False)
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.dispatch("go")
    assert sm.state() == "/M/a"
    inst.allowed = True
    await sm.dispatch("go")
    assert sm.state() == "/M/b"
    await sm.stop()


async def test_a_guard_that_suspends_is_false_and_an_error() -> None:
    async def waits(ctx: hsm.Context, inst: Any, event: hsm.Event) -> bool:
        await asyncio.sleep(0)
        return True

    def caught(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        inst.error = str(event.data)

    model = hsm.define(
        "M",
        hsm.state(
            "a",
            hsm.transition(hsm.on("go"), hsm.guard(waits), hsm.target("../b")),
            hsm.transition(hsm.on("hsm_error"), hsm.effect(caught)),
        ),
        hsm.state("b"),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.dispatch("go")
    assert sm.state() == "/M/a"
    assert "suspended" in inst.error
    await sm.stop()


def test_on_matches_descriptors_wildcards_and_event_objects() -> None:
    model = hsm.define(
        "M",
        hsm.state(
            "a",
            hsm.transition(hsm.on(hsm.Event("order")), hsm.effect(rec("order"))),
            hsm.transition(hsm.on("x", "y"), hsm.effect(rec("x|y"))),
            hsm.transition(hsm.on("*"), hsm.effect(rec("*"))),
        ),
    )
    session = model.start(context={"log": []})
    for name in ("order.created", "y", "other"):
        session.send(name)
    assert session.context["log"] == ["order", "x|y", "*"]


async def test_a_wildcard_transition_does_not_swallow_stop() -> None:
    model = hsm.define(
        "M",
        hsm.state("a", hsm.exit(rec("a.exit")), hsm.transition(hsm.on("*"), hsm.target("."))),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await hsm.stop(sm)
    assert inst.log == ["a.exit"]
    assert sm.state() == ""


def test_behaviours_see_the_datamodel_outside_start() -> None:
    async def increment(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        assert isinstance(ctx, hsm.Context)
        assert isinstance(inst, hsm.DataInstance)
        inst.value += event.data["by"]

    model = hsm.define(
        "M", hsm.state("a", hsm.transition(hsm.on("inc"), hsm.target("."), hsm.effect(increment)))
    )
    # under the sync Session the coroutine completes without suspending: it runs in the step
    session = model.start(context={"value": 1})
    session.send("inc", by=2)
    assert session.context == {"value": 3}
    # in a pure step, it is an AwaitEffect for the driver
    step = model.transition(session.snapshot(), "inc", by=1)
    awaits = [e for e in step.effects if isinstance(e, AwaitEffect)]
    assert [e.label for e in awaits] == [increment.__qualname__]
    awaits[0].awaitable.close()


def test_the_initial_event_is_hsm_initial() -> None:
    names: list[str] = []
    model = hsm.define("M", hsm.state("a", hsm.entry(lambda ctx, inst, ev: names.append(ev.name))))
    model.start()
    assert names == ["hsm_initial"]


# -- start, dispatch, stop -------------------------------------------------------------------------
async def test_stop_runs_exit_behaviours_and_refuses_events() -> None:
    model = hsm.define(
        "M",
        hsm.exit(rec("M.exit")),
        hsm.state("workflow", hsm.exit(arec("workflow.exit")), hsm.state("step")),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    assert inst.machine is sm and inst.state() == "/M/workflow/step"
    await hsm.stop(sm)
    assert inst.log == ["workflow.exit", "M.exit"]  # exit order, async behaviours included
    assert sm.stopped and sm.state() == "" and sm.configuration == frozenset()
    with pytest.raises(ActorStoppedError):
        await sm.dispatch("anything")
    assert inst.state() == "/M"  # as stateforward hsm: the machine's path once stopped
    await hsm.stop(sm)  # stopping twice does nothing
    # the instance can be started again
    sm2 = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    assert sm2.state() == "/M/workflow/step"
    await sm2.stop()


async def test_an_instance_runs_in_one_machine_at_a_time() -> None:
    model = hsm.define("M", hsm.state("a"))
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    with pytest.raises(statefleet.StatefleetError, match="already running"):
        await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.stop()


async def test_final_states_complete_the_machine() -> None:
    model = hsm.define(
        "M",
        hsm.state("working", hsm.transition(hsm.on("complete"), hsm.target("../done"))),
        hsm.final("done"),
    )
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    assert not sm.done
    await sm.dispatch("complete")
    assert sm.done and sm.state() == "/M/done"
    await sm.dispatch("ignored")
    assert sm.state() == "/M/done"
    await sm.stop()


async def test_behaviours_can_dispatch_through_the_instance() -> None:
    async def chain(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        await inst.dispatch(hsm.Event("next"))
        inst.log.append(f"after next: {inst.state()}")

    model = hsm.define(
        "M",
        hsm.state("a", hsm.transition(hsm.on("go"), hsm.target("../b"), hsm.effect(chain))),
        hsm.state("b", hsm.transition(hsm.on("next"), hsm.target("../c"))),
        hsm.state("c"),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.dispatch("go")
    assert sm.state() == "/M/c"
    assert inst.log == ["after next: /M/c"]
    await sm.stop()


async def test_concurrent_dispatches_wait_for_each_others_effects() -> None:
    gate = asyncio.Event()

    async def blocked(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        await gate.wait()
        inst.log.append("blocked done")

    model = hsm.define(
        "M",
        hsm.state(
            "a",
            hsm.transition(hsm.on("slow"), hsm.effect(blocked)),
            hsm.transition(hsm.on("fast"), hsm.effect(arec("fast done"))),
        ),
    )
    inst = Log()
    sm = await hsm.start(hsm.Context(), inst, model, clock=VirtualClock())
    first = asyncio.ensure_future(sm.dispatch("slow"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(sm.dispatch("fast"))
    await asyncio.sleep(0)
    assert not second.done()
    gate.set()
    await asyncio.gather(first, second)
    assert inst.log == ["blocked done", "fast done"]
    await sm.stop()


async def test_listeners_receive_the_session_records() -> None:
    records: list[Record] = []

    async def worker(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        await asyncio.Event().wait()

    model = hsm.define(
        "M",
        hsm.state("a", hsm.activity(worker), hsm.transition(hsm.on("go"), hsm.target("../b"))),
        hsm.state("b"),
    )
    sm = await hsm.start(
        hsm.Context(), Log(), model, clock=VirtualClock(), listeners=[records.append]
    )
    await sm.dispatch("go")
    assert any(isinstance(r, InvocationCancelled) for r in records)
    await sm.stop()


async def test_start_and_dispatch_reject_bad_input() -> None:
    model = hsm.define("M", hsm.state("a"))
    with pytest.raises(statefleet.StatefleetError, match=r"hsm\.define"):
        await hsm.start(hsm.Context(), Log(), hsm.define("X", hsm.state("a")).spec)  # type: ignore[arg-type]
    with pytest.raises(statefleet.StatefleetError, match=r"hsm\.Context"):
        await hsm.start(object(), Log(), model)  # type: ignore[arg-type]
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    with pytest.raises(statefleet.InvalidEventError):
        await sm.dispatch("")
    with pytest.raises(statefleet.InvalidEventError):
        await sm.dispatch(42)  # type: ignore[arg-type]
    await sm.stop()


# -- definition errors -----------------------------------------------------------------------------
def test_unknown_target_names_the_source_path() -> None:
    err = definition_error(
        hsm.initial(hsm.target("counting")),
        hsm.state("counting", hsm.transition(hsm.on("inc"), hsm.target("../nope"))),
        name="Counter",
    )
    assert str(err) == "/Counter/counting: unknown target '../nope'"
    assert err.path == "/Counter/counting"


@pytest.mark.parametrize(
    ("elements", "path", "message"),
    [
        (
            (hsm.state("a", hsm.transition(hsm.on("x"), hsm.target("../bb"))), hsm.state("b")),
            "/M/a",
            "unknown target '../bb' (did you mean '/M/b'?)",
        ),
        (
            (hsm.state("a"), hsm.transition(hsm.on("x"), hsm.source("zz"), hsm.target("a"))),
            "/M",
            "unknown source 'zz'",
        ),
        ((hsm.state("a", hsm.transition(hsm.on("x"), hsm.target(""))),), "/M/a", "non-empty"),
        ((hsm.state("a", hsm.transition(hsm.on("x"), hsm.target("/Other/a"))),), "/M/a", "unknown"),
        ((hsm.state("a", hsm.effect(rec("e"))),), "/M/a", "effect() belongs in a transition()"),
        ((hsm.state("a", hsm.on("x")),), "/M/a", "on() belongs in a transition()"),
        ((hsm.target("a"), hsm.state("a")), "/M", "target('a') belongs in a transition()"),
        ((hsm.state("a", 42),), "/M/a", "got int 42"),
        ((hsm.state("a", rec("f")),), "/M/a", "got function"),
        (
            (hsm.state("a", hsm.transition(hsm.on("x"), hsm.entry(rec("e")))),),
            "/M/a",
            "entry() belongs in a state",
        ),
        ((hsm.state("a", hsm.transition(hsm.target("."))),), "/M/a", "needs a trigger"),
        (
            (hsm.state("a", hsm.transition(hsm.on("x"), hsm.target("a"), hsm.target("a"))),),
            "/M/a",
            "one target()",
        ),
        (
            (
                hsm.state(
                    "a", hsm.transition(hsm.on("x"), hsm.guard(rec("g")), hsm.guard(rec("g")))
                ),
            ),
            "/M/a",
            "one guard()",
        ),
        ((hsm.state("a", hsm.transition(hsm.on("x"), hsm.guard(3))),), "/M/a", "guard() expects"),
        ((hsm.state("a", hsm.transition(hsm.on("a b"))),), "/M/a", "without spaces"),
        ((hsm.state("a", hsm.transition(hsm.on())),), "/M/a", "at least one event"),
        ((hsm.state("a", hsm.entry(42)),), "/M/a", "entry() expects functions"),
        ((hsm.state("a"), hsm.state("a")), "/M/a", "duplicate state name 'a'"),
        ((hsm.state("a/b"),), "/M", "invalid state name 'a/b'"),
        ((hsm.state(".."),), "/M", "invalid state name '..'"),
        ((hsm.final(""),), "/M", "invalid final name ''"),
        ((hsm.choice("c"), hsm.state("a")), "/M/c", "at least one transition()"),
        (
            (hsm.choice("c", hsm.transition(hsm.guard(rec("g")), hsm.target("a"))), hsm.state("a")),
            "/M/c",
            "else branch",
        ),
        (
            (hsm.choice("c", hsm.transition(hsm.on("x"), hsm.target("a"))), hsm.state("a")),
            "/M/c",
            "taken at once",
        ),
        ((hsm.choice("c", hsm.transition(hsm.effect(rec("e")))),), "/M/c", "needs a target()"),
        ((hsm.choice("c", hsm.transition(hsm.target("."))),), "/M/c", "its own choice"),
        ((hsm.choice("c", hsm.state("x")),), "/M/c", "transition() branches only"),
        (
            (hsm.choice("c", hsm.transition(hsm.source("a"), hsm.target("a"))), hsm.state("a")),
            "/M/c",
            "cannot have a source()",
        ),
        (
            (hsm.final("f"), hsm.transition(hsm.on("x"), hsm.source("f"), hsm.target("f"))),
            "/M/f",
            "final state cannot have outgoing transitions",
        ),
        (
            (hsm.initial(hsm.target("a")), hsm.initial(hsm.target("a")), hsm.state("a")),
            "/M",
            "twice",
        ),
        ((hsm.initial(), hsm.state("a")), "/M", "needs a target()"),
        ((hsm.state("a", hsm.initial(hsm.target("x"))),), "/M/a", "without child states"),
        ((hsm.initial(hsm.target(".")), hsm.state("a")), "/M", "not a state inside /M"),
        ((hsm.initial(hsm.target("zz")), hsm.state("a")), "/M", "unknown target 'zz'"),
        ((hsm.initial(hsm.target("a"), hsm.on("x")), hsm.state("a")), "/M", "initial() takes"),
        ((hsm.state("a", hsm.transition(hsm.after(-1))),), "/M/a", "after() needs seconds >= 0"),
        ((hsm.state("a", hsm.transition(hsm.every(0))),), "/M/a", "every() needs seconds > 0"),
        ((hsm.state("a", hsm.transition(hsm.after("5s"))),), "/M/a", "invalid duration '5s'"),
        ((hsm.state("a", hsm.transition(hsm.after(True))),), "/M/a", "invalid duration True"),
        (
            (hsm.state("a", hsm.transition(hsm.every(float("inf")))),),
            "/M/a",
            "invalid duration inf",
        ),
    ],
)
def test_definition_errors(elements: tuple[Any, ...], path: str, message: str) -> None:
    err = definition_error(*elements)
    assert err.path == path
    assert message in err.message, err.message


def test_every_problem_is_collected() -> None:
    err = definition_error(
        hsm.state("a", hsm.effect(rec("e")), hsm.on("x")),
        hsm.state("a"),
    )
    assert [p for p, _ in err.errors] == ["/M/a", "/M/a", "/M/a"]
    assert "(and 2 more problem(s))" in str(err)


@pytest.mark.parametrize("name", ["", "a/b", 3])
def test_invalid_machine_names(name: Any) -> None:
    with pytest.raises(ChartDefinitionError, match="invalid machine name"):
        hsm.define(name)


def test_reference_errors_are_reported_after_structure() -> None:
    # an unknown target is only looked for once the tree has no structural errors
    err = definition_error(
        hsm.state("a", hsm.transition(hsm.on("x"), hsm.target("nope"))),
        hsm.state("a"),
    )
    assert err.errors == [("/M/a", "duplicate state name 'a' in /M")]


# -- contexts --------------------------------------------------------------------------------------
async def test_context_cancellation_reaches_children_and_callbacks() -> None:
    parent = hsm.Context()
    child = hsm.Context(parent)
    calls: list[str] = []
    child.add_done_callback(lambda: calls.append("child"))
    waiter = asyncio.ensure_future(child.wait_done())
    await asyncio.sleep(0)
    assert not waiter.done() and not child.done
    parent.cancel()
    await asyncio.wait_for(waiter, timeout=10)
    assert child.is_done() and calls == ["child"]
    parent.cancel()  # idempotent
    assert calls == ["child"]
    late = hsm.Context(parent)  # a child of a cancelled context starts cancelled
    assert late.is_done()
    late.add_done_callback(lambda: calls.append("late"))
    assert calls == ["child", "late"]
    await late.wait_done()


async def test_an_instance_need_not_call_the_base_init() -> None:
    class Bare(hsm.Instance):
        def __init__(self) -> None:
            self.value = 0

    inst = Bare()
    sm = await hsm.start(hsm.Context(), inst, hsm.define("M", hsm.state("a")), clock=VirtualClock())
    assert inst.state() == "/M/a"
    with pytest.raises(ValueError, match="negative"):
        await sm.advance(-1)
    await sm.stop()
