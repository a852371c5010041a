"""stateforward hsm's Defer, attributes (Attribute/Get/Set/OnSet), When, Restart and the
After* waiters, and its runtime on anyio (asyncio and trio), used as hsm's README shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest

from statefleet import ActorSystem, ChartDefinitionError, StatefleetError, VirtualClock, hsm

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Log(hsm.Instance):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []


def note(text: str) -> Any:
    def behaviour(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        inst.log.append(f"{text}:{event.name}")

    return behaviour


# -- Defer ---------------------------------------------------------------------------------------
def deferring_model() -> hsm.Model:
    return hsm.Define(
        "Worker",
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Defer("work", hsm.Event("pause")),
            hsm.Transition(hsm.On("ready"), hsm.Target("../busy")),
        ),
        hsm.State(
            "busy",
            hsm.Transition(hsm.On("work"), hsm.Effect(note("did"))),
            hsm.Transition(hsm.On("pause"), hsm.Target("../paused"), hsm.Effect(note("paused"))),
        ),
        hsm.State("paused"),
    )


async def test_deferred_events_are_handled_once_the_deferring_state_is_left() -> None:
    inst = Log()
    ctx = hsm.Context()
    await hsm.Start(ctx, inst, deferring_model(), clock=VirtualClock())
    await hsm.Dispatch(ctx, inst, hsm.Event("work").WithData(1))
    await hsm.Dispatch(ctx, inst, hsm.Event("pause"))
    await hsm.Dispatch(ctx, inst, hsm.Event("work").WithData(2))
    assert inst.state() == "/Worker/idle" and inst.log == []
    assert hsm.TakeSnapshot(ctx, inst).QueueLen == 3
    assert inst.machine.deferred == ("work", "pause", "work")
    await hsm.Dispatch(ctx, inst, hsm.Event("ready"))
    # re-delivered in order once idle is left; the second work comes after the pause
    assert inst.log == ["did:work", "paused:pause"]
    assert inst.state() == "/Worker/paused"
    assert hsm.TakeSnapshot(ctx, inst).QueueLen == 0  # paused neither defers nor takes it
    await hsm.Stop(inst)


async def test_a_transition_of_a_nested_state_beats_an_outer_deferral() -> None:
    model = hsm.Define(
        "M",
        hsm.Initial(hsm.Target("outer")),
        hsm.State(
            "outer",
            hsm.Defer("x"),
            hsm.Initial(hsm.Target("inner")),
            hsm.State("inner", hsm.Transition(hsm.On("x"), hsm.Effect(note("inner")))),
            hsm.State("other"),
            hsm.Transition(hsm.On("move"), hsm.Target("other")),
        ),
    )
    inst = Log()
    sm = await hsm.Start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.dispatch("x")
    assert inst.log == ["inner:x"]
    await sm.dispatch("move")
    await sm.dispatch("x")  # other has no transition on x: outer defers it
    assert inst.log == ["inner:x"] and sm.deferred == ("x",)
    await hsm.Stop(sm)


def test_defer_outside_a_state_is_a_definition_error() -> None:
    with pytest.raises(ChartDefinitionError, match=r"defer\(\) must be called within a state"):
        hsm.Define("Bare", hsm.Defer("work"), hsm.State("a"))
    with pytest.raises(ChartDefinitionError, match=r"defer\(\) does not belong in a transition"):
        hsm.Define(
            "Bad",
            hsm.State("idle", hsm.Transition(hsm.On("go"), hsm.Defer("work"), hsm.Target("."))),
        )
    with pytest.raises(ChartDefinitionError, match="without spaces"):
        hsm.Define("Bad", hsm.State("idle", hsm.Defer("two words")))
    for name in ("*", "$hsm.stop"):  # would hold back the machine's own stop
        with pytest.raises(ChartDefinitionError, match="cannot hold back"):
            hsm.Define("Bad", hsm.State("idle", hsm.Defer(name)))


async def test_deferral_lives_in_the_datamodel_under_actors() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(deferring_model(), id="w-1")
        await ref.send("work")
        snap = await ref.ask("pause")
        assert snap.context["$hsm.deferred"] == [["work", None], ["pause", None]]
        snap = await ref.ask("ready")
        assert "/Worker/paused" in snap.configuration
        assert "$hsm.deferred" not in snap.context


# -- attributes ----------------------------------------------------------------------------------
def thermostat() -> hsm.Model:
    return hsm.Define(
        "Thermostat",
        hsm.Attribute("temperature", 70),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(hsm.OnSet("temperature"), hsm.Target("../changed"), hsm.Effect(seen)),
        ),
        hsm.State("changed"),
    )


def seen(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
    change = event.data
    assert isinstance(change, hsm.AttributeChange)
    inst.log.append(f"{change.name}: {change.old_value} -> {change.value}")


async def test_attributes_get_set_and_on_set() -> None:
    ctx, inst = hsm.Context(), Log()
    await hsm.Started(ctx, inst, thermostat(), hsm.Config(clock=VirtualClock()))
    assert hsm.Get(ctx, inst, "temperature") == (70, True)
    assert hsm.Get(ctx, inst, "/Thermostat/temperature") == (70, True)
    assert hsm.Get(ctx, inst, "humidity") == (None, False)
    assert hsm.TakeSnapshot(ctx, inst).Attributes == {"/Thermostat/temperature": 70}
    await hsm.Set(ctx, inst, "temperature", 70)  # the same value: no change event
    assert inst.state() == "/Thermostat/idle"
    await hsm.Set(ctx, inst, "temperature", 72)
    assert inst.state() == "/Thermostat/changed"
    assert inst.log == ["/Thermostat/temperature: 70 -> 72"]
    assert hsm.TakeSnapshot(ctx, inst).Attributes == {"/Thermostat/temperature": 72}
    await hsm.Set(ctx, inst, "mode", "eco")  # an undeclared attribute is made on first Set
    assert hsm.Get(ctx, inst, "mode") == ("eco", True)
    for bad in ("$hsm.deferred", "a/b", "two words", "", "/Thermostat/"):
        # nothing internal can be overwritten through an attribute
        with pytest.raises(StatefleetError, match=r"invalid attribute name|non-empty"):
            await hsm.Set(ctx, inst, bad, [])
    assert inst.machine.session.context.get("$hsm.deferred") is None
    await hsm.Stop(inst)
    with pytest.raises(StatefleetError, match="not running"):
        await hsm.Set(ctx, inst, "temperature", 1)


async def test_when_waits_for_a_condition_over_attributes() -> None:
    def warm(ctx: hsm.Context, inst: Log, event: hsm.Event) -> bool:
        return bool(hsm.Get(ctx, inst, "temperature")[0] >= 75)

    model = hsm.Define(
        "Heater",
        hsm.Attribute("temperature", 70),
        hsm.Attribute("armed", False),
        hsm.Initial(hsm.Target("heating")),
        hsm.State(
            "heating",
            hsm.Transition(hsm.When(warm), hsm.Target("../idle")),
            hsm.Transition(hsm.When("armed"), hsm.Target("../armed")),
        ),
        hsm.State("idle"),
        hsm.State("armed"),
    )
    ctx, inst = hsm.Context(), Log()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    await hsm.Set(ctx, inst, "temperature", 74)
    assert inst.state() == "/Heater/heating"
    entered = hsm.AfterEntry(ctx, inst, "/Heater/idle")
    await hsm.Set(ctx, inst, "temperature", 76)
    await entered
    assert inst.state() == "/Heater/idle"
    await hsm.Restart(inst)  # attributes back to their defaults
    assert inst.state() == "/Heater/heating"
    assert hsm.Get(ctx, inst, "temperature") == (70, True)
    await hsm.Set(ctx, inst, "armed", True)  # When("name") is OnSet("name")
    assert inst.state() == "/Heater/armed"
    await hsm.Stop(inst)


async def test_when_awaits_an_event_and_stops_waiting_when_the_state_exits() -> None:
    gate = anyio.Event()
    cancelled: list[str] = []
    ended = [anyio.Event(), anyio.Event()]

    async def opened(ctx: hsm.Context, inst: Log, event: hsm.Event) -> anyio.Event:
        return gate

    async def never(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append(inst.state())
            ended[len(cancelled) - 1].set()

    model = hsm.Define(
        "Door",
        hsm.Initial(hsm.Target("closed")),
        hsm.State(
            "closed",
            hsm.Transition(hsm.When(opened), hsm.Target("../open")),
            hsm.Transition(hsm.When(never), hsm.Target("../open")),
            hsm.Transition(hsm.On("lock"), hsm.Target("../locked")),
        ),
        hsm.State("open"),
        hsm.State("locked"),
    )
    ctx = hsm.Context()
    locked = await hsm.Start(ctx, Log(), model, clock=VirtualClock())
    assert locked.activities == 2
    await locked.dispatch("lock")  # leaving closed ends both waits
    assert locked.activities == 0 and cancelled == ["/Door/locked"]
    await hsm.Stop(locked)

    inst = Log()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    entered = hsm.AfterEntry(ctx, inst, "/Door/open")
    gate.set()
    with anyio.fail_after(5):
        await entered
        await ended[1].wait()  # taking the When transition left closed: the other wait ended
    assert inst.state() == "/Door/open"
    assert cancelled == ["/Door/locked", "/Door/open"]
    await hsm.Stop(inst)


def test_attribute_definition_errors() -> None:
    with pytest.raises(ChartDefinitionError, match="declared twice"):
        hsm.Define("M", hsm.Attribute("a"), hsm.Attribute("/M/a"), hsm.State("s"))
    with pytest.raises(ChartDefinitionError, match="belongs to the machine"):
        hsm.Define("M", hsm.State("s", hsm.Attribute("a")))
    with pytest.raises(ChartDefinitionError, match="invalid duration 'delay'"):
        hsm.Define("M", hsm.State("s", hsm.Transition(hsm.After("delay"), hsm.Target("."))))
    with pytest.raises(ChartDefinitionError, match=r"on_set\(\) belongs in a transition"):
        hsm.Define("M", hsm.State("s", hsm.OnSet("a")))
    with pytest.raises(ChartDefinitionError, match="attribute name or a function"):
        hsm.Define("M", hsm.State("s", hsm.Transition(hsm.When(3), hsm.Target("."))))


async def test_timers_read_their_duration_from_an_attribute() -> None:
    model = hsm.Define(
        "Blink",
        hsm.Attribute("delay", timedelta(seconds=3)),
        hsm.Attribute("period", 2),
        hsm.Initial(hsm.Target("off")),
        hsm.State("off", hsm.Transition(hsm.After("delay"), hsm.Target("../on"))),
        hsm.State("on", hsm.Transition(hsm.Every("period"), hsm.Effect(note("tick")))),
    )
    inst = Log()
    sm = await hsm.Start(hsm.Context(), inst, model, clock=VirtualClock())
    await sm.advance(2.9)
    assert inst.state() == "/Blink/off"
    await sm.advance(0.1)
    assert inst.state() == "/Blink/on"
    await sm.advance(4)
    assert len(inst.log) == 2  # at 5 s and 7 s
    await hsm.Stop(sm)


async def test_startup_data_reaches_the_initial_entry_and_restart_brings_new_data() -> None:
    seen: list[Any] = []

    async def boot(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        seen.append((event.name, event.data))

    def worker(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        seen.append(("activity", event.data))

    model = hsm.Define(
        "Boot",
        hsm.Initial(hsm.Target("idle")),
        hsm.State("idle", hsm.Entry(boot), hsm.Activity(worker)),
    )
    ctx, inst = hsm.Context(), Log()
    await hsm.Started(ctx, inst, model, hsm.Config(Data={"boot": True}, Clock=VirtualClock()))
    assert seen == [("hsm_initial", {"boot": True}), ("activity", {"boot": True})]
    await hsm.Restart(inst, "again")
    assert seen[2:] == [("hsm_initial", "again"), ("activity", "again")]
    await hsm.Restart(inst)
    assert seen[4:] == [("hsm_initial", None), ("activity", None)]
    await hsm.Stop(inst)


# -- observation waiters -------------------------------------------------------------------------
async def test_after_waiters_observe_entry_exit_process_and_dispatch() -> None:
    model = hsm.Define(
        "Obs",
        hsm.Initial(hsm.Target("a")),
        hsm.State("a", hsm.Transition(hsm.On("go"), hsm.Target("../b"))),
        hsm.State("b"),
    )
    ctx, inst = hsm.Context(), Log()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    waiters = [
        hsm.AfterEntry(ctx, inst, "/Obs/b"),
        hsm.AfterExit(ctx, inst, "/Obs/a"),
        hsm.AfterProcess(ctx, inst, hsm.Event("go")),
        hsm.AfterDispatch(ctx, inst, hsm.Event("go")),
    ]
    await hsm.Dispatch(ctx, inst, hsm.Event("go"))
    for waiter in waiters:
        with anyio.fail_after(5):
            await waiter
    never = hsm.AfterEntry(ctx, inst, "/Obs/a")
    await hsm.Stop(inst)
    await never  # a machine that stops releases its waiters


# -- the runtime: one task group per machine -----------------------------------------------------
async def test_activities_run_in_the_machines_task_group_and_end_with_stop() -> None:
    states: list[str] = []

    async def worker(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        states.append("started")
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            states.append(f"cancelled, ctx done: {ctx.is_done()}")
            raise

    model = hsm.Define(
        "W", hsm.Initial(hsm.Target("busy")), hsm.State("busy", hsm.Activity(worker))
    )
    async with anyio.create_task_group() as tg:
        sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock(), task_group=tg)
        assert states == ["started"] and sm.activities == 1
        await hsm.Stop(sm)
        assert states == ["started", "cancelled, ctx done: True"]
    # the machine's own host (no task group given) ends with stop as well
    sm = await hsm.start(hsm.Context(), Log(), model, clock=VirtualClock())
    await hsm.Stop(sm)
    assert states[-1] == "cancelled, ctx done: True" and sm.activities == 0


async def test_running_stops_the_machine_when_the_block_ends() -> None:
    ticks: list[float] = []
    two = anyio.Event()

    def tick(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        ticks.append(1)
        if len(ticks) == 2:
            two.set()

    model = hsm.Define(
        "Ticker",
        hsm.Initial(hsm.Target("on")),
        hsm.State("on", hsm.Transition(hsm.Every(0.01), hsm.Effect(tick))),
    )
    async with hsm.running(hsm.Context(), hsm.Instance(), model) as sm:
        with anyio.fail_after(10):
            await two.wait()  # the real-clock timer loop fires on its own
    assert sm.stopped and sm.state() == ""


async def test_an_activity_that_dispatches_its_own_exit_is_cancelled() -> None:
    done: list[str] = []
    over = anyio.Event()

    async def leave(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        try:
            await inst.dispatch("finished")  # leaves the activity's state, as in hsm
            done.append("not reached")
        except anyio.get_cancelled_exc_class():
            done.append(f"cancelled, ctx done: {ctx.is_done()}")
            over.set()
            raise

    model = hsm.Define(
        "Job",
        hsm.Initial(hsm.Target("running")),
        hsm.State(
            "running",
            hsm.Activity(leave),
            hsm.Transition(hsm.On("finished"), hsm.Target("../done")),
        ),
        hsm.State("done"),
    )
    inst = Log()
    sm = await hsm.Start(hsm.Context(), inst, model, clock=VirtualClock())
    with anyio.fail_after(5):
        await over.wait()
    assert inst.state() == "/Job/done"
    assert done == ["cancelled, ctx done: True"]
    await hsm.Stop(sm)


# -- groups and broadcast ------------------------------------------------------------------------
async def test_broadcast_reaches_the_running_machines_of_a_context() -> None:
    model = hsm.Define(
        "Lamp",
        hsm.Initial(hsm.Target("off")),
        hsm.State("off", hsm.Entry(note("off")), hsm.Transition(hsm.On("on"), hsm.Target("../on"))),
        hsm.State("on"),
    )
    ctx, other = hsm.Context(), hsm.Context()
    lamps = {name: Log() for name in ("hall-1", "hall-2", "yard-1")}
    for name, inst in lamps.items():
        await hsm.Started(ctx, inst, model, hsm.Config(id=name, clock=VirtualClock()))
    elsewhere = Log()
    await hsm.Started(other, elsewhere, model, hsm.Config(id="hall-9", clock=VirtualClock()))
    await hsm.DispatchTo(ctx, hsm.Event("on"), "hall-*")
    assert [inst.state() for inst in lamps.values()] == ["/Lamp/on", "/Lamp/on", "/Lamp/off"]
    assert elsewhere.state() == "/Lamp/off"  # another context's machine
    await hsm.Stop(lamps["yard-1"])
    await hsm.DispatchAll(ctx, hsm.Event("on"))  # a stopped machine is not reached
    group = hsm.NewGroup(lamps["hall-1"], hsm.MakeGroup(lamps["hall-2"], elsewhere))
    assert group.Instances() == [lamps["hall-1"], lamps["hall-2"], elsewhere]
    await hsm.Restart(group)
    assert [inst.state() for inst in group.Instances()] == ["/Lamp/off"] * 3
    await hsm.Dispatch(ctx, group, hsm.Event("on"))
    assert hsm.TakeSnapshot(ctx, group).State == "/Lamp/on"
    await hsm.Stop(group)
    assert all(inst.state() == "/Lamp" for inst in group.Instances())
    with pytest.raises(StatefleetError, match="not running"):
        await hsm.Dispatch(ctx, group, hsm.Event("on"))
    with pytest.raises(StatefleetError, match=r"hsm\.Instance objects"):
        hsm.NewGroup(object())  # type: ignore[arg-type]
    assert hsm.Match("hall-1", "yard-*", "hall-?") and not hsm.Match("hall-10", "hall-?")


# -- operations ----------------------------------------------------------------------------------
async def test_operations_called_by_name_and_their_errors() -> None:
    class Door(Log):
        def lock(self, code: int) -> str:
            self.log.append(f"lock:{code}")
            return "locked"

    model = hsm.Define(
        "Door",
        hsm.Operation("lock"),  # the instance's method of that name
        hsm.Operation("open"),  # ... which this instance does not have
        hsm.Initial(hsm.Target("closed")),
        hsm.State("closed", hsm.Transition(hsm.OnCall("lock"), hsm.Target("../locked"))),
        hsm.State("locked"),
    )
    ctx, door = hsm.Context(), Door()
    await hsm.Start(ctx, door, model, clock=VirtualClock())
    assert await hsm.Call(ctx, door, "lock", 1234) == "locked"
    assert door.state() == "/Door/locked" and door.log == ["lock:1234"]
    with pytest.raises(StatefleetError, match='missing operation "open"'):
        await hsm.Call(ctx, door, "open")
    with pytest.raises(ChartDefinitionError, match='missing operation "fly" for OnCall'):
        await hsm.Call(ctx, door, "fly")
    await hsm.Stop(door)
    with pytest.raises(ChartDefinitionError, match="declared twice"):
        hsm.Define("M", hsm.Operation("a"), hsm.Operation("a"), hsm.State("s"))
    with pytest.raises(ChartDefinitionError, match="belongs to the machine"):
        hsm.Define("M", hsm.State("s", hsm.Operation("a")))
    with pytest.raises(ChartDefinitionError, match='missing operation "x" for OnCall'):
        hsm.Define("M", hsm.State("s", hsm.Transition(hsm.OnCall("x"), hsm.Target("."))))
    with pytest.raises(ChartDefinitionError, match="takes a function"):
        hsm.Define("M", hsm.Operation("a", 42), hsm.State("s"))


async def test_a_dispatch_that_is_not_awaited_still_runs_what_its_step_left() -> None:
    gate, entered, cancelled = anyio.Event(), anyio.Event(), anyio.Event()

    async def monitor(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        await gate.wait()
        inst.dispatch(hsm.Event("threshold"))  # as hsm's reference example: no await
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async def alarm(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        entered.set()

    model = hsm.Define(
        "Monitor",
        hsm.Initial(hsm.Target("watching")),
        hsm.State(
            "watching",
            hsm.Activity(monitor),
            hsm.Transition(hsm.On("threshold"), hsm.Target("../alarm")),
        ),
        hsm.State("alarm", hsm.Entry(alarm)),
    )
    inst = Log()
    sm = await hsm.Start(hsm.Context(), inst, model, clock=VirtualClock())
    gate.set()
    with anyio.fail_after(5):
        await entered.wait()  # the async entry ran with no dispatch awaited
        await cancelled.wait()  # and the activity of the state left was cancelled
    assert inst.state() == "/Monitor/alarm" and sm.activities == 0
    await hsm.Stop(inst)


# -- event kinds ---------------------------------------------------------------------------------
async def test_behaviours_see_hsm_event_kinds() -> None:
    kinds: list[tuple[str, int]] = []

    def seen(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        kinds.append((event.name, event.Kind))

    def fail(ctx: hsm.Context, inst: Log, event: hsm.Event) -> None:
        raise ValueError("boom")

    model = hsm.Define(
        "Kinds",
        hsm.Attribute("level", 0),
        hsm.Operation("ping", lambda: "pong"),
        hsm.Initial(hsm.Target("s")),
        hsm.State(
            "s",
            hsm.Transition(hsm.After(5), hsm.Effect(seen)),
            hsm.Transition(hsm.On("go"), hsm.Effect(seen, fail)),
            hsm.Transition(hsm.OnSet("level"), hsm.Effect(seen)),
            hsm.Transition(hsm.OnCall("ping"), hsm.Effect(seen)),
            hsm.Transition(hsm.On("hsm_error"), hsm.Effect(seen)),
        ),
    )
    ctx, inst = hsm.Context(), Log()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    await hsm.Dispatch(ctx, inst, hsm.Event("go", kind=hsm.EventKind))
    await hsm.Set(ctx, inst, "level", 1)
    assert await hsm.Call(ctx, inst, "ping") == "pong"
    await inst.machine.advance(5)
    assert kinds.pop()[1] == hsm.TimeEventKind
    assert kinds == [
        ("go", hsm.EventKind),
        ("error.execution", hsm.ErrorEventKind),
        ("/Kinds/level", hsm.ChangeEventKind),
        ("/Kinds/ping.call", hsm.CallEventKind),
    ]
    assert hsm.IsKind(hsm.ErrorEventKind, hsm.CompletionEventKind, hsm.EventKind)
    assert not hsm.IsKind(hsm.EventKind, hsm.ChangeEventKind)
    custom = hsm.MakeKind(hsm.ChangeEventKind)
    assert hsm.IsKind(custom, hsm.EventKind) and not hsm.IsKind(custom, hsm.CallEventKind)
    event = hsm.Event("go").WithDataAndID({"n": 1}, "evt-1")
    assert (event.ID, event.Data, event.Kind) == ("evt-1", {"n": 1}, hsm.EventKind)
    await hsm.Stop(inst)


async def test_new_then_start() -> None:
    model = hsm.Define(
        "Later",
        hsm.Initial(hsm.Target("a")),
        hsm.State("a", hsm.Transition(hsm.On("go"), hsm.Target("../b"))),
        hsm.State("b"),
    )
    ctx, inst = hsm.Context(), Log()
    sm = hsm.New(inst, model, hsm.Config(ID="alpha", Clock=VirtualClock()))
    assert inst.state() == ""  # made, not started
    with pytest.raises(StatefleetError, match="not started"):
        await hsm.Dispatch(ctx, sm, hsm.Event("go"))
    await hsm.Start(ctx, sm)
    await hsm.Dispatch(ctx, sm, hsm.Event("go"))
    assert (hsm.ID(sm), inst.state()) == ("alpha", "/Later/b")
    with pytest.raises(StatefleetError, match="started already"):
        await hsm.Start(ctx, sm)
    await hsm.Stop(sm)
    assert inst.state() == "/Later"
    with pytest.raises(StatefleetError, match="needs a model"):
        await hsm.Start(ctx, Log())
