"""stateforward hsm's own tests, run against ``statefleet.hsm``.

Ported from stateforward/hsm.py (https://github.com/stateforward/hsm.py, the Python package
``stateforward.hsm``): ``tests/test_basic_states.py``, ``tests/test_transitions.py``,
``tests/test_guards.py``, ``tests/test_history.py``, ``tests/test_final.py``,
``tests/test_activities.py``, ``tests/test_timers.py``, ``tests/test_choice.py`` and
``tests/test_go_parity_api.py`` (its public-behaviour tests). hsm is Copyright (c) 2025
StateForward, MIT License.

What changed: the imports (``import hsm`` / ``from hsm import hsm`` become
``from statefleet import hsm``; ``from hsm.hsm import Instance, Event`` comes from
``statefleet.compat.hsm``); the ``asyncio`` marker is anyio's (this suite runs async tests
with anyio's pytest plugin, on asyncio as hsm does); two tests that had the same name in two
of hsm's files carry a suffix. Tests that fail here are marked ``xfail(strict=True)`` with the
reason: a name statefleet does not provide, or a deliberate difference listed in
docs/migrate-stateforward-hsm.md.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timedelta

import pytest

from statefleet import hsm
from statefleet.compat.hsm import Event, Instance


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _missing(name: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"statefleet does not provide {name}")


def _differs(why: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"deliberate difference: {why}")


# ===================================================================================== basic states
class BasicInstance(hsm.Instance):
    """Test instance implementation for basic state testing"""

    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {}

    def log_action(self, action: str):
        """Log an action for test verification"""
        self.log.append(action)


@pytest.mark.anyio
async def test_basic_state_machine_with_simple_transitions():
    """Test basic state machine with simple transitions"""
    instance = BasicInstance()

    model = hsm.define(
        "BasicMachine",
        hsm.initial(hsm.target("idle")),
        hsm.state("idle", hsm.transition(hsm.on("start"), hsm.target("../running"))),
        hsm.state("running", hsm.transition(hsm.on("stop"), hsm.target("../idle"))),
    )

    # Start the state machine
    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Should start in idle state
    assert instance.state() == "/BasicMachine/idle"

    # Dispatch start event
    await instance.dispatch(ctx, hsm.Event(name="start"))
    assert instance.state() == "/BasicMachine/running"

    # Dispatch stop event
    await instance.dispatch(ctx, hsm.Event(name="stop"))
    assert instance.state() == "/BasicMachine/idle"

    # Stop the state machine
    await instance.stop(ctx)


@pytest.mark.anyio
async def test_state_machine_lifecycle_start_and_stop():
    """Test state machine lifecycle - start and stop"""
    instance = BasicInstance()

    async def active_entry(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("active-entry")

    async def active_exit(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("active-exit")

    model = hsm.define(
        "LifecycleMachine",
        hsm.initial(hsm.target("active")),
        hsm.state("active", hsm.entry(active_entry), hsm.exit(active_exit)),
    )

    # Start the state machine
    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Should have executed entry action
    assert "active-entry" in instance.log
    assert instance.state() == "/LifecycleMachine/active"

    # Stop the state machine
    await instance.stop(ctx)

    # Should have executed exit action
    assert "active-exit" in instance.log

    # State should be reset to model (root)
    assert instance.state() == "/LifecycleMachine"


@pytest.mark.anyio
async def test_multiple_transitions_from_same_state():
    """Test multiple transitions from the same state"""
    instance = BasicInstance()

    model = hsm.define(
        "MultiTransitionMachine",
        hsm.initial(hsm.target("idle")),
        hsm.state(
            "idle",
            hsm.transition(hsm.on("event1"), hsm.target("../state1")),
            hsm.transition(hsm.on("event2"), hsm.target("../state2")),
        ),
        hsm.state("state1", hsm.transition(hsm.on("back"), hsm.target("../idle"))),
        hsm.state("state2", hsm.transition(hsm.on("back"), hsm.target("../idle"))),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Test first transition
    await instance.dispatch(ctx, hsm.Event(name="event1"))
    assert instance.state() == "/MultiTransitionMachine/state1"

    # Go back to idle
    await instance.dispatch(ctx, hsm.Event(name="back"))
    assert instance.state() == "/MultiTransitionMachine/idle"

    # Test second transition
    await instance.dispatch(ctx, hsm.Event(name="event2"))
    assert instance.state() == "/MultiTransitionMachine/state2"

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_self_transitions():
    """Test self transitions"""
    instance = BasicInstance()

    async def counter_entry(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.data["count"] = inst.data.get("count", 0) + 1
        inst.log_action(f"counter-entry-{inst.data['count']}")

    async def counter_exit(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action(f"counter-exit-{inst.data['count']}")

    def increment_effect(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("increment-effect")

    model = hsm.define(
        "SelfTransitionMachine",
        hsm.initial(hsm.target("counter")),
        hsm.state(
            "counter",
            hsm.entry(counter_entry),
            hsm.exit(counter_exit),
            hsm.transition(
                hsm.on("increment"),
                hsm.target("../counter"),  # Self transition
                hsm.effect(increment_effect),
            ),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Initial entry
    assert instance.data["count"] == 1
    assert "counter-entry-1" in instance.log

    # Self transition should exit and re-enter the state
    await instance.dispatch(ctx, hsm.Event(name="increment"))
    assert instance.data["count"] == 2
    expected_sequence = ["counter-entry-1", "counter-exit-1", "increment-effect", "counter-entry-2"]

    # Check that all expected actions occurred
    for action in expected_sequence:
        assert action in instance.log

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_internal_transitions():
    """Test internal transitions"""
    instance = BasicInstance()

    async def active_entry(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.data["entry_count"] = inst.data.get("entry_count", 0) + 1
        inst.log_action("active-entry")

    async def active_exit(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("active-exit")

    def internal_effect(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("internal-effect")

    model = hsm.define(
        "InternalTransitionMachine",
        hsm.initial(hsm.target("active")),
        hsm.state(
            "active",
            hsm.entry(active_entry),
            hsm.exit(active_exit),
            hsm.transition(
                hsm.on("internal"),
                # No target specified makes it internal
                hsm.effect(internal_effect),
            ),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Initial entry
    assert instance.data["entry_count"] == 1
    assert "active-entry" in instance.log

    # Internal transition should NOT exit/enter the state
    await instance.dispatch(ctx, hsm.Event(name="internal"))
    assert instance.data["entry_count"] == 1  # Should not re-enter
    assert "internal-effect" in instance.log
    assert "active-exit" not in instance.log  # Should not exit

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_event_dispatching_during_lifecycle():
    """Test event dispatching during state machine lifecycle"""
    instance = BasicInstance()

    model = hsm.define(
        "EventLifecycleMachine",
        hsm.initial(hsm.target("a")),
        hsm.state("a", hsm.transition(hsm.on("next"), hsm.target("../b"))),
        hsm.state("b"),
    )

    # Start the state machine
    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)
    assert instance.state() == "/EventLifecycleMachine/a"

    # Now event should work
    await sm.dispatch(ctx, hsm.Event(name="next"))
    assert instance.state() == "/EventLifecycleMachine/b"

    # Stop the state machine
    await hsm.stop(sm)
    assert instance.state() == "/EventLifecycleMachine"  # Root state after stop


@pytest.mark.anyio
async def test_unknown_events_ignored():
    """Test unknown events should be ignored"""
    instance = BasicInstance()

    async def stable_entry(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action("stable-entry")

    model = hsm.define(
        "UnknownEventMachine",
        hsm.initial(hsm.target("stable")),
        hsm.state("stable", hsm.entry(stable_entry)),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)
    assert instance.state() == "/UnknownEventMachine/stable"

    # Dispatch unknown events
    await instance.dispatch(ctx, hsm.Event(name="unknown1"))
    await instance.dispatch(ctx, hsm.Event(name="unknown2"))
    await instance.dispatch(ctx, hsm.Event(name="unknown3", kind=hsm.EventKind))

    # State should remain unchanged
    assert instance.state() == "/UnknownEventMachine/stable"
    # No additional actions should have been triggered
    assert instance.log == ["stable-entry"]

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_event_object_dispatching():
    """Test event object dispatching"""
    instance = BasicInstance()

    def proceed_effect(ctx: hsm.Context, inst: BasicInstance, event: hsm.Event) -> None:
        inst.log_action(f"effect-{event.name}")
        # Store event information in instance data for testing
        inst.data["last_event_name"] = event.name
        inst.data["last_event_kind"] = event.kind

    model = hsm.define(
        "EventTypeMachine",
        hsm.initial(hsm.target("waiting")),
        hsm.state(
            "waiting",
            hsm.transition(hsm.on("proceed"), hsm.target("../done"), hsm.effect(proceed_effect)),
        ),
        hsm.state("done"),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Test Event object dispatching
    await instance.dispatch(ctx, hsm.Event(name="proceed"))
    assert instance.state() == "/EventTypeMachine/done"
    assert "effect-proceed" in instance.log
    assert instance.data.get("last_event_name") == "proceed"
    assert instance.data.get("last_event_kind") == hsm.EventKind

    # Reset
    await instance.stop(ctx)
    instance.log = []
    instance.data = {}
    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Test different event with explicit kind
    await instance.dispatch(ctx, hsm.Event(name="proceed", kind=hsm.EventKind))
    assert instance.state() == "/EventTypeMachine/done"
    assert "effect-proceed" in instance.log
    assert instance.data.get("last_event_name") == "proceed"
    assert instance.data.get("last_event_kind") == hsm.EventKind

    await instance.stop(ctx)


# ====================================================================================== transitions
class TransitionInstance(hsm.Instance):
    """Test instance implementation for transition testing"""

    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {}

    def log_action(self, action: str):
        """Log an action for test verification"""
        self.log.append(action)


@pytest.mark.anyio
async def test_external_transitions():
    """Test external transitions correctly exit and enter states"""
    instance = TransitionInstance()

    async def parent_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("parent-entry")

    async def parent_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("parent-exit")

    async def child1_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child1-entry")

    async def child1_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child1-exit")

    async def child2_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child2-entry")

    async def child2_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child2-exit")

    def transition_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("transition-effect")

    model = hsm.define(
        "ExternalTransitionMachine",
        hsm.initial(hsm.target("parent")),
        hsm.state(
            "parent",
            hsm.entry(parent_entry),
            hsm.exit(parent_exit),
            hsm.initial(hsm.target("child1")),
            hsm.state(
                "child1",
                hsm.entry(child1_entry),
                hsm.exit(child1_exit),
                hsm.transition(
                    hsm.on("toChild2"), hsm.target("../child2"), hsm.effect(transition_effect)
                ),
            ),
            hsm.state("child2", hsm.entry(child2_entry), hsm.exit(child2_exit)),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)
    instance.log.clear()  # Clear initial entry logs

    # External transition between sibling states
    await instance.dispatch(ctx, hsm.Event(name="toChild2"))

    # Should exit child1, execute effect, then enter child2
    # Parent should remain active (not exit/enter)
    expected_sequence = ["child1-exit", "transition-effect", "child2-entry"]

    for action in expected_sequence:
        assert action in instance.log

    # Verify order
    for i in range(len(expected_sequence) - 1):
        idx1 = instance.log.index(expected_sequence[i])
        idx2 = instance.log.index(expected_sequence[i + 1])
        assert idx1 < idx2

    # Parent should not have exited/entered
    assert "parent-exit" not in instance.log
    assert "parent-entry" not in instance.log

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_self_transitions_transitions():
    """Test self transitions exit and re-enter the same state"""
    instance = TransitionInstance()

    async def state_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.data["entry_count"] = inst.data.get("entry_count", 0) + 1
        inst.log_action(f"state-entry-{inst.data['entry_count']}")

    async def state_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action(f"state-exit-{inst.data['entry_count']}")

    def self_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("self-effect")

    model = hsm.define(
        "SelfTransitionMachine",
        hsm.initial(hsm.target("state")),
        hsm.state(
            "state",
            hsm.entry(state_entry),
            hsm.exit(state_exit),
            hsm.transition(
                hsm.on("selfEvent"),
                hsm.target("../state"),  # Self transition
                hsm.effect(self_effect),
            ),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Initial entry
    assert instance.data["entry_count"] == 1
    assert "state-entry-1" in instance.log

    instance.log.clear()

    # Self transition should exit and re-enter
    await instance.dispatch(ctx, hsm.Event(name="selfEvent"))

    assert instance.data["entry_count"] == 2
    expected_sequence = ["state-exit-1", "self-effect", "state-entry-2"]

    for action in expected_sequence:
        assert action in instance.log

    # Verify order
    for i in range(len(expected_sequence) - 1):
        idx1 = instance.log.index(expected_sequence[i])
        idx2 = instance.log.index(expected_sequence[i + 1])
        assert idx1 < idx2

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_internal_transitions_transitions():
    """Test internal transitions do not exit/enter states"""
    instance = TransitionInstance()

    async def state_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.data["entry_count"] = inst.data.get("entry_count", 0) + 1
        inst.log_action("state-entry")

    async def state_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("state-exit")

    def internal_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("internal-effect")

    model = hsm.define(
        "InternalTransitionMachine",
        hsm.initial(hsm.target("state")),
        hsm.state(
            "state",
            hsm.entry(state_entry),
            hsm.exit(state_exit),
            hsm.transition(
                hsm.on("internalEvent"),
                # No target = internal transition
                hsm.effect(internal_effect),
            ),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    # Initial entry
    assert instance.data["entry_count"] == 1
    assert "state-entry" in instance.log

    instance.log.clear()

    # Internal transition should not exit/enter state
    await instance.dispatch(ctx, hsm.Event(name="internalEvent"))

    assert instance.data["entry_count"] == 1  # Should not re-enter
    assert "internal-effect" in instance.log
    assert "state-exit" not in instance.log
    assert "state-entry" not in instance.log

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_transition_with_multiple_effects():
    """Test transitions can have multiple effects"""
    instance = TransitionInstance()

    def effect1(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("effect1")

    def effect2(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("effect2")

    def effect3(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("effect3")

    model = hsm.define(
        "MultipleEffectMachine",
        hsm.initial(hsm.target("state1")),
        hsm.state(
            "state1",
            hsm.transition(
                hsm.on("multiEffect"),
                hsm.target("../state2"),
                hsm.effect(effect1),
                hsm.effect(effect2),
                hsm.effect(effect3),
            ),
        ),
        hsm.state("state2"),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    await instance.dispatch(ctx, hsm.Event(name="multiEffect"))

    # All effects should be executed
    assert "effect1" in instance.log
    assert "effect2" in instance.log
    assert "effect3" in instance.log

    # Should transition to state2
    assert instance.state() == "/MultipleEffectMachine/state2"

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_transition_priority():
    """Test transition priority - first matching transition wins"""
    instance = TransitionInstance()

    def effect1(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("effect1-executed")

    def effect2(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("effect2-executed")

    model = hsm.define(
        "TransitionPriorityMachine",
        hsm.initial(hsm.target("state")),
        hsm.state(
            "state",
            hsm.transition(hsm.on("sameEvent"), hsm.target("../target1"), hsm.effect(effect1)),
            hsm.transition(hsm.on("sameEvent"), hsm.target("../target2"), hsm.effect(effect2)),
        ),
        hsm.state("target1"),
        hsm.state("target2"),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    await instance.dispatch(ctx, hsm.Event(name="sameEvent"))

    # First transition should be taken
    assert "effect1-executed" in instance.log
    assert "effect2-executed" not in instance.log
    assert instance.state() == "/TransitionPriorityMachine/target1"

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_transitions_between_different_levels():
    """Test transitions between states at different hierarchy levels"""
    instance = TransitionInstance()

    async def grandchild_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("grandchild-exit")

    async def child_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child-exit")

    async def parent_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("parent-exit")

    async def sibling_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("sibling-entry")

    def cross_transition_effect(
        ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event
    ) -> None:
        inst.log_action("cross-transition-effect")

    model = hsm.define(
        "CrossLevelTransitionMachine",
        hsm.initial(hsm.target("parent")),
        hsm.state(
            "parent",
            hsm.exit(parent_exit),
            hsm.initial(hsm.target("child")),
            hsm.state(
                "child",
                hsm.exit(child_exit),
                hsm.initial(hsm.target("grandchild")),
                hsm.state(
                    "grandchild",
                    hsm.exit(grandchild_exit),
                    hsm.transition(
                        hsm.on("crossLevel"),
                        hsm.target("/CrossLevelTransitionMachine/sibling"),
                        hsm.effect(cross_transition_effect),
                    ),
                ),
            ),
        ),
        hsm.state("sibling", hsm.entry(sibling_entry)),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)

    assert instance.state() == "/CrossLevelTransitionMachine/parent/child/grandchild"

    instance.log.clear()

    # Transition from deep nested state to top-level sibling
    await sm.dispatch(ctx, hsm.Event(name="crossLevel"))

    # Should exit the source state hierarchy and execute the transition
    assert "grandchild-exit" in instance.log
    assert "child-exit" in instance.log
    assert "parent-exit" in instance.log
    assert "cross-transition-effect" in instance.log

    # Note: Cross-hierarchy transitions may not fully complete in current implementation
    # The transition executes correctly (exits and effects) but may not enter target state

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_transition_to_initial_state():
    """Test transitions that target states with initial substates"""
    instance = TransitionInstance()

    async def parent_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("parent-entry")

    async def child_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("child-entry")

    def initial_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("initial-effect")

    def transition_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("transition-effect")

    model = hsm.define(
        "InitialTargetMachine",
        hsm.initial(hsm.target("start")),
        hsm.state(
            "start",
            hsm.transition(
                hsm.on("goToParent"), hsm.target("../parent"), hsm.effect(transition_effect)
            ),
        ),
        hsm.state(
            "parent",
            hsm.entry(parent_entry),
            hsm.initial(hsm.target("child"), hsm.effect(initial_effect)),
            hsm.state("child", hsm.entry(child_entry)),
        ),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    assert instance.state() == "/InitialTargetMachine/start"

    instance.log.clear()

    # Transition to parent should enter parent and follow initial to child
    await instance.dispatch(ctx, hsm.Event(name="goToParent"))

    expected_sequence = ["transition-effect", "parent-entry", "initial-effect", "child-entry"]

    for action in expected_sequence:
        assert action in instance.log

    # Verify order
    for i in range(len(expected_sequence) - 1):
        idx1 = instance.log.index(expected_sequence[i])
        idx2 = instance.log.index(expected_sequence[i + 1])
        assert idx1 < idx2

    assert instance.state() == "/InitialTargetMachine/parent/child"

    await instance.stop(ctx)


@pytest.mark.anyio
async def test_compound_transition_paths():
    """Test complex transition paths through multiple states"""
    instance = TransitionInstance()

    async def a_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("a-exit")

    async def b_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("b-entry")

    async def b_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("b-exit")

    async def c_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("c-entry")

    async def c_exit(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("c-exit")

    async def d_entry(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("d-entry")

    def ab_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("a-to-b-effect")

    def bc_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("b-to-c-effect")

    def cd_effect(ctx: hsm.Context, inst: TransitionInstance, event: hsm.Event) -> None:
        inst.log_action("c-to-d-effect")

    model = hsm.define(
        "CompoundTransitionMachine",
        hsm.initial(hsm.target("a")),
        hsm.state(
            "a",
            hsm.exit(a_exit),
            hsm.transition(hsm.on("chain"), hsm.target("../b"), hsm.effect(ab_effect)),
        ),
        hsm.state(
            "b",
            hsm.entry(b_entry),
            hsm.exit(b_exit),
            hsm.transition(hsm.on("chain"), hsm.target("../c"), hsm.effect(bc_effect)),
        ),
        hsm.state(
            "c",
            hsm.entry(c_entry),
            hsm.exit(c_exit),
            hsm.transition(hsm.on("chain"), hsm.target("../d"), hsm.effect(cd_effect)),
        ),
        hsm.state("d", hsm.entry(d_entry)),
    )

    ctx = hsm.Context()
    await hsm.started(ctx, instance, model)

    assert instance.state() == "/CompoundTransitionMachine/a"

    instance.log.clear()

    # Chain of transitions: a -> b -> c -> d
    await instance.dispatch(ctx, hsm.Event(name="chain"))
    assert "a-exit" in instance.log
    assert "a-to-b-effect" in instance.log
    assert "b-entry" in instance.log
    assert instance.state() == "/CompoundTransitionMachine/b"

    instance.log.clear()

    await instance.dispatch(ctx, hsm.Event(name="chain"))
    assert "b-exit" in instance.log
    assert "b-to-c-effect" in instance.log
    assert "c-entry" in instance.log
    assert instance.state() == "/CompoundTransitionMachine/c"

    instance.log.clear()

    await instance.dispatch(ctx, hsm.Event(name="chain"))
    assert "c-exit" in instance.log
    assert "c-to-d-effect" in instance.log
    assert "d-entry" in instance.log
    assert instance.state() == "/CompoundTransitionMachine/d"

    await instance.stop(ctx)


# =========================================================================================== guards
class GuardInstance(hsm.Instance):
    """Test instance implementation for guard testing"""

    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {"counter": 0, "flag": False, "values": []}

    def log_action(self, action: str):
        """Log an action for test verification"""
        self.log.append(action)


@pytest.mark.anyio
async def test_guard_functions_are_called():
    """Test that guard functions are properly called during transitions"""
    instance = GuardInstance()

    async def test_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.log_action("guard-called")
        inst.data["guard_called"] = True
        return True

    async def transition_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("transition-executed")

    model = hsm.define(
        "GuardCallMachine",
        hsm.initial(hsm.target("state1")),
        hsm.state(
            "state1",
            hsm.transition(
                hsm.on("test"),
                hsm.guard(test_guard),
                hsm.target("../state2"),
                hsm.effect(transition_effect),
            ),
        ),
        hsm.state("state2"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    await instance.dispatch(hsm.Event(name="test"))

    # Guard should have been called
    assert "guard-called" in instance.log
    assert instance.data.get("guard_called") is True
    assert "transition-executed" in instance.log

    await hsm.stop(instance)


@pytest.mark.anyio
async def test_guard_evaluation_order():
    """Test guard evaluation order in multiple transitions"""
    instance = GuardInstance()

    async def guard1(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.data["values"].append("guard1")
        return True

    async def guard2(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.data["values"].append("guard2")
        return True

    async def effect1(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("effect1")

    async def effect2(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("effect2")

    model = hsm.define(
        "GuardOrderMachine",
        hsm.initial(hsm.target("start")),
        hsm.state(
            "start",
            hsm.transition(
                hsm.on("test"), hsm.guard(guard1), hsm.target("../target1"), hsm.effect(effect1)
            ),
            hsm.transition(
                hsm.on("test"), hsm.guard(guard2), hsm.target("../target2"), hsm.effect(effect2)
            ),
        ),
        hsm.state("target1"),
        hsm.state("target2"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    await instance.dispatch(hsm.Event(name="test"))

    # First guard should be evaluated and first transition taken
    assert "guard1" in instance.data["values"]
    assert "effect1" in instance.log
    assert instance.state() == "/GuardOrderMachine/target1"

    await hsm.stop(instance)


@pytest.mark.anyio
async def test_guards_with_event_access():
    """Test guards with access to event information"""
    instance = GuardInstance()

    async def event_name_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.log_action(f"guard-for-{event.name}")
        inst.data["last_event"] = event.name
        return True

    async def transition_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("transition-executed")

    model = hsm.define(
        "EventAccessGuardMachine",
        hsm.initial(hsm.target("waiting")),
        hsm.state(
            "waiting",
            hsm.transition(
                hsm.on("testEvent"),
                hsm.guard(event_name_guard),
                hsm.target("../done"),
                hsm.effect(transition_effect),
            ),
        ),
        hsm.state("done"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    await instance.dispatch(hsm.Event(name="testEvent"))

    # Guard should have access to event
    assert "guard-for-testEvent" in instance.log
    assert instance.data.get("last_event") == "testEvent"
    assert "transition-executed" in instance.log

    await hsm.stop(instance)


@_differs(
    "an async def guard that completes without suspending is accepted (hsm's older API and its own guard tests use them)"
)
def test_async_guards_are_rejected_at_build_time():
    async def async_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        return True

    with pytest.raises(hsm.ValidationError, match="guard must be a synchronous function"):
        hsm.Define(
            "AsyncGuardMachine",
            hsm.Initial(hsm.Target("checking")),
            hsm.State(
                "checking",
                hsm.Transition(
                    hsm.On("check"),
                    hsm.Guard(async_guard),
                    hsm.Target("../passed"),
                ),
            ),
            hsm.State("passed"),
        )


@pytest.mark.anyio
async def test_guards_in_hierarchical_states():
    """Test guards in hierarchical states"""
    instance = GuardInstance()

    async def child_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.log_action("child-guard-called")
        return True

    async def parent_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.log_action("parent-guard-called")
        return True

    async def child_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("child-handled")

    async def parent_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("parent-handled")

    model = hsm.define(
        "HierarchicalGuardMachine",
        hsm.initial(hsm.target("parent")),
        hsm.state(
            "parent",
            hsm.initial(hsm.target("child")),
            hsm.transition(
                hsm.on("move"),
                hsm.guard(parent_guard),
                hsm.target("../sibling"),
                hsm.effect(parent_effect),
            ),
            hsm.state(
                "child",
                hsm.transition(
                    hsm.on("move"),
                    hsm.guard(child_guard),
                    hsm.target("../other"),
                    hsm.effect(child_effect),
                ),
            ),
            hsm.state("other"),
        ),
        hsm.state("sibling"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    # Child guard should be evaluated first (deeper state has priority)
    await instance.dispatch(hsm.Event(name="move"))
    assert "child-guard-called" in instance.log
    assert "child-handled" in instance.log
    assert instance.state() == "/HierarchicalGuardMachine/parent/other"

    await hsm.stop(instance)


@pytest.mark.anyio
async def test_transition_without_guard():
    """Test transition without guard (always enabled)"""
    instance = GuardInstance()

    async def always_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("transition-executed")

    model = hsm.define(
        "NoGuardMachine",
        hsm.initial(hsm.target("a")),
        hsm.state(
            "a", hsm.transition(hsm.on("always"), hsm.target("../b"), hsm.effect(always_effect))
        ),
        hsm.state("b"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    # Transition without guard should always execute
    await instance.dispatch(hsm.Event(name="always"))
    assert instance.state() == "/NoGuardMachine/b"
    assert "transition-executed" in instance.log

    await hsm.stop(instance)


@pytest.mark.anyio
async def test_guard_with_complex_logic():
    """Test guards with complex conditional logic"""
    instance = GuardInstance()

    async def complex_guard(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> bool:
        inst.log_action("complex-guard-evaluated")
        # Complex condition based on multiple factors
        condition = (
            inst.data.get("counter", 0) > 0
            and len(inst.data.get("values", [])) == 0
            and event.name == "complexEvent"
        )
        inst.data["guard_result"] = condition
        return condition

    async def success_effect(ctx: hsm.Context, inst: GuardInstance, event: hsm.Event) -> None:
        inst.log_action("complex-guard-passed")

    model = hsm.define(
        "ComplexGuardMachine",
        hsm.initial(hsm.target("testing")),
        hsm.state(
            "testing",
            hsm.transition(
                hsm.on("complexEvent"),
                hsm.guard(complex_guard),
                hsm.target("../success"),
                hsm.effect(success_effect),
            ),
        ),
        hsm.state("success"),
    )

    ctx = hsm.Context()
    await hsm.start(ctx, instance, model)

    # Set up conditions for guard
    instance.data["counter"] = 5
    instance.data["values"] = []

    await instance.dispatch(hsm.Event(name="complexEvent"))

    # Guard should have been evaluated
    assert "complex-guard-evaluated" in instance.log
    # Note: Due to guard implementation issues, we just test that it was called
    # not that it correctly blocked/allowed the transition

    await hsm.stop(instance)


# ========================================================================================== history
class HistoryInstance(hsm.Instance):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []


@pytest.mark.anyio
async def test_shallow_history_restores_direct_child_default() -> None:
    instance = HistoryInstance()
    model = hsm.Define(
        "ShallowHistoryMachine",
        hsm.Initial(hsm.Target("parent")),
        hsm.State(
            "parent",
            hsm.ShallowHistory(
                "memory",
                hsm.Transition(hsm.Target("a")),
            ),
            hsm.Initial(hsm.Target("a")),
            hsm.State(
                "a",
                hsm.Transition(hsm.On("advance"), hsm.Target("../b/two")),
            ),
            hsm.State(
                "b",
                hsm.Initial(hsm.Target("one")),
                hsm.State("one"),
                hsm.State("two"),
                hsm.Transition(hsm.On("leave"), hsm.Target("../../outside")),
            ),
        ),
        hsm.State(
            "outside",
            hsm.Transition(hsm.On("resume"), hsm.Target("../parent/memory")),
        ),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event(name="advance"))
    assert instance.state() == "/ShallowHistoryMachine/parent/b/two"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="leave"))
    assert instance.state() == "/ShallowHistoryMachine/outside"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="resume"))
    assert instance.state() == "/ShallowHistoryMachine/parent/b/one"


@pytest.mark.anyio
async def test_deep_history_restores_nested_leaf() -> None:
    instance = HistoryInstance()
    model = hsm.Define(
        "DeepHistoryMachine",
        hsm.Initial(hsm.Target("parent")),
        hsm.State(
            "parent",
            hsm.DeepHistory(
                "memory",
                hsm.Transition(hsm.Target("a")),
            ),
            hsm.Initial(hsm.Target("a")),
            hsm.State(
                "a",
                hsm.Transition(hsm.On("advance"), hsm.Target("../b/two")),
            ),
            hsm.State(
                "b",
                hsm.Initial(hsm.Target("one")),
                hsm.State("one"),
                hsm.State("two"),
                hsm.Transition(hsm.On("leave"), hsm.Target("../../outside")),
            ),
        ),
        hsm.State(
            "outside",
            hsm.Transition(hsm.On("resume"), hsm.Target("../parent/memory")),
        ),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event(name="advance"))
    assert instance.state() == "/DeepHistoryMachine/parent/b/two"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="leave"))
    assert instance.state() == "/DeepHistoryMachine/outside"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="resume"))
    assert instance.state() == "/DeepHistoryMachine/parent/b/two"


@_differs("a history's default transition has no guard (SCXML)")
@pytest.mark.anyio
async def test_history_uses_default_transition_when_empty() -> None:
    instance = HistoryInstance()

    def allow(ctx: hsm.Context, inst: HistoryInstance, event: hsm.Event) -> bool:
        del ctx, event
        inst.log.append("guard")
        return True

    def effect(ctx: hsm.Context, inst: HistoryInstance, event: hsm.Event) -> None:
        del ctx, event
        inst.log.append("effect")

    model = hsm.Define(
        "DefaultHistoryMachine",
        hsm.Initial(hsm.Target("outside")),
        hsm.State(
            "outside",
            hsm.Transition(hsm.On("enter"), hsm.Target("../parent/memory")),
        ),
        hsm.State(
            "parent",
            hsm.DeepHistory(
                "memory",
                hsm.Transition(
                    hsm.Guard(allow),
                    hsm.Target("child"),
                    hsm.Effect(effect),
                ),
            ),
            hsm.State("child"),
        ),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event(name="enter"))

    assert instance.state() == "/DefaultHistoryMachine/parent/child"
    assert instance.log == ["guard", "effect"]


@_differs(
    "history is recorded when its parent state exits (SCXML), not on every transition inside it"
)
@pytest.mark.anyio
async def test_transition_to_deep_history_preserves_previous_snapshot() -> None:
    instance = HistoryInstance()

    def entry_a(ctx: hsm.Context, inst: HistoryInstance, event: hsm.Event) -> None:
        del ctx, event
        inst.log.append("entry:a")

    def entry_leaf(ctx: hsm.Context, inst: HistoryInstance, event: hsm.Event) -> None:
        del ctx, event
        inst.log.append("entry:leaf")

    model = hsm.Define(
        "DeepHistorySnapshotMachine",
        hsm.Initial(hsm.Target("comp")),
        hsm.State(
            "comp",
            hsm.Initial(hsm.Target("a")),
            hsm.State("a", hsm.Entry(entry_a)),
            hsm.State(
                "b",
                hsm.Initial(hsm.Target("leaf")),
                hsm.State("leaf", hsm.Entry(entry_leaf)),
            ),
            hsm.DeepHistory(
                "h",
                hsm.Transition(hsm.Target("a")),
            ),
            hsm.Transition(hsm.Source("a"), hsm.On("to_b"), hsm.Target("b/leaf")),
            hsm.Transition(hsm.Source("b"), hsm.On("to_a"), hsm.Target("a")),
            hsm.Transition(hsm.Source("a"), hsm.On("resume"), hsm.Target("h")),
        ),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event(name="to_b"))
    await hsm.Dispatch(ctx, instance, hsm.Event(name="to_a"))
    await hsm.Dispatch(ctx, instance, hsm.Event(name="resume"))

    assert instance.state() == "/DeepHistorySnapshotMachine/comp/b/leaf"
    assert instance.log == ["entry:a", "entry:leaf", "entry:a", "entry:leaf"]


@pytest.mark.anyio
async def test_history_default_transition_does_not_record_history_vertex() -> None:
    instance = HistoryInstance()

    model = hsm.Define(
        "HistoryDefaultDoesNotRecordHistoryVertex",
        hsm.Initial(hsm.Target("outside")),
        hsm.State(
            "outside",
            hsm.Transition(hsm.On("enter"), hsm.Target("../comp/h")),
        ),
        hsm.State(
            "comp",
            hsm.DeepHistory(
                "h",
                hsm.Transition(hsm.Target("b")),
            ),
            hsm.State("b", hsm.Transition(hsm.On("again"), hsm.Target("../h"))),
        ),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event(name="enter"))
    await hsm.Dispatch(ctx, instance, hsm.Event(name="again"))

    assert instance.state() == "/HistoryDefaultDoesNotRecordHistoryVertex/comp/b"


# ============================================================================================ final
class FinalInstance(Instance):
    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {}

    def log_action(self, action):
        self.log.append(action)


@pytest.mark.anyio
async def test_basic_final_state_terminal_state():
    """Basic final state - terminal state"""
    instance = FinalInstance()

    async def working_entry(ctx, inst, event):
        inst.log_action("working-entry")

    def completing_effect(ctx, inst, event):
        inst.log_action("completing")

    model = hsm.define(
        "BasicFinalMachine",
        hsm.initial(hsm.target("working")),
        hsm.state(
            "working",
            hsm.entry(working_entry),
            hsm.transition(
                hsm.on("complete"), hsm.target("../done"), hsm.effect(completing_effect)
            ),
        ),
        hsm.final("done"),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)
    assert instance.log == ["working-entry"]
    assert sm.state() == "/BasicFinalMachine/working"

    # Transition to final state
    await sm.dispatch(ctx, Event(name="complete"))
    assert instance.log == ["working-entry", "completing"]
    assert sm.state() == "/BasicFinalMachine/done"

    # Final states should not accept events
    await sm.dispatch(ctx, Event(name="any-event"))
    assert sm.state() == "/BasicFinalMachine/done"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_final_state_in_hierarchical_structure():
    """Final state in hierarchical structure"""
    instance = FinalInstance()

    async def container_entry(ctx, inst, event):
        inst.log_action("container-entry")

    async def subprocess_entry(ctx, inst, event):
        inst.log_action("subprocess-entry")

    async def step1_entry(ctx, inst, event):
        inst.log_action("step1-entry")

    async def step2_entry(ctx, inst, event):
        inst.log_action("step2-entry")

    async def aborted_entry(ctx, inst, event):
        inst.log_action("aborted-entry")

    model = hsm.define(
        "HierarchicalFinalMachine",
        hsm.initial(hsm.target("container/subprocess")),
        hsm.state(
            "container",
            hsm.entry(container_entry),
            hsm.state(
                "subprocess",
                hsm.initial(hsm.target("step1")),
                hsm.entry(subprocess_entry),
                hsm.state(
                    "step1",
                    hsm.entry(step1_entry),
                    hsm.transition(hsm.on("next"), hsm.target("../step2")),
                ),
                hsm.state(
                    "step2",
                    hsm.entry(step2_entry),
                    hsm.transition(hsm.on("finish"), hsm.target("../completed")),
                ),
                hsm.final("completed"),
            ),
            hsm.transition(hsm.on("abort"), hsm.target("../aborted")),
        ),
        hsm.state("aborted", hsm.entry(aborted_entry)),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)
    assert instance.log == ["container-entry", "subprocess-entry", "step1-entry"]
    assert sm.state() == "/HierarchicalFinalMachine/container/subprocess/step1"

    # Progress through subprocess
    await sm.dispatch(ctx, Event(name="next"))
    assert sm.state() == "/HierarchicalFinalMachine/container/subprocess/step2"

    # Complete subprocess
    await sm.dispatch(ctx, Event(name="finish"))
    assert sm.state() == "/HierarchicalFinalMachine/container/subprocess/completed"

    # Events can still be handled by parent
    await sm.dispatch(ctx, Event(name="abort"))
    assert sm.state() == "/HierarchicalFinalMachine/aborted"
    assert "aborted-entry" in instance.log

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_multiple_final_states_in_same_container():
    """Multiple final states in same container"""
    instance = FinalInstance()

    async def running_entry(ctx, inst, event):
        inst.log_action("running-entry")

    model = hsm.define(
        "MultipleFinalMachine",
        hsm.initial(hsm.target("process/running")),
        hsm.state(
            "process",
            hsm.state(
                "running",
                hsm.entry(running_entry),
                hsm.transition(hsm.on("success"), hsm.target("../success")),
                hsm.transition(hsm.on("error"), hsm.target("../error")),
                hsm.transition(hsm.on("cancel"), hsm.target("../cancelled")),
            ),
            hsm.final("success"),
            hsm.final("error"),
            hsm.final("cancelled"),
        ),
    )

    # Test success path
    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)
    await sm.dispatch(ctx, Event(name="success"))
    assert sm.state() == "/MultipleFinalMachine/process/success"
    await hsm.stop(sm)

    # Test error path
    instance.log = []
    ctx2 = hsm.Context()
    sm2 = await hsm.started(ctx2, instance, model)
    await sm2.dispatch(ctx, Event(name="error"))
    assert sm2.state() == "/MultipleFinalMachine/process/error"
    await hsm.stop(sm2)

    # Test cancel path
    instance.log = []
    ctx3 = hsm.Context()
    sm3 = await hsm.started(ctx3, instance, model)
    await sm3.dispatch(ctx, Event(name="cancel"))
    assert sm3.state() == "/MultipleFinalMachine/process/cancelled"
    await hsm.stop(sm3)


@pytest.mark.anyio
async def test_transition_to_final_state_with_effect():
    """Transition to final state with effect"""
    instance = FinalInstance()

    def transition_effect(ctx, inst, event):
        inst.log_action("transition-to-final")

    async def final_entry(ctx, inst, event):
        inst.log_action("final-entry")
        inst.data["finalized_at"] = time.time()

    model = hsm.define(
        "FinalWithActionMachine",
        hsm.initial(hsm.target("active")),
        hsm.state(
            "active",
            hsm.transition(hsm.on("end"), hsm.target("../finished"), hsm.effect(transition_effect)),
        ),
        hsm.final("finished"),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)

    # Transition to final state
    await sm.dispatch(ctx, Event(name="end"))

    assert instance.log == ["transition-to-final"]
    assert sm.state() == "/FinalWithActionMachine/finished"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_final_state_behavior_during_stop():
    """Final state behavior during stop"""
    instance = FinalInstance()

    async def normal_exit(ctx, inst, event):
        inst.log_action("normal-exit")

    model = hsm.define(
        "FinalStopMachine",
        hsm.initial(hsm.target("normal")),
        hsm.state(
            "normal",
            hsm.exit(normal_exit),
            hsm.transition(hsm.on("finish"), hsm.target("../terminal")),
        ),
        hsm.final("terminal"),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)

    # Move to final state
    await sm.dispatch(ctx, Event(name="finish"))
    assert sm.state() == "/FinalStopMachine/terminal"

    # Stop from final state
    instance.log = []
    await hsm.stop(sm)

    # Should not execute exit actions for final states
    assert instance.log == []


@pytest.mark.anyio
async def test_transition_from_final_state_should_not_be_possible():
    """Transition from final state should not be possible"""
    instance = FinalInstance()

    model = hsm.define(
        "FinalTransitionMachine",
        hsm.initial(hsm.target("start")),
        hsm.state("start", hsm.transition(hsm.on("end"), hsm.target("../final"))),
        hsm.final("final"),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)

    # Go to final state
    await sm.dispatch(ctx, Event(name="end"))
    assert sm.state() == "/FinalTransitionMachine/final"

    # Try to send events - should be ignored
    await sm.dispatch(ctx, Event(name="restart"))
    await sm.dispatch(ctx, Event(name="anything"))

    # Should remain in final state
    assert sm.state() == "/FinalTransitionMachine/final"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_complex_final_state_scenario_with_cleanup():
    """Complex final state scenario with cleanup"""
    instance = FinalInstance()

    async def workflow_cleanup(ctx, inst, event):
        inst.log_action("workflow-cleanup")

    async def resources_allocated(ctx, inst, event):
        inst.data["resources"] = ["resource1", "resource2"]
        inst.log_action("resources-allocated")

    async def processing_started(ctx, inst, event):
        inst.log_action("processing-started")

    async def cleaning_up(ctx, inst, event):
        inst.log_action("cleaning-up")
        inst.data["resources"] = []

    model = hsm.define(
        "ComplexFinalMachine",
        hsm.initial(hsm.target("workflow")),
        hsm.state(
            "workflow",
            hsm.initial(hsm.target("initialize")),
            hsm.exit(workflow_cleanup),
            hsm.state(
                "initialize",
                hsm.entry(resources_allocated),
                hsm.transition(hsm.on("proceed"), hsm.target("../processing")),
            ),
            hsm.state(
                "processing",
                hsm.entry(processing_started),
                hsm.transition(hsm.on("complete"), hsm.target("../cleanup")),
            ),
            hsm.state(
                "cleanup",
                hsm.entry(cleaning_up),
                hsm.transition(hsm.on("done"), hsm.target("../finished")),
            ),
            hsm.final("finished"),
        ),
    )

    ctx = hsm.Context()
    sm = await hsm.started(ctx, instance, model)

    # Execute workflow
    await sm.dispatch(ctx, Event(name="proceed"))
    await sm.dispatch(ctx, Event(name="complete"))
    await sm.dispatch(ctx, Event(name="done"))

    assert instance.log == [
        "resources-allocated",
        "processing-started",
        "cleaning-up",
    ]
    assert sm.state() == "/ComplexFinalMachine/workflow/finished"
    assert instance.data["resources"] == []

    # Stop the machine
    await hsm.stop(sm)
    assert "workflow-cleanup" in instance.log


# ======================================================================================= go parity
class ParityInstance(hsm.Instance):
    def __init__(self):
        super().__init__()
        self.log: list[str] = []


def _snake_case(name: str) -> str:
    value = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    value = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", value)
    return value.lower()


def test_public_pascal_case_exports_have_snake_case_aliases():
    missing = []
    for name in hsm.__all__:
        if not name[:1].isupper():
            continue
        if name == "HSM":
            continue
        alias = _snake_case(name)
        if not hasattr(hsm, alias):
            missing.append((name, alias))
            continue
        assert getattr(hsm, alias) is getattr(hsm, name)
        assert alias in hsm.__all__

    assert missing == []


def test_config_supports_snake_case_fields():
    clock = hsm.Clock()
    config = hsm.Config(
        id="machine-1",
        name="/Alias",
        data={"boot": True},
        clock=clock,
    )

    assert config.ID == "machine-1"
    assert config.Name == "/Alias"
    assert config.Data == {"boot": True}
    assert config.Clock is clock
    assert config.id == "machine-1"
    assert config.name == "/Alias"
    assert config.data == {"boot": True}
    assert config.clock is clock

    config.id = "machine-2"
    config.name = "/Renamed"
    config.data = {"boot": False}
    config.clock = None

    assert config.ID == "machine-2"
    assert config.Name == "/Renamed"
    assert config.Data == {"boot": False}
    assert config.Clock is None


@pytest.mark.anyio
async def test_snake_case_dsl_aliases_build_and_run_model():
    instance = ParityInstance()

    async def started(ctx: hsm.Context, inst: ParityInstance, event: hsm.Event) -> None:
        inst.log.append("started")

    model = hsm.define(
        "SnakeDslMachine",
        hsm.attribute("count", 0),
        hsm.operation("record"),
        hsm.initial(hsm.target("idle")),
        hsm.state(
            "idle",
            hsm.entry(started),
            hsm.transition(
                hsm.on("go"),
                hsm.guard(lambda ctx, inst, event: True),
                hsm.effect(lambda ctx, inst, event: inst.log.append("go")),
                hsm.target("../done"),
            ),
            hsm.transition(
                hsm.on_set("count"),
                hsm.target("../done"),
            ),
        ),
        hsm.final("done"),
    )

    ctx = hsm.context()
    await hsm.start(ctx, instance, model)

    assert instance.state() == "/SnakeDslMachine/idle"
    assert hsm.get(ctx, instance, "count") == (0, True)

    await hsm.dispatch(ctx, instance, hsm.event("go"))

    snapshot = hsm.take_snapshot(ctx, instance)
    assert snapshot.state == "/SnakeDslMachine/done"
    assert instance.log == ["started", "go"]

    await hsm.stop(instance)


@_missing("model.qualified_name and the targets of snapshot events")
@pytest.mark.anyio
async def test_pascal_case_aliases_and_snapshot():
    instance = ParityInstance()

    model = hsm.Define(
        "AliasMachine",
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(
                hsm.On("go"),
                hsm.Target("../done"),
            ),
        ),
        hsm.State("done"),
    )

    assert model.qualified_name == "/AliasMachine"
    assert hsm.define is hsm.Define
    assert hsm.state is hsm.State
    assert hsm.transition is hsm.Transition

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    snapshot = hsm.TakeSnapshot(ctx, instance)
    assert snapshot.QualifiedName == "/AliasMachine"
    assert snapshot.qualified_name == "/AliasMachine"
    assert snapshot.State == "/AliasMachine/idle"
    assert snapshot.state == "/AliasMachine/idle"
    assert snapshot.QueueLen == 0
    assert snapshot.queue_len == 0
    assert hsm.ID(instance) == snapshot.ID
    assert hsm.ID(instance) == snapshot.id
    assert hsm.QualifiedName(instance) == "/AliasMachine"
    assert hsm.Name(instance) == "AliasMachine"
    assert any(
        event.Name == "go" and event.Target == "/AliasMachine/done" for event in snapshot.Events
    )
    assert any(
        event.name == "go" and event.target == "/AliasMachine/done" for event in snapshot.events
    )

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_model_paths_use_posix_semantics_for_absolute_targets():
    instance = ParityInstance()
    model = hsm.Define(
        "PosixPathMachine",
        hsm.Initial(hsm.Target("active")),
        hsm.State("active", hsm.Transition(hsm.On("stop"), hsm.Target("/inactive"))),
        hsm.State("inactive"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)
    await hsm.Dispatch(ctx, instance, hsm.Event("stop"))

    snapshot = hsm.TakeSnapshot(ctx, instance)
    assert snapshot.State == "/PosixPathMachine/inactive"
    assert "\\" not in snapshot.State

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_attribute_onset_get_set_and_snapshot():
    instance = ParityInstance()

    model = hsm.Define(
        "AttributeMachine",
        hsm.Attribute("count", 1),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(
                hsm.OnSet("count"),
                hsm.Target("../changed"),
            ),
        ),
        hsm.State("changed"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    initial_value, ok = hsm.Get(ctx, instance, "count")
    assert ok is True
    assert initial_value == 1
    initial_snapshot = hsm.TakeSnapshot(ctx, instance)
    assert initial_snapshot.Attributes["/AttributeMachine/count"] == 1
    assert any(
        event.Name == "/AttributeMachine/count" and event.Kind == hsm.ChangeEventKind
        for event in initial_snapshot.Events
    )

    await hsm.Set(ctx, instance, "count", 2)

    updated_value, ok = hsm.Get(ctx, instance, "count")
    assert ok is True
    assert updated_value == 2
    assert instance.state() == "/AttributeMachine/changed"
    assert hsm.TakeSnapshot(ctx, instance).Attributes["/AttributeMachine/count"] == 2

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_when_string_is_onset_attribute_trigger():
    instance = ParityInstance()

    model = hsm.Define(
        "WhenAttributeMachine",
        hsm.Attribute("flag", False),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(
                hsm.When("flag"),
                hsm.Target("../changed"),
            ),
        ),
        hsm.State("changed"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    await hsm.Set(ctx, instance, "flag", True)

    assert instance.state() == "/WhenAttributeMachine/changed"
    assert hsm.Get(ctx, instance, "flag") == (True, True)
    assert hsm.TakeSnapshot(ctx, instance).QueueLen == 0

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_snapshot_identity_config_and_event_data_helpers():
    instance = ParityInstance()
    seen: list[object] = []

    async def idle_entry(ctx: hsm.Context, inst: ParityInstance, event: hsm.Event) -> None:
        seen.append(event.Data)

    model = hsm.Define(
        "ConfiguredMachine",
        hsm.Initial(hsm.Target("idle")),
        hsm.State("idle", hsm.Entry(idle_entry)),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(
        ctx,
        instance,
        model,
        hsm.Config(id="alpha", name="/ConfiguredAlias", data="boot"),
    )

    event = hsm.Event(name="go").WithDataAndID({"value": 1}, "event-1")
    snake_event = hsm.Event(name="go").with_data_and_id({"value": 1}, "event-1")
    snake_data_event = hsm.Event(name="go").with_data({"value": 2})

    assert hsm.ID(sm) == "alpha"
    assert hsm.ID(instance) == "alpha"
    assert hsm.QualifiedName(instance) == "/ConfiguredAlias"
    assert hsm.Name(instance) == "ConfiguredAlias"
    assert hsm.TakeSnapshot(ctx, instance).State == "/ConfiguredMachine/idle"
    assert seen == ["boot"]
    assert event.Data == {"value": 1}
    assert event.ID == "event-1"
    assert snake_event.Name == event.Name
    assert snake_event.Data == event.Data
    assert snake_event.ID == event.ID
    assert snake_data_event.Data == {"value": 2}

    await hsm.Restart(instance, "again")
    assert seen == ["boot", "again"]

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_config_clock_drives_after_transition():
    instance = ParityInstance()
    sleeps: list[tuple[object, asyncio.Future[None]]] = []

    async def manual_sleep(duration):
        future = asyncio.get_running_loop().create_future()
        sleeps.append((duration, future))
        await future

    async def delay(ctx: hsm.Context, inst: ParityInstance, event: hsm.Event):
        return timedelta(seconds=5)

    model = hsm.Define(
        "ClockMachine",
        hsm.Initial(hsm.Target("waiting")),
        hsm.State(
            "waiting",
            hsm.Transition(
                hsm.After(delay),
                hsm.Target("../done"),
            ),
        ),
        hsm.State("done"),
    )

    ctx = hsm.Context()
    await hsm.Started(ctx, instance, model, hsm.Config(Clock=hsm.Clock(sleep=manual_sleep)))

    for _ in range(10):
        if sleeps:
            break
        await asyncio.sleep(0)

    assert len(sleeps) == 1
    assert sleeps[0][0].total_seconds() == 5
    assert instance.state() == "/ClockMachine/waiting"

    entered_done = hsm.AfterEntry(ctx, instance, "/ClockMachine/done")
    sleeps[0][1].set_result(None)
    await entered_done
    assert instance.state() == "/ClockMachine/done"

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_operation_oncall_and_call():
    instance = ParityInstance()

    async def do(ctx: hsm.Context, inst: ParityInstance, value: int) -> str:
        inst.log.append(f"call:{value}")
        return f"ok:{value}"

    model = hsm.Define(
        "CallMachine",
        hsm.Operation("do", do),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(
                hsm.OnCall("do"),
                hsm.Target("../called"),
            ),
        ),
        hsm.State("called"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    result = await hsm.Call(ctx, instance, "do", 7)

    assert result == "ok:7"
    assert instance.log == ["call:7"]
    assert instance.state() == "/CallMachine/called"

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_snake_case_named_operation_dsl_builds_and_runs_model():
    class NamedOperationInstance(ParityInstance):
        async def enter_idle(self, event: hsm.Event) -> None:
            self.log.append(f"enter_idle:{event.Name}")

    instance = NamedOperationInstance()

    async def allow(ctx: hsm.Context, inst: NamedOperationInstance, event: hsm.Event) -> bool:
        assert isinstance(ctx, hsm.Context)
        assert inst is instance
        inst.log.append(f"guard:{event.Name}")
        return True

    async def leave_idle(ctx: hsm.Context, inst: NamedOperationInstance, event: hsm.Event) -> None:
        inst.log.append(f"exit:{event.Name}")

    async def effect(ctx: hsm.Context, inst: NamedOperationInstance, event: hsm.Event) -> None:
        inst.log.append(f"effect:{event.Name}")

    async def enter_done(ctx: hsm.Context, inst: NamedOperationInstance, event: hsm.Event) -> None:
        inst.log.append(f"enter_done:{event.Name}")

    model = hsm.define(
        "NamedOperationDslMachine",
        hsm.operation("enter_idle"),
        hsm.operation("allow", allow),
        hsm.operation("leave_idle", leave_idle),
        hsm.operation("effect", effect),
        hsm.operation("enter_done", enter_done),
        hsm.initial(hsm.target("idle")),
        hsm.state(
            "idle",
            hsm.entry("enter_idle"),
            hsm.exit("leave_idle"),
            hsm.transition(
                hsm.on("go"),
                hsm.guard("allow"),
                hsm.effect("effect"),
                hsm.target("../done"),
            ),
        ),
        hsm.state("done", hsm.entry("enter_done")),
    )

    ctx = hsm.context()
    await hsm.start(ctx, instance, model)
    await hsm.dispatch(ctx, instance, hsm.event("go"))

    assert instance.state() == "/NamedOperationDslMachine/done"
    assert instance.log == [
        "enter_idle:hsm_initial",
        "guard:go",
        "exit:go",
        "effect:go",
        "enter_done:go",
    ]

    await hsm.stop(instance)


def test_named_operation_dsl_rejects_missing_operation_references():
    with pytest.raises(
        hsm.ValidationError, match='missing operation "missing" for behavior or guard'
    ):
        hsm.Define(
            "MissingNamedOperationMachine",
            hsm.Initial(hsm.Target("idle")),
            hsm.State("idle", hsm.Entry("missing")),
        )

    with pytest.raises(
        hsm.ValidationError, match='missing operation "missing" for behavior or guard'
    ):
        hsm.Define(
            "MissingNamedGuardMachine",
            hsm.Initial(hsm.Target("idle")),
            hsm.State(
                "idle",
                hsm.Transition(
                    hsm.On("go"),
                    hsm.Guard("missing"),
                    hsm.Target("../done"),
                ),
            ),
            hsm.State("done"),
        )


@pytest.mark.anyio
async def test_operation_call_signature_variants_match_dsl_runtime():
    class SignatureInstance(ParityInstance):
        pass

    instance = SignatureInstance()
    calls: list[str] = []

    async def ctx_inst(ctx: hsm.Context, inst: SignatureInstance, value: int) -> str:
        assert isinstance(ctx, hsm.Context)
        assert inst is instance
        calls.append(f"ctx_inst:{value}")
        return f"ctx_inst:{value}"

    async def context_only(context: hsm.Context, value: int) -> str:
        assert isinstance(context, hsm.Context)
        calls.append(f"context_only:{value}")
        return f"context_only:{value}"

    async def inst_only(inst: SignatureInstance, value: int) -> str:
        assert inst is instance
        calls.append(f"inst_only:{value}")
        return f"inst_only:{value}"

    async def args_only(value: int) -> str:
        calls.append(f"args_only:{value}")
        return f"args_only:{value}"

    async def record_call(ctx: hsm.Context, inst: SignatureInstance, event: hsm.Event) -> None:
        assert isinstance(event.Data, hsm.CallData)
        inst.log.append(event.Data.name)

    model = hsm.Define(
        "SignatureCallMachine",
        hsm.Operation("ctx_inst", ctx_inst),
        hsm.Operation("context_only", context_only),
        hsm.Operation("inst_only", inst_only),
        hsm.Operation("args_only", args_only),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(hsm.OnCall("ctx_inst"), hsm.Effect(record_call)),
            hsm.Transition(hsm.OnCall("context_only"), hsm.Effect(record_call)),
            hsm.Transition(hsm.OnCall("inst_only"), hsm.Effect(record_call)),
            hsm.Transition(hsm.OnCall("args_only"), hsm.Effect(record_call)),
        ),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    assert await hsm.Call(ctx, instance, "ctx_inst", 1) == "ctx_inst:1"
    assert await hsm.Call(ctx, instance, "context_only", 2) == "context_only:2"
    assert await hsm.Call(ctx, instance, "inst_only", 3) == "inst_only:3"
    assert await hsm.Call(ctx, instance, "args_only", 4) == "args_only:4"

    assert calls == ["ctx_inst:1", "context_only:2", "inst_only:3", "args_only:4"]
    assert instance.log == ["ctx_inst", "context_only", "inst_only", "args_only"]
    assert hsm.TakeSnapshot(ctx, instance).QueueLen == 0

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_oncall_dispatches_before_operation_exception():
    instance = ParityInstance()

    async def fail(value: int) -> None:
        raise RuntimeError(f"boom:{value}")

    async def record_call(ctx: hsm.Context, inst: ParityInstance, event: hsm.Event) -> None:
        assert isinstance(event.Data, hsm.CallData)
        inst.log.append(f"oncall:{event.Data.args[0]}")

    model = hsm.Define(
        "FailingCallMachine",
        hsm.Operation("fail", fail),
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(
                hsm.OnCall("fail"),
                hsm.Target("../called"),
                hsm.Effect(record_call),
            ),
        ),
        hsm.State("called"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)

    with pytest.raises(RuntimeError, match="boom:7"):
        await hsm.Call(ctx, instance, "fail", 7)

    assert instance.state() == "/FailingCallMachine/called"
    assert instance.log == ["oncall:7"]
    assert hsm.TakeSnapshot(ctx, instance).QueueLen == 0

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_observers_restart_and_shallow_history():
    instance = ParityInstance()

    model = hsm.Define(
        "ObserverHistoryMachine",
        hsm.Initial(hsm.Target("parent")),
        hsm.State(
            "parent",
            hsm.ShallowHistory("memory", hsm.Transition(hsm.Target("b"))),
            hsm.Initial(hsm.Target("a")),
            hsm.State(
                "a",
                hsm.Transition(hsm.On("advance"), hsm.Target("../b")),
            ),
            hsm.State("b"),
            hsm.Transition(hsm.On("leave"), hsm.Target("../outside")),
        ),
        hsm.State(
            "outside",
            hsm.Transition(hsm.On("resume"), hsm.Target("../parent/memory")),
        ),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, instance, model)
    assert instance.state() == "/ObserverHistoryMachine/parent/a"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="advance"))
    assert instance.state() == "/ObserverHistoryMachine/parent/b"

    entered_outside = hsm.AfterEntry(ctx, instance, "/ObserverHistoryMachine/outside")
    exited_parent_b = hsm.AfterExit(ctx, instance, "/ObserverHistoryMachine/parent/b")
    processed_leave = hsm.AfterProcess(ctx, instance, hsm.Event(name="leave"))
    dispatched_leave = hsm.AfterDispatch(ctx, instance, hsm.Event(name="leave"))

    await hsm.Dispatch(ctx, instance, hsm.Event(name="leave"))
    await asyncio.gather(entered_outside, exited_parent_b, processed_leave, dispatched_leave)

    assert instance.state() == "/ObserverHistoryMachine/outside"

    await hsm.Dispatch(ctx, instance, hsm.Event(name="resume"))
    assert instance.state() == "/ObserverHistoryMachine/parent/b"

    await hsm.Restart(instance)
    assert instance.state() == "/ObserverHistoryMachine/parent/a"

    await hsm.Stop(instance)


@pytest.mark.anyio
async def test_group_dispatch_all_and_dispatch_to():
    first = ParityInstance()
    second = ParityInstance()

    model = hsm.Define(
        "GroupMachine",
        hsm.Initial(hsm.Target("idle")),
        hsm.State(
            "idle",
            hsm.Transition(hsm.On("go"), hsm.Target("../done")),
        ),
        hsm.State("done"),
    )

    ctx = hsm.Context()
    await hsm.Start(ctx, first, model)
    await hsm.Start(ctx, second, model)

    first_id = hsm.TakeSnapshot(ctx, first).ID
    second_id = hsm.TakeSnapshot(ctx, second).ID
    assert first_id != second_id

    await hsm.DispatchTo(ctx, hsm.Event(name="go"), first_id)
    assert first.state() == "/GroupMachine/done"
    assert second.state() == "/GroupMachine/idle"

    await hsm.DispatchAll(ctx, hsm.Event(name="go"))
    assert first.state() == "/GroupMachine/done"
    assert second.state() == "/GroupMachine/done"

    group = hsm.NewGroup(first, second)
    group_snapshot = hsm.TakeSnapshot(ctx, group)
    assert group_snapshot.ID != ""
    assert group_snapshot.QualifiedName == ""

    await hsm.Stop(group)


# ======================================================================================= activities
import typing

from statefleet.compat.hsm import Context


class ActivityInstance(Instance):
    def __init__(self):
        super().__init__()
        self.log: list[str] = []
        self.data: dict[str, typing.Any] = {
            "activity_started": 0,
            "activity_completed": 0,
            "activity_aborted": 0,
            "sync_activity_ran": False,
            "parent_activity_active": False,
            "child_activity_active": False,
            "activity_event": None,
            "processed_trigger": None,
            "error_data": None,
            "final_count": 0,
            "activity_count": 0,
        }

    def log_action(self, action: str):
        self.log.append(action)


@pytest.mark.anyio
async def test_basic_activity_starts_on_entry_stops_on_exit():
    """Basic activity - starts on entry, stops on exit"""
    instance = ActivityInstance()
    started = asyncio.Event()
    cancelled = asyncio.Event()
    release = asyncio.Event()

    async def basic_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("activity-started")
        inst.data["activity_started"] += 1
        started.set()

        async def handle_cancellation():
            try:
                await release.wait()
                if not ctx.is_done():
                    inst.log_action("activity-completed")
                    inst.data["activity_completed"] += 1
            except asyncio.CancelledError:
                inst.log_action("activity-aborted")
                inst.data["activity_aborted"] += 1
                cancelled.set()
                raise

        return await handle_cancellation()

    model = hsm.define(
        "BasicActivityMachine",
        hsm.initial(hsm.target("active")),
        hsm.state(
            "active",
            hsm.activity(basic_activity),
            hsm.transition(hsm.on("stop"), hsm.target("../inactive")),
        ),
        hsm.state("inactive"),
    )

    ctx = Context()
    sm = await hsm.started(ctx=ctx, instance=instance, model=model)

    await asyncio.wait_for(started.wait(), timeout=1)

    # Activity should start immediately
    assert "activity-started" in instance.log
    assert instance.data["activity_started"] == 1

    # Exit state before activity completes
    await sm.dispatch(ctx, Event(name="stop"))

    await asyncio.wait_for(cancelled.wait(), timeout=1)

    # Activity should be aborted
    assert "activity-aborted" in instance.log
    assert instance.data["activity_aborted"] == 1
    assert instance.data["activity_completed"] == 0

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_multiple_concurrent_activities():
    """Multiple concurrent activities"""
    instance = ActivityInstance()
    activity1_started = asyncio.Event()
    activity1_release = asyncio.Event()
    activity1_completed = asyncio.Event()
    activity2_started = asyncio.Event()
    activity2_cancelled = asyncio.Event()

    async def activity1(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("activity1-started")
        activity1_started.set()
        try:
            await activity1_release.wait()
            inst.log_action("activity1-completed")
            activity1_completed.set()
        except asyncio.CancelledError:
            inst.log_action("activity1-aborted")
            raise

    async def activity2(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("activity2-started")
        activity2_started.set()
        try:
            await asyncio.Event().wait()
            inst.log_action("activity2-completed")
        except asyncio.CancelledError:
            inst.log_action("activity2-aborted")
            activity2_cancelled.set()
            raise

    async def activity3(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("activity3-started")
        # Synchronous activity
        inst.data["sync_activity_ran"] = True

    model = hsm.define(
        "MultipleActivityMachine",
        hsm.initial(hsm.target("busy")),
        hsm.state(
            "busy",
            hsm.activity(activity1, activity2, activity3),
            hsm.transition(hsm.on("stop"), hsm.target("../done")),
        ),
        hsm.state("done"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await asyncio.wait_for(activity1_started.wait(), timeout=1)
    await asyncio.wait_for(activity2_started.wait(), timeout=1)

    # All activities should start
    assert "activity1-started" in instance.log
    assert "activity2-started" in instance.log
    assert "activity3-started" in instance.log
    assert instance.data["sync_activity_ran"] is True

    activity1_release.set()
    await asyncio.wait_for(activity1_completed.wait(), timeout=1)
    assert "activity1-completed" in instance.log
    assert "activity2-completed" not in instance.log

    await sm.dispatch(ctx, Event(name="stop"))
    await asyncio.wait_for(activity2_cancelled.wait(), timeout=1)

    # Activity2 should be aborted
    assert "activity2-aborted" in instance.log
    assert "activity2-completed" not in instance.log

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_activity_error_handling():
    """Activity error handling"""
    instance = ActivityInstance()
    error_event_received = False
    error_handled = asyncio.Event()

    async def error_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("activity-throwing")
        raise Exception("Activity error!")

    def error_effect(ctx: Context, inst: ActivityInstance, event: Event):
        nonlocal error_event_received
        inst.log_action("error-handled")
        inst.data["error_data"] = event.data
        error_event_received = True
        error_handled.set()

    model = hsm.define(
        "ActivityErrorMachine",
        hsm.initial(hsm.target("working")),
        hsm.state(
            "working",
            hsm.activity(error_activity),
            hsm.transition(hsm.on("hsm_error"), hsm.target("../error"), hsm.effect(error_effect)),
        ),
        hsm.state("error"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await asyncio.wait_for(error_handled.wait(), timeout=1)

    assert error_event_received is True
    assert sm.state() == "/ActivityErrorMachine/error"
    assert "Activity error!" in str(instance.data["error_data"])

    await hsm.stop(sm)


@_differs(
    "target('..') from a child exits and re-enters the parent, which enters its first child again (SCXML: a compound state always has an active child)"
)
@pytest.mark.anyio
async def test_activities_in_hierarchical_states():
    """Activities in hierarchical states"""
    instance = ActivityInstance()
    parent_started = asyncio.Event()
    child_started = asyncio.Event()
    parent_aborted = asyncio.Event()
    child_aborted = asyncio.Event()

    async def parent_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("parent-activity-started")
        inst.data["parent_activity_active"] = True
        parent_started.set()
        try:
            # Keep running until cancelled
            while not ctx.is_done():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            inst.log_action("parent-activity-aborted")
            inst.data["parent_activity_active"] = False
            parent_aborted.set()
            raise

    async def child_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("child-activity-started")
        inst.data["child_activity_active"] = True
        child_started.set()
        try:
            # Keep running until cancelled
            while not ctx.is_done():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            inst.log_action("child-activity-aborted")
            inst.data["child_activity_active"] = False
            child_aborted.set()
            raise

    model = hsm.define(
        "HierarchicalActivityMachine",
        hsm.initial(hsm.target("parent/child")),
        hsm.state(
            "parent",
            hsm.activity(parent_activity),
            hsm.state(
                "child",
                hsm.activity(child_activity),
                hsm.transition(
                    hsm.on("up"),
                    hsm.target(".."),  # Exit to parent level
                ),
            ),
            hsm.transition(hsm.on("out"), hsm.target("../outside")),
        ),
        hsm.state("outside"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await asyncio.wait_for(parent_started.wait(), timeout=1)
    await asyncio.wait_for(child_started.wait(), timeout=1)

    # Both activities should start
    assert instance.log == ["parent-activity-started", "child-activity-started"]
    assert instance.data["parent_activity_active"] is True
    assert instance.data["child_activity_active"] is True

    # Exit child state
    await sm.dispatch(ctx, Event(name="up"))
    await asyncio.wait_for(child_aborted.wait(), timeout=1)

    # Only child activity should be aborted
    assert "child-activity-aborted" in instance.log
    assert instance.data["child_activity_active"] is False
    assert instance.data["parent_activity_active"] is True

    # Exit parent state
    await sm.dispatch(ctx, Event(name="out"))
    await asyncio.wait_for(parent_aborted.wait(), timeout=1)

    # Parent activity should now be aborted
    assert "parent-activity-aborted" in instance.log
    assert instance.data["parent_activity_active"] is False

    await hsm.stop(sm)


@_differs(
    "the initial event is named hsm_initial (seed 004's name; this test of hsm's expects hsm/initial)"
)
@pytest.mark.anyio
async def test_activity_with_event_data_access():
    """Activity with event data access"""
    instance = ActivityInstance()
    instance.data["trigger"] = "test-value"
    activity_started = asyncio.Event()

    async def event_data_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action(f"activity-event-{event.name}")
        inst.data["activity_event"] = event
        inst.data["processed_trigger"] = inst.data["trigger"]
        activity_started.set()

    model = hsm.define(
        "EventDataActivityMachine",
        hsm.initial(hsm.target("processing")),
        hsm.state("processing", hsm.activity(event_data_activity)),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await asyncio.wait_for(activity_started.wait(), timeout=1)

    # Activity should receive the initial event
    assert instance.data["activity_event"].name == "hsm/initial"
    assert instance.data["processed_trigger"] == "test-value"
    assert instance.log == ["activity-event-hsm/initial"]

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_long_running_activity_completion():
    """Long-running activity completion"""
    instance = ActivityInstance()
    completed = asyncio.Event()

    async def long_running_activity(ctx: Context, inst: ActivityInstance, event: Event):
        inst.log_action("long-activity-started")

        count = 0
        try:
            while not ctx.is_done() and count < 3:
                await asyncio.sleep(0.02)  # 20ms
                count += 1
                inst.log_action(f"long-activity-tick-{count}")

            if count >= 3:
                inst.log_action("long-activity-completed")
                inst.data["final_count"] = count
                completed.set()
        except asyncio.CancelledError:
            inst.log_action(f"long-activity-aborted-at-{count}")
            raise

    model = hsm.define(
        "LongRunningActivityMachine",
        hsm.initial(hsm.target("working")),
        hsm.state("working", hsm.activity(long_running_activity)),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await asyncio.wait_for(completed.wait(), timeout=1)

    assert "long-activity-started" in instance.log
    assert "long-activity-tick-1" in instance.log
    assert "long-activity-tick-2" in instance.log
    assert "long-activity-tick-3" in instance.log
    assert "long-activity-completed" in instance.log
    assert instance.data["final_count"] == 3

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_activity_reentry_behavior():
    """Activity re-entry behavior"""
    instance = ActivityInstance()
    activity_count_changed = asyncio.Condition()

    async def reentry_activity(ctx: Context, inst: ActivityInstance, event: Event):
        async with activity_count_changed:
            inst.data["activity_count"] = inst.data.get("activity_count", 0) + 1
            inst.log_action(f"activity-run-{inst.data['activity_count']}")
            activity_count_changed.notify_all()

    async def wait_for_activity_count(count: int) -> None:
        async with activity_count_changed:
            await asyncio.wait_for(
                activity_count_changed.wait_for(lambda: instance.data["activity_count"] >= count),
                timeout=1,
            )

    model = hsm.define(
        "ReentryActivityMachine",
        hsm.initial(hsm.target("active")),
        hsm.state(
            "active",
            hsm.activity(reentry_activity),
            hsm.transition(
                hsm.on("restart"),
                hsm.target("."),  # Self transition - stay in current state
            ),
        ),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    await wait_for_activity_count(1)

    assert instance.data["activity_count"] == 1
    assert instance.log == ["activity-run-1"]

    # Self transition should restart activity
    await sm.dispatch(ctx, Event(name="restart"))
    await wait_for_activity_count(2)

    assert instance.data["activity_count"] == 2
    assert "activity-run-2" in instance.log

    # Another restart
    await sm.dispatch(ctx, Event(name="restart"))
    await wait_for_activity_count(3)

    assert instance.data["activity_count"] == 3
    assert "activity-run-3" in instance.log

    await hsm.stop(sm)


# =========================================================================================== timers
class TimerInstance(Instance):
    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {"tick_count": 0, "count": 0, "delay": 0, "timer_event": None}

    def log_action(self, action):
        self.log.append(action)


class ManualClock:
    def __init__(self):
        self.sleeps: list[tuple[timedelta, asyncio.Future[None]]] = []
        self.cancelled = 0

    async def sleep(self, duration: timedelta) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleeps.append((duration, future))
        try:
            await future
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def After(self, duration: timedelta) -> asyncio.Task[None]:
        return asyncio.create_task(self.sleep(duration))

    def _prune_done(self) -> None:
        self.sleeps = [(duration, future) for duration, future in self.sleeps if not future.done()]

    async def wait_for_sleep(self, count: int = 1) -> None:
        for _ in range(100):
            self._prune_done()
            if len(self.sleeps) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"expected {count} scheduled sleeps, got {len(self.sleeps)}")

    def release_next(self) -> timedelta:
        self._prune_done()
        duration, future = self.sleeps.pop(0)
        if not future.done():
            future.set_result(None)
        return duration

    def release_duration(self, expected: timedelta) -> None:
        self._prune_done()
        for index, (duration, future) in enumerate(self.sleeps):
            if duration == expected:
                self.sleeps.pop(index)
                if not future.done():
                    future.set_result(None)
                return
        raise AssertionError(
            f"expected scheduled sleep {expected}, got {[duration for duration, _ in self.sleeps]}"
        )


async def wait_until(predicate, message: str) -> None:
    for _ in range(100):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(message)


@pytest.mark.anyio
async def test_basic_after_timer_fires_once_after_delay():
    """Basic after timer - fires once after delay"""
    instance = TimerInstance()
    clock = ManualClock()

    async def waiting_entry(ctx, inst, event):
        inst.log_action("waiting-entry")

    def timer_triggered_effect(ctx, inst, event):
        inst.log_action("timer-triggered")

    async def done_entry(ctx, inst, event):
        inst.log_action("done-entry")

    async def after_delay(ctx, inst, event):
        return timedelta(milliseconds=50)  # 50ms delay

    model = hsm.define(
        "BasicAfterMachine",
        hsm.initial(hsm.target("waiting")),
        hsm.state(
            "waiting",
            hsm.entry(waiting_entry),
            hsm.transition(
                hsm.after(after_delay), hsm.target("../done"), hsm.effect(timer_triggered_effect)
            ),
        ),
        hsm.state("done", hsm.entry(done_entry)),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))
    assert instance.log == ["waiting-entry"]
    assert sm.state() == "/BasicAfterMachine/waiting"

    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=50)
    await asyncio.wait_for(hsm.AfterEntry(ctx, instance, "/BasicAfterMachine/done"), timeout=1)

    assert instance.log == ["waiting-entry", "timer-triggered", "done-entry"]
    assert sm.state() == "/BasicAfterMachine/done"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_after_timer_aborted_on_state_exit():
    """After timer aborted on state exit"""
    instance = TimerInstance()
    clock = ManualClock()

    def timeout_effect(ctx, inst, event):
        inst.log_action("timeout-fired")

    def cancel_effect(ctx, inst, event):
        inst.log_action("manual-cancel")

    async def long_delay(ctx, inst, event):
        return timedelta(milliseconds=100)  # Long delay

    model = hsm.define(
        "AbortedAfterMachine",
        hsm.initial(hsm.target("timed")),
        hsm.state(
            "timed",
            hsm.transition(
                hsm.after(long_delay), hsm.target("../timeout"), hsm.effect(timeout_effect)
            ),
            hsm.transition(hsm.on("cancel"), hsm.target("../cancelled"), hsm.effect(cancel_effect)),
        ),
        hsm.state("timeout"),
        hsm.state("cancelled"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))

    await clock.wait_for_sleep()
    await sm.dispatch(ctx, Event(name="cancel"))

    assert instance.log == ["manual-cancel"]
    assert sm.state() == "/AbortedAfterMachine/cancelled"

    await wait_until(lambda: clock.cancelled >= 1, "timer sleep was not cancelled")
    clock._prune_done()
    await asyncio.sleep(0)
    assert "timeout-fired" not in instance.log

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_basic_every_timer_fires_repeatedly_at_intervals():
    """Basic every timer - fires repeatedly at intervals"""
    instance = TimerInstance()
    clock = ManualClock()

    async def counting_entry(ctx, inst, event):
        inst.data["count"] = 0
        inst.log_action("counting-entry")

    def tick_effect(ctx, inst, event):
        inst.data["count"] += 1
        inst.log_action(f"tick-{inst.data['count']}")

    def stop_effect(ctx, inst, event):
        inst.log_action(f"stopped-at-{inst.data['count']}")

    async def every_interval(ctx, inst, event):
        return timedelta(milliseconds=30)  # 30ms interval

    model = hsm.define(
        "BasicEveryMachine",
        hsm.initial(hsm.target("counting")),
        hsm.state(
            "counting",
            hsm.entry(counting_entry),
            hsm.transition(hsm.every(every_interval), hsm.effect(tick_effect)),
            hsm.transition(hsm.on("stop"), hsm.target("../stopped"), hsm.effect(stop_effect)),
        ),
        hsm.state("stopped"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))
    assert instance.log == ["counting-entry"]

    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=30)
    await wait_until(lambda: instance.data["count"] >= 1, "first tick did not fire")
    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=30)
    await wait_until(lambda: instance.data["count"] >= 2, "second tick did not fire")

    assert "tick-1" in instance.log
    assert "tick-2" in instance.log

    await sm.dispatch(ctx, Event(name="stop"))

    final_count = instance.data["count"]
    assert f"stopped-at-{final_count}" in instance.log

    await wait_until(lambda: clock.cancelled >= 1, "repeating timer sleep was not cancelled")
    clock._prune_done()
    await asyncio.sleep(0)
    assert instance.data["count"] == final_count

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_multiple_timers_in_same_state():
    """Multiple timers in same state"""
    instance = TimerInstance()
    clock = ManualClock()

    def timer1_effect(ctx, inst, event):
        inst.log_action("timer1-fired")

    def timer2_effect(ctx, inst, event):
        inst.log_action("timer2-fired")

    async def delay1(ctx, inst, event):
        return timedelta(milliseconds=40)  # 40ms

    async def delay2(ctx, inst, event):
        return timedelta(milliseconds=80)  # 80ms

    model = hsm.define(
        "MultipleTimerMachine",
        hsm.initial(hsm.target("multi")),
        hsm.state(
            "multi",
            hsm.transition(hsm.after(delay1), hsm.target("../path1"), hsm.effect(timer1_effect)),
            hsm.transition(hsm.after(delay2), hsm.target("../path2"), hsm.effect(timer2_effect)),
        ),
        hsm.state("path1"),
        hsm.state("path2"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))

    await clock.wait_for_sleep(2)
    assert sorted(duration for duration, _ in clock.sleeps) == [
        timedelta(milliseconds=40),
        timedelta(milliseconds=80),
    ]
    clock.release_duration(timedelta(milliseconds=40))
    await asyncio.wait_for(hsm.AfterEntry(ctx, instance, "/MultipleTimerMachine/path1"), timeout=1)
    assert instance.log == ["timer1-fired"]
    assert sm.state() == "/MultipleTimerMachine/path1"

    await wait_until(lambda: clock.cancelled >= 1, "second timer sleep was not cancelled")
    clock._prune_done()
    await asyncio.sleep(0)
    assert "timer2-fired" not in instance.log

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_timer_with_dynamic_duration_based_on_instance_data():
    """Timer with dynamic duration based on instance data"""
    instance = TimerInstance()
    instance.data["delay"] = 60
    clock = ManualClock()

    async def waiting_entry(ctx, inst, event):
        inst.log_action(f"waiting-with-delay-{inst.data['delay']}")

    def dynamic_timer_effect(ctx, inst, event):
        inst.log_action("dynamic-timer-fired")

    async def dynamic_delay(ctx, inst, event):
        return timedelta(milliseconds=inst.data["delay"])

    model = hsm.define(
        "DynamicTimerMachine",
        hsm.initial(hsm.target("waiting")),
        hsm.state(
            "waiting",
            hsm.entry(waiting_entry),
            hsm.transition(
                hsm.after(dynamic_delay),
                hsm.target("../finished"),
                hsm.effect(dynamic_timer_effect),
            ),
        ),
        hsm.state("finished"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))
    assert instance.log == ["waiting-with-delay-60"]

    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=60)
    await asyncio.wait_for(
        hsm.AfterEntry(ctx, instance, "/DynamicTimerMachine/finished"), timeout=1
    )
    assert instance.log == ["waiting-with-delay-60", "dynamic-timer-fired"]
    assert sm.state() == "/DynamicTimerMachine/finished"

    await hsm.stop(sm)


@_differs(
    "the initial event is named hsm_initial (seed 004's name; this test of hsm's expects hsm/initial)"
)
@pytest.mark.anyio
async def test_timer_with_event_data_access():
    """Timer with event data access"""
    instance = TimerInstance()
    clock = ManualClock()

    async def event_data_timer(ctx, inst, event):
        inst.data["timer_event"] = event
        return timedelta(milliseconds=50)

    model = hsm.define(
        "EventDataTimerMachine",
        hsm.initial(hsm.target("timed")),
        hsm.state("timed", hsm.transition(hsm.after(event_data_timer), hsm.target("../triggered"))),
        hsm.state("triggered"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))

    await clock.wait_for_sleep()

    assert instance.data["timer_event"] is not None
    assert instance.data["timer_event"].name == "hsm/initial"

    assert clock.release_next() == timedelta(milliseconds=50)
    await asyncio.wait_for(
        hsm.AfterEntry(ctx, instance, "/EventDataTimerMachine/triggered"), timeout=1
    )
    assert sm.state() == "/EventDataTimerMachine/triggered"

    await hsm.stop(sm)


@_differs("a zero after() fires at the next clock check (hsm creates no timer)")
@pytest.mark.anyio
async def test_zero_or_negative_timer_duration():
    """Zero or negative timer duration"""
    instance = TimerInstance()
    clock = ManualClock()

    def immediate_effect(ctx, inst, event):
        inst.log_action("immediate-timer")

    async def zero_delay(ctx, inst, event):
        return timedelta(milliseconds=0)  # Immediate

    model = hsm.define(
        "ZeroTimerMachine",
        hsm.initial(hsm.target("immediate")),
        hsm.state(
            "immediate",
            hsm.transition(
                hsm.after(zero_delay), hsm.target("../done"), hsm.effect(immediate_effect)
            ),
        ),
        hsm.state("done"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))

    await asyncio.sleep(0)

    assert sm.state() == "/ZeroTimerMachine/immediate"
    assert "immediate-timer" not in instance.log
    assert clock.sleeps == []

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_timer_in_hierarchical_state():
    """Timer in hierarchical state"""
    instance = TimerInstance()
    clock = ManualClock()

    def parent_timeout_effect(ctx, inst, event):
        inst.log_action("parent-handled-timeout")

    async def hier_delay(ctx, inst, event):
        return timedelta(milliseconds=50)

    model = hsm.define(
        "HierarchicalTimerMachine",
        hsm.initial(hsm.target("parent/child")),
        hsm.state(
            "parent",
            hsm.state(
                "child",
                hsm.transition(
                    hsm.after(hier_delay),
                    hsm.target("../../done"),
                    hsm.effect(parent_timeout_effect),
                ),
            ),
        ),
        hsm.state("done"),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))
    assert sm.state() == "/HierarchicalTimerMachine/parent/child"

    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=50)
    await asyncio.wait_for(
        hsm.AfterEntry(ctx, instance, "/HierarchicalTimerMachine/done"), timeout=1
    )

    assert instance.log == ["parent-handled-timeout"]
    assert sm.state() == "/HierarchicalTimerMachine/done"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_every_timer_with_abort_signal_handling():
    """Every timer with abort signal handling"""
    instance = TimerInstance()
    clock = ManualClock()

    async def active_entry(ctx, inst, event):
        # Only reset tick_count on initial entry, not on self-transitions
        if "tick_count" not in inst.data:
            inst.data["tick_count"] = 0

    def every_tick_effect(ctx, inst, event):
        inst.data["tick_count"] += 1
        inst.log_action(f"tick-{inst.data['tick_count']}")

    async def finished_entry(ctx, inst, event):
        inst.log_action(f"finished-at-tick-{inst.data['tick_count']}")

    async def tick_interval(ctx, inst, event):
        return timedelta(milliseconds=25)  # 25ms

    model = hsm.define(
        "EveryTimerAbortMachine",
        hsm.initial(hsm.target("active")),
        hsm.state(
            "active",
            hsm.entry(active_entry),
            hsm.transition(
                hsm.every(tick_interval),
                hsm.target("."),  # Self transition
                hsm.effect(every_tick_effect),
            ),
            hsm.transition(hsm.on("finish"), hsm.target("../finished")),
        ),
        hsm.state("finished", hsm.entry(finished_entry)),
    )

    ctx = hsm.Context()
    sm = await hsm.Started(ctx, instance, model, hsm.Config(Clock=clock))

    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=25)
    await wait_until(
        lambda: instance.data["tick_count"] >= 1, "first self-transition tick did not fire"
    )
    await clock.wait_for_sleep()
    assert clock.release_next() == timedelta(milliseconds=25)
    await wait_until(
        lambda: instance.data["tick_count"] >= 2, "second self-transition tick did not fire"
    )

    cancelled_before_finish = clock.cancelled
    await sm.dispatch(ctx, Event(name="finish"))
    final_tick = instance.data["tick_count"]

    await wait_until(
        lambda: clock.cancelled > cancelled_before_finish,
        "self-transition timer sleep was not cancelled on finish",
    )
    clock._prune_done()
    await asyncio.sleep(0)
    assert instance.data["tick_count"] == final_tick
    assert f"finished-at-tick-{final_tick}" in instance.log

    await hsm.stop(sm)


# =========================================================================================== choice
class ChoiceInstance(Instance):
    def __init__(self):
        super().__init__()
        self.log = []
        self.data = {}

    def log_action(self, action):
        self.log.append(action)


@pytest.mark.anyio
async def test_basic_choice_pseudostate_with_guards():
    """Basic choice pseudostate with guards"""
    instance = ChoiceInstance()
    instance.data["value"] = 5

    def going_to_choice_effect(ctx, inst, event):
        inst.log_action("going-to-choice")

    def chose_low_effect(ctx, inst, event):
        inst.log_action("chose-low")

    def chose_medium_effect(ctx, inst, event):
        inst.log_action("chose-medium")

    def chose_high_effect(ctx, inst, event):
        inst.log_action("chose-high")

    async def low_entry(ctx, inst, event):
        inst.log_action("low-entry")

    async def medium_entry(ctx, inst, event):
        inst.log_action("medium-entry")

    async def high_entry(ctx, inst, event):
        inst.log_action("high-entry")

    def low_guard(ctx, inst, event):
        return inst.data["value"] < 3

    def medium_guard(ctx, inst, event):
        return inst.data["value"] >= 3 and inst.data["value"] < 7

    model = hsm.define(
        "BasicChoiceMachine",
        hsm.initial(hsm.target("start")),
        hsm.state(
            "start",
            hsm.transition(
                hsm.on("decide"), hsm.target("../decision"), hsm.effect(going_to_choice_effect)
            ),
        ),
        hsm.choice(
            "decision",
            hsm.transition(hsm.guard(low_guard), hsm.target("low"), hsm.effect(chose_low_effect)),
            hsm.transition(
                hsm.guard(medium_guard), hsm.target("medium"), hsm.effect(chose_medium_effect)
            ),
            hsm.transition(hsm.target("high"), hsm.effect(chose_high_effect)),
        ),
        hsm.state("low", hsm.entry(low_entry)),
        hsm.state("medium", hsm.entry(medium_entry)),
        hsm.state("high", hsm.entry(high_entry)),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    # Trigger choice evaluation
    await sm.dispatch(ctx, Event(name="decide"))

    # Should choose medium branch
    assert instance.log == ["going-to-choice", "chose-medium", "medium-entry"]
    assert sm.state() == "/BasicChoiceMachine/medium"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_choice_pseudostate_with_different_guard_outcomes():
    """Choice pseudostate with different guard outcomes"""
    instance = ChoiceInstance()

    test_cases = [
        {"value": 1, "expected_state": "low", "expected_effect": "chose-low"},
        {"value": 5, "expected_state": "medium", "expected_effect": "chose-medium"},
        {"value": 10, "expected_state": "high", "expected_effect": "chose-high"},
    ]

    for test_case in test_cases:
        instance.data["value"] = test_case["value"]
        instance.log = []

        def low_guard(ctx, inst, event):
            return inst.data["value"] < 3

        def medium_guard(ctx, inst, event):
            return inst.data["value"] >= 3 and inst.data["value"] < 7

        def chose_low_effect(ctx, inst, event):
            inst.log_action("chose-low")

        def chose_medium_effect(ctx, inst, event):
            inst.log_action("chose-medium")

        def chose_high_effect(ctx, inst, event):
            inst.log_action("chose-high")

        model = hsm.define(
            "ChoiceTestMachine",
            hsm.initial(hsm.target("choice")),
            hsm.choice(
                "choice",
                hsm.transition(
                    hsm.guard(low_guard), hsm.target("low"), hsm.effect(chose_low_effect)
                ),
                hsm.transition(
                    hsm.guard(medium_guard), hsm.target("medium"), hsm.effect(chose_medium_effect)
                ),
                hsm.transition(hsm.target("high"), hsm.effect(chose_high_effect)),
            ),
            hsm.state("low"),
            hsm.state("medium"),
            hsm.state("high"),
        )

        ctx = Context()
        sm = await hsm.started(ctx, instance, model)

        assert test_case["expected_effect"] in instance.log
        assert sm.state() == f"/ChoiceTestMachine/{test_case['expected_state']}"

        await hsm.stop(sm)


@pytest.mark.anyio
async def test_choice_in_hierarchical_state():
    """Choice in hierarchical state"""
    instance = ChoiceInstance()
    instance.data["direction"] = "left"

    def left_guard(ctx, inst, event):
        return inst.data["direction"] == "left"

    def right_guard(ctx, inst, event):
        return inst.data["direction"] == "right"

    def routed_left_effect(ctx, inst, event):
        inst.log_action("routed-left")

    def routed_right_effect(ctx, inst, event):
        inst.log_action("routed-right")

    def routed_center_effect(ctx, inst, event):
        inst.log_action("routed-center")

    async def left_entry(ctx, inst, event):
        inst.log_action("left-entry")

    async def right_entry(ctx, inst, event):
        inst.log_action("right-entry")

    async def center_entry(ctx, inst, event):
        inst.log_action("center-entry")

    model = hsm.define(
        "HierarchicalChoiceMachine",
        hsm.initial(hsm.target("container")),
        hsm.state(
            "container",
            hsm.initial(hsm.target("router")),
            hsm.choice(
                "router",
                hsm.transition(
                    hsm.guard(left_guard), hsm.target("left"), hsm.effect(routed_left_effect)
                ),
                hsm.transition(
                    hsm.guard(right_guard), hsm.target("right"), hsm.effect(routed_right_effect)
                ),
                hsm.transition(hsm.target("center"), hsm.effect(routed_center_effect)),
            ),
            hsm.state("left", hsm.entry(left_entry)),
            hsm.state("right", hsm.entry(right_entry)),
            hsm.state("center", hsm.entry(center_entry)),
        ),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    assert instance.log == ["routed-left", "left-entry"]
    assert sm.state() == "/HierarchicalChoiceMachine/container/left"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_choice_with_complex_guard_conditions():
    """Choice with complex guard conditions"""
    instance = ChoiceInstance()
    instance.data["config"] = {"enabled": True, "priority": 2, "mode": "auto"}

    def disabled_guard(ctx, inst, event):
        cfg = inst.data["config"]
        return not cfg["enabled"]

    def high_priority_guard(ctx, inst, event):
        cfg = inst.data["config"]
        return cfg["enabled"] and cfg["priority"] > 5 and cfg["mode"] == "manual"

    def auto_guard(ctx, inst, event):
        cfg = inst.data["config"]
        return cfg["enabled"] and cfg["mode"] == "auto"

    def disabled_effect(ctx, inst, event):
        inst.log_action("disabled-path")

    def high_priority_effect(ctx, inst, event):
        inst.log_action("high-priority-manual")

    def automatic_effect(ctx, inst, event):
        inst.log_action("automatic-mode")

    def default_effect(ctx, inst, event):
        inst.log_action("default-fallback")

    model = hsm.define(
        "ComplexChoiceMachine",
        hsm.initial(hsm.target("choice")),
        hsm.choice(
            "choice",
            hsm.transition(
                hsm.guard(disabled_guard), hsm.target("disabled"), hsm.effect(disabled_effect)
            ),
            hsm.transition(
                hsm.guard(high_priority_guard),
                hsm.target("highpriority"),
                hsm.effect(high_priority_effect),
            ),
            hsm.transition(
                hsm.guard(auto_guard), hsm.target("automatic"), hsm.effect(automatic_effect)
            ),
            hsm.transition(hsm.target("default"), hsm.effect(default_effect)),
        ),
        hsm.state("disabled"),
        hsm.state("highpriority"),
        hsm.state("automatic"),
        hsm.state("default"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    # Should choose automatic mode
    assert instance.log == ["automatic-mode"]
    assert sm.state() == "/ComplexChoiceMachine/automatic"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_choice_with_event_data_evaluation():
    """Choice with event data evaluation"""
    instance = ChoiceInstance()

    def urgent_guard(ctx, inst, event):
        return hasattr(event, "data") and event.data and event.data.get("type") == "urgent"

    def normal_guard(ctx, inst, event):
        return hasattr(event, "data") and event.data and event.data.get("type") == "normal"

    def urgent_effect(ctx, inst, event):
        inst.log_action("urgent-processing")

    def normal_effect(ctx, inst, event):
        inst.log_action("normal-processing")

    def fallback_effect(ctx, inst, event):
        inst.log_action("fallback-processing")

    model = hsm.define(
        "EventChoiceMachine",
        hsm.initial(hsm.target("waiting")),
        hsm.state("waiting", hsm.transition(hsm.on("process"), hsm.target("../router"))),
        hsm.choice(
            "router",
            hsm.transition(
                hsm.guard(urgent_guard), hsm.target("urgent"), hsm.effect(urgent_effect)
            ),
            hsm.transition(
                hsm.guard(normal_guard), hsm.target("normal"), hsm.effect(normal_effect)
            ),
            hsm.transition(hsm.target("fallback"), hsm.effect(fallback_effect)),
        ),
        hsm.state("urgent"),
        hsm.state("normal"),
        hsm.state("fallback"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    # Send event with urgent data
    event = Event(name="process", data={"type": "urgent", "priority": 1})
    await sm.dispatch(ctx, event)

    assert instance.log == ["urgent-processing"]
    assert sm.state() == "/EventChoiceMachine/urgent"

    await hsm.stop(sm)


@_differs(
    "the same definition error, worded 'the last transition() of a choice is its else branch: it cannot have a guard()'"
)
@pytest.mark.anyio
async def test_choice_with_no_matching_guards_should_raise_error():
    """Choice with no matching guards - should raise error"""
    instance = ChoiceInstance()

    def always_false_guard(ctx, inst, event):
        return False

    # Should raise validation error at definition time since choice lacks guardless fallback
    with pytest.raises(
        hsm.ValidationError, match="the last transition of choice state.*cannot have a guard"
    ):
        model = hsm.define(
            "NoMatchChoiceMachine",
            hsm.initial(hsm.target("choice")),
            hsm.choice(
                "choice", hsm.transition(hsm.guard(always_false_guard), hsm.target("never"))
            ),
            hsm.state("never"),
        )


@pytest.mark.anyio
async def test_nested_choice_pseudostates():
    """Nested choice pseudostates"""
    instance = ChoiceInstance()
    instance.data["level1"] = True
    instance.data["level2"] = "b"

    def level1_guard(ctx, inst, event):
        return inst.data["level1"]

    def level2a_guard(ctx, inst, event):
        return inst.data["level2"] == "a"

    def level2b_guard(ctx, inst, event):
        return inst.data["level2"] == "b"

    def level1_true_effect(ctx, inst, event):
        inst.log_action("level1-true")

    def level1_false_effect(ctx, inst, event):
        inst.log_action("level1-false")

    def level2a_effect(ctx, inst, event):
        inst.log_action("level2-a")

    def level2b_effect(ctx, inst, event):
        inst.log_action("level2-b")

    def level2_other_effect(ctx, inst, event):
        inst.log_action("level2-other")

    model = hsm.define(
        "NestedChoiceMachine",
        hsm.initial(hsm.target("level1choice")),
        hsm.choice(
            "level1choice",
            hsm.transition(
                hsm.guard(level1_guard), hsm.target("level2choice"), hsm.effect(level1_true_effect)
            ),
            hsm.transition(hsm.target("level1false"), hsm.effect(level1_false_effect)),
        ),
        hsm.choice(
            "level2choice",
            hsm.transition(
                hsm.guard(level2a_guard), hsm.target("result_a"), hsm.effect(level2a_effect)
            ),
            hsm.transition(
                hsm.guard(level2b_guard), hsm.target("result_b"), hsm.effect(level2b_effect)
            ),
            hsm.transition(hsm.target("result_other"), hsm.effect(level2_other_effect)),
        ),
        hsm.state("level1false"),
        hsm.state("result_a"),
        hsm.state("result_b"),
        hsm.state("result_other"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    # Should follow level1 choice then level2 choice
    assert instance.log == ["level1-true", "level2-b"]
    assert sm.state() == "/NestedChoiceMachine/result_b"

    await hsm.stop(sm)


@pytest.mark.anyio
async def test_choice_guard_evaluation_order():
    """Choice with side effects in guards"""
    instance = ChoiceInstance()

    def guard1(ctx, inst, event):
        inst.log_action("guard1-evaluated")
        return False

    def guard2(ctx, inst, event):
        inst.log_action("guard2-evaluated")
        return True

    async def guard3(ctx, inst, event):
        inst.log_action("guard3-evaluated")
        return True

    def path2_effect(ctx, inst, event):
        inst.log_action("path2-effect")

    model = hsm.define(
        "SideEffectChoiceMachine",
        hsm.initial(hsm.target("choice")),
        hsm.choice(
            "choice",
            hsm.transition(hsm.guard(guard1), hsm.target("path1")),
            hsm.transition(hsm.guard(guard2), hsm.target("path2"), hsm.effect(path2_effect)),
            hsm.transition(hsm.target("path3")),
        ),
        hsm.state("path1"),
        hsm.state("path2"),
        hsm.state("path3"),
    )

    ctx = Context()
    sm = await hsm.started(ctx, instance, model)

    # Should evaluate guards in order until first true
    assert instance.log == ["guard1-evaluated", "guard2-evaluated", "path2-effect"]
    assert sm.state() == "/SideEffectChoiceMachine/path2"

    await hsm.stop(sm)
