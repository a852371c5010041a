"""Guarded targetless events of python-statemachine classes (issue 16's W2 shape).

Such an event runs by the engine's specialised step from its second occurrence in a
configuration on, and a guard method taking only ``self`` reaches the engine unwrapped: what
a user sees must not change. ``sm.inc()`` returns the ``on`` callbacks' results, a false
guard leaves the event untaken, a failing guard is ``error.execution``, and
``InvalidDefinition`` raised by a guard leaves the event method, every time.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.compat.psm import InvalidDefinition, State, StateChart
from statefleet.core import MacrostepRecord


class Counter(StateChart):
    s = State(initial=True)
    inc = s.to.itself(internal=True, cond="below", on="increment")
    error_execution = s.to.itself(internal=True, on="record_error")

    def __init__(self, limit: int = 3) -> None:
        self.n = 0
        self.limit = limit
        self.fail_with: type[Exception] | None = None
        self.errors: list[str] = []
        super().__init__()

    def below(self) -> bool:
        if self.fail_with is not None:
            raise self.fail_with("guard failed")
        return self.n < self.limit

    def increment(self) -> int:
        self.n += 1
        return self.n

    def record_error(self, error: Exception) -> None:
        self.errors.append(str(error))


def test_each_event_returns_its_on_callback_result_until_the_guard_turns_false() -> None:
    sm = Counter(limit=3)
    assert [sm.inc() for _ in range(5)] == [1, 2, 3, None, None]
    assert sm.n == 3
    assert sm.configuration_values == {"s"}


def test_a_failing_guard_is_error_execution_and_the_event_is_not_taken() -> None:
    sm = Counter(limit=10)
    sm.inc()
    sm.inc()
    sm.fail_with = ValueError
    assert sm.inc() is None
    assert sm.inc() is None
    assert sm.errors == ["guard failed", "guard failed"]
    assert sm.n == 2
    sm.fail_with = None
    assert sm.inc() == 3


@pytest.mark.parametrize("warm", [0, 1, 3])
def test_invalid_definition_from_a_guard_leaves_the_event_method(warm: int) -> None:
    sm = Counter(limit=10)
    for _ in range(warm):  # the first event plans; the later ones take the specialised step
        sm.inc()
    sm.fail_with = InvalidDefinition
    with pytest.raises(InvalidDefinition, match="guard failed"):
        sm.inc()
    assert sm.n == warm
    assert sm.errors == []
    sm.fail_with = None
    assert sm.inc() == warm + 1


class Procedure(StateChart):
    """W2 as benchmarked: an ``on`` method taking only ``self`` and returning nothing (it
    reaches the engine unwrapped, called with the instance by the specialised step)."""

    s = State(initial=True)
    inc = s.to.itself(internal=True, cond="below", on="increment")
    error_execution = s.to.itself(internal=True, on="record_error")

    def __init__(self, **kwargs: Any) -> None:
        self.n = 0
        self.fail_with: type[Exception] | None = None
        self.errors: list[str] = []
        super().__init__(**kwargs)

    def below(self) -> bool:
        return self.n < 100

    def increment(self) -> None:
        self.n += 1
        if self.fail_with is not None:
            raise self.fail_with(f"on failed at {self.n}")

    def record_error(self, error: Exception) -> None:
        self.errors.append(str(error))


@pytest.mark.parametrize("warm", [0, 1, 3])
def test_a_failing_on_method_is_error_execution_and_the_event_is_taken(warm: int) -> None:
    sm = Procedure()
    for _ in range(warm):
        assert sm.inc() is None
    sm.fail_with = ValueError
    assert sm.inc() is None
    assert sm.inc() is None
    assert sm.errors == [f"on failed at {warm + 1}", f"on failed at {warm + 2}"]
    assert sm.n == warm + 2
    sm.fail_with = None
    sm.inc()
    assert (sm.n, sm.configuration_values) == (warm + 3, {"s"})


@pytest.mark.parametrize("warm", [0, 1, 3])
def test_invalid_definition_from_an_on_method_leaves_the_event_method(warm: int) -> None:
    sm = Procedure()
    for _ in range(warm):
        sm.inc()
    sm.fail_with = InvalidDefinition
    for _ in range(2):  # every time
        with pytest.raises(InvalidDefinition, match="on failed"):
            sm.inc()
    assert sm.errors == []
    sm.fail_with = None
    sm.inc()
    assert sm.n == warm + 3


def test_an_on_method_of_a_moving_transition_still_runs_with_the_instance() -> None:
    class Toggle(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, on="count") | b.to(a, on="count")

        def __init__(self) -> None:
            self.count_calls = 0
            super().__init__()

        def count(self) -> None:
            self.count_calls += 1

    sm = Toggle()
    for _ in range(3):
        sm.go()
    assert (sm.count_calls, sm.configuration_values) == (3, {"b"})


def test_an_event_method_on_an_instance_with_a_record_listener_publishes_each_step() -> None:
    # an event method hands the session its ready event; with a listener the step is
    # queued and its record published, as send() does
    records: list[Any] = []
    sm = Procedure(listeners=[records.append])
    for _ in range(3):
        sm.inc()
    steps = [
        r
        for r in records
        if isinstance(r, MacrostepRecord) and r.event is not None and r.event.name == "inc"
    ]
    assert [r.version for r in steps] == [1, 2, 3]
    assert sm.n == 3


class Ticking(StateChart):
    """An ``on`` method (taking only ``self``) that schedules a delayed event: an effect the
    session carries out after the step."""

    s = State(initial=True)
    arm = s.to.itself(internal=True, on="schedule")
    tick = s.to.itself(internal=True, on="count")

    def __init__(self) -> None:
        self.ticks = 0
        super().__init__()

    def schedule(self) -> None:
        self.send("tick", delay=500)

    def count(self) -> None:
        self.ticks += 1


@pytest.mark.parametrize("warm", [0, 1, 3])
def test_an_effect_of_an_event_method_step_is_carried_out(warm: int) -> None:
    sm = Ticking()
    for _ in range(warm):
        sm.arm()
    sm.advance(1)
    assert sm.ticks == warm
    sm.arm()
    sm.advance(0.4)
    assert sm.ticks == warm
    sm.advance(0.2)
    assert sm.ticks == warm + 1


class Relay(StateChart):
    """An ``on`` method that sends this instance another event from inside its step: it
    is processed right after (run to completion), before the event method returns."""

    s = State(initial=True)
    go = s.to.itself(internal=True, on="relay")
    echo = s.to.itself(internal=True, on="count")

    def __init__(self) -> None:
        self.echoes = 0
        super().__init__()

    def relay(self) -> None:
        self.send("echo")

    def count(self) -> None:
        self.echoes += 1


def test_an_event_sent_from_an_event_method_step_is_processed_before_it_returns() -> None:
    sm = Relay()
    for i in range(1, 4):
        sm.go()
        assert sm.echoes == i
