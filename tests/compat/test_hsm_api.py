"""stateforward hsm's capitalised API (and its snake_case forms), used the way hsm's own tests
and README use it: ``import hsm`` becomes ``from statefleet import hsm``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from statefleet import ChartDefinitionError, StatefleetError, VirtualClock, hsm

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """hsm's runtime is asyncio's (its ``start`` leaves timer and activity tasks running)."""
    return "asyncio"


class ParityInstance(hsm.Instance):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []


def test_capitalised_and_snake_case_names_are_the_same_objects() -> None:
    pairs = {
        "Define": "define",
        "State": "state",
        "Final": "final",
        "Choice": "choice",
        "Initial": "initial",
        "Transition": "transition",
        "On": "on",
        "Source": "source",
        "Target": "target",
        "Guard": "guard",
        "Effect": "effect",
        "Entry": "entry",
        "Exit": "exit",
        "After": "after",
        "Every": "every",
        "At": "at",
        "Start": "start",
        "Started": "started",
        "Stop": "stop",
        "Dispatch": "dispatch",
        "Config": "config",
        "TakeSnapshot": "take_snapshot",
        "QualifiedName": "qualified_name",
        "Model": "model",
        "Snapshot": "snapshot",
        "Context": "context",
        "Event": "event",
    }
    for upper, lower in pairs.items():
        assert getattr(hsm, upper) is getattr(hsm, lower), upper
        assert upper in hsm.__all__ and lower in hsm.__all__


async def test_pascal_case_model_start_snapshot_and_stop() -> None:
    instance = ParityInstance()
    model = hsm.Define(
        "AliasMachine",
        hsm.Initial(hsm.Target("idle")),
        hsm.State("idle", hsm.Transition(hsm.On("go"), hsm.Target("../done"))),
        hsm.State("done"),
    )
    assert isinstance(model, hsm.Model)
    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model, clock=VirtualClock())
    snap = hsm.TakeSnapshot(ctx, instance)
    assert snap.QualifiedName == snap.qualified_name == "/AliasMachine"
    assert snap.State == snap.state == "/AliasMachine/idle"
    assert snap.QueueLen == 0
    assert hsm.ID(instance) == snap.ID == snap.id
    assert hsm.QualifiedName(instance) == "/AliasMachine"
    assert hsm.Name(instance) == "AliasMachine"
    assert [e.Name for e in snap.Events] == ["go"]
    await hsm.Dispatch(ctx, instance, hsm.Event("go"))
    assert instance.state() == "/AliasMachine/done"
    await hsm.Stop(instance)
    assert instance.state() == "/AliasMachine"  # as hsm: the machine's path once stopped
    with pytest.raises(StatefleetError, match="not running"):
        await instance.dispatch(hsm.Event("go"))
    await hsm.Stop(instance)  # stopping a stopped instance does nothing
    assert hsm.Instance().state() == ""  # never started


async def test_dispatch_to_the_machine_or_the_instance_with_a_name_and_data() -> None:
    seen: list[Any] = []

    def record(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        seen.append((event.name, event.data))

    model = hsm.Define(
        "M",
        hsm.Initial(hsm.Target("a")),
        hsm.State("a", hsm.Transition(hsm.On("go"), hsm.Target("../b"), hsm.Effect(record))),
        hsm.State("b", hsm.Transition(hsm.On("back"), hsm.Target("../a"), hsm.Effect(record))),
    )
    ctx = hsm.Context()
    inst = hsm.Instance()
    sm = await hsm.Started(ctx, inst, model, hsm.Config(clock=VirtualClock()))
    await hsm.Dispatch(ctx, sm, "go", {"n": 1})
    await hsm.dispatch(ctx, inst, hsm.Event("back", data=2))
    assert seen == [("go", {"n": 1}), ("back", 2)]
    await hsm.Stop(sm)
    with pytest.raises(StatefleetError, match="not running"):
        await hsm.Dispatch(ctx, inst, "go")
    with pytest.raises(StatefleetError, match=r"hsm\.Instance"):
        await hsm.Dispatch(ctx, object(), "go")  # type: ignore[arg-type]


async def test_config_id_names_the_machine() -> None:
    model = hsm.Define("Configured", hsm.Initial(hsm.Target("idle")), hsm.State("idle"))
    ctx = hsm.Context()
    sm = await hsm.Started(ctx, hsm.Instance(), model, hsm.Config(id="alpha", clock=VirtualClock()))
    assert hsm.ID(sm) == "alpha"
    await hsm.Stop(sm)
    with pytest.raises(StatefleetError, match="non-empty string"):
        await hsm.Started(ctx, hsm.Instance(), model, hsm.Config(id=""))
    with pytest.raises(StatefleetError, match="VirtualClock or RealClock"):
        await hsm.Started(ctx, hsm.Instance(), model, hsm.Config(clock=object()))  # type: ignore[arg-type]
    named = await hsm.Started(
        ctx, hsm.Instance(), model, hsm.Config(ID="beta", Name="/Alias", Clock=VirtualClock())
    )
    assert (hsm.ID(named), hsm.QualifiedName(named), hsm.Name(named)) == ("beta", "/Alias", "Alias")
    assert named.state() == "/Configured/idle"  # state paths still come from the model
    await hsm.Stop(named)


async def test_at_fires_at_a_wall_clock_instant() -> None:
    soon = datetime.now() + timedelta(hours=2)
    model = hsm.Define(
        "AtMachine",
        hsm.Initial(hsm.Target("waiting")),
        hsm.State(
            "waiting",
            hsm.Transition(hsm.At(soon), hsm.Target("../done")),
        ),
        hsm.State("late", hsm.Transition(hsm.At(datetime(2000, 1, 1)), hsm.Target("../done"))),
        hsm.State("done", hsm.Transition(hsm.On("late"), hsm.Target("../late"))),
    )
    ctx = hsm.Context()
    inst = hsm.Instance()
    sm = await hsm.Start(ctx, inst, model, clock=VirtualClock())
    await sm.advance(3600)
    assert inst.state() == "/AtMachine/waiting"
    await sm.advance(3600)
    assert inst.state() == "/AtMachine/done"
    await hsm.Dispatch(ctx, inst, "late")  # an instant in the past fires at once
    await sm.advance(0)
    assert inst.state() == "/AtMachine/done"
    await hsm.Stop(inst)
    with pytest.raises(ChartDefinitionError, match="datetime"):
        hsm.At(42)  # type: ignore[arg-type]


async def test_events_read_with_both_spellings() -> None:
    seen: list[tuple[str, Any]] = []

    def record(ctx: hsm.Context, inst: Any, event: hsm.Event) -> None:
        seen.append((event.Name, event.Data))

    model = hsm.Define(
        "E",
        hsm.Initial(hsm.Target("a")),
        hsm.State("a", hsm.Transition(hsm.On("go"), hsm.Effect(record))),
    )
    ctx, inst = hsm.Context(), hsm.Instance()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    go = hsm.Event("go")
    await hsm.Dispatch(ctx, inst, go.WithData({"n": 1}))
    await hsm.Dispatch(ctx, inst, go.with_data(2))
    assert seen == [("go", {"n": 1}), ("go", 2)]
    assert go.Data is None  # events are immutable: with_data makes a copy
    await hsm.Stop(inst)


async def test_shallow_and_deep_history() -> None:
    model = hsm.Define(
        "Player",
        hsm.Initial(hsm.Target("stopped")),
        hsm.State("stopped", hsm.Transition(hsm.On("play"), hsm.Target("../playing/resume"))),
        hsm.State(
            "playing",
            hsm.ShallowHistory("resume", hsm.Transition(hsm.Target("../track1"))),
            hsm.DeepHistory("deep"),
            hsm.State("track1", hsm.Transition(hsm.On("next"), hsm.Target("../track2"))),
            hsm.State(
                "track2",
                hsm.Initial(hsm.Target("intro")),
                hsm.State("intro", hsm.Transition(hsm.On("skip"), hsm.Target("../chorus"))),
                hsm.State("chorus"),
            ),
            hsm.Transition(hsm.On("stop"), hsm.Target("../stopped")),
            hsm.Transition(hsm.On("pause"), hsm.Target("../paused")),
        ),
        hsm.State("paused", hsm.Transition(hsm.On("resume"), hsm.Target("../playing/deep"))),
    )
    ctx, inst = hsm.Context(), hsm.Instance()
    await hsm.Start(ctx, inst, model, clock=VirtualClock())
    await hsm.Dispatch(ctx, inst, "play")  # no history yet: the default transition
    assert inst.state() == "/Player/playing/track1"
    for name in ("next", "skip", "stop", "play"):
        await hsm.Dispatch(ctx, inst, name)
    # shallow: track2 again, but entered by its initial state
    assert inst.state() == "/Player/playing/track2/intro"
    for name in ("skip", "pause", "resume"):
        await hsm.Dispatch(ctx, inst, name)
    # deep: every level restored
    assert inst.state() == "/Player/playing/track2/chorus"
    await hsm.Stop(inst)


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        ((hsm.shallow_history("h"),), "not the machine"),
        (
            (hsm.state("a", hsm.shallow_history("h", hsm.on("x"))),),
            "one default transition",
        ),
        (
            (
                hsm.state(
                    "a",
                    hsm.deep_history("h", hsm.transition(hsm.on("x"), hsm.target("../b"))),
                    hsm.state("b"),
                ),
            ),
            "taken at once",
        ),
        (
            (
                hsm.state("a", hsm.deep_history("h", hsm.transition(hsm.target("../../c")))),
                hsm.state("c"),
            ),
            "targets a state of its parent",
        ),
    ],
)
def test_bad_history_is_a_definition_error(elements: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ChartDefinitionError, match=message):
        hsm.define("M", hsm.initial(hsm.target(elements[0].name)), *elements)
