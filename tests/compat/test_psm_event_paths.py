"""The class DSL's per-event shortcuts (issue 16) behave as python-statemachine says.

An event method hands the engine one payload-less event per bound method instead of a new one
per call, and a chart whose ``on``/``before`` callbacks return values collects them per send:
each test here fails if one of those shortcuts mixes up events, payloads or results.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.compat.psm import State, StateChart, StateMachine, TransitionNotAllowed


class Counter(StateChart):
    s = State(initial=True)
    inc = s.to.itself(internal=True, cond="below", on="increment")

    def __init__(self, limit: int = 3) -> None:
        self.n = 0
        self.limit = limit
        super().__init__()

    def below(self) -> bool:
        return bool(self.n < self.limit)

    def increment(self) -> int:
        self.n += 1
        return self.n


def test_an_event_method_returns_its_own_callbacks_result_each_time() -> None:
    sm = Counter()
    assert [sm.inc(), sm.inc(), sm.inc()] == [1, 2, 3]
    assert sm.inc() is None  # the guard no longer holds: nothing ran
    assert sm.n == 3


class Reentrant(StateChart):
    """Sends its own event again from the callback of its first one (``by_name``: with
    ``send("inc")``, else with the event method)."""

    s = State(initial=True)
    inc = s.to.itself(internal=True, on="bump")

    def __init__(self, by_name: bool) -> None:
        self.calls = 0
        self.by_name = by_name
        super().__init__()

    def bump(self) -> int:
        self.calls += 1
        if self.calls == 1:
            # queued: it runs after this macrostep
            assert (self.send("inc") if self.by_name else self.inc()) is None
        return self.calls


@pytest.mark.parametrize("by_name", [False, True])
def test_an_event_sent_again_from_its_own_callback_is_a_new_event(by_name: bool) -> None:
    """The nested call is queued (run to completion): its result is not the outer one's,
    whether the events are sent by event method or by ``send("inc")``."""
    sm = Reentrant(by_name)
    send = (lambda: sm.send("inc")) if by_name else sm.inc
    assert send() == 1
    assert sm.calls == 2
    assert send() == 3
    assert sm.send("unknown") is None


def test_event_method_data_reaches_only_its_own_call() -> None:
    seen: list[tuple[Any, Any]] = []

    class Pay(StateChart):
        s = State(initial=True)
        pay = s.to.itself(internal=True, on="record")

        def record(self, event_data: Any, amount: int = 0) -> int:
            seen.append((event_data.data, amount))
            return amount

    sm = Pay()
    assert sm.pay(amount=3) == 3
    assert sm.pay() == 0
    assert sm.pay(amount=5) == 5
    assert seen == [({"amount": 3}, 3), (None, 0), ({"amount": 5}, 5)]


def test_callbacks_see_the_event_source_and_target_of_each_call() -> None:
    class Light(StateChart):
        green = State(initial=True)
        red = State()
        cycle = green.to(red) | red.to(green)

        def on_cycle(self, event: Any, source: State, target: State) -> str:
            return f"{event.id}:{source.id}->{target.id}"

    sm = Light()
    assert sm.cycle() == "cycle:green->red"
    assert sm.cycle() == "cycle:red->green"


def test_a_strict_machine_still_refuses_an_event_method_no_transition_takes() -> None:
    class Strict(StateMachine):
        s = State(initial=True)
        t = State(final=True)
        go = s.to(t, cond="ready")

        def __init__(self) -> None:
            self.ready_now = False
            super().__init__()

        def ready(self) -> bool:
            return self.ready_now

    sm = Strict()
    try:
        sm.go()
    except TransitionNotAllowed:
        pass
    else:
        raise AssertionError("go() with a false guard must raise TransitionNotAllowed")
    sm.ready_now = True
    assert sm.go() is None
    assert sm.configuration == {"t"}


# -- results: a transition whose only callback returns None collects nothing -----------------
def test_none_returning_callbacks_give_python_statemachines_results() -> None:
    """One None-returning callback gives None; two give ``[None, None]``, and so do two
    transitions of parallel regions with one each (every one of them is a result)."""

    class One(StateChart):
        s = State(initial=True)
        inc = s.to.itself(internal=True, on="step")

        def step(self) -> None:
            pass

    class Two(StateChart):
        s = State(initial=True)
        inc = s.to.itself(internal=True, before="check", on="step")

        def check(self) -> None:
            pass

        def step(self) -> None:
            pass

    class Regions(StateChart):
        class top(State.Parallel):
            class r1(State.Compound):
                a = State(initial=True)
                b = State()
                go = a.to(b, on="one")

            class r2(State.Compound):
                c = State(initial=True)
                d = State()
                go2 = c.to(d, event="go", on="two")

        def one(self) -> None:
            pass

        def two(self) -> None:
            pass

    assert One().inc() is None
    assert Two().inc() == [None, None]
    assert Regions().send("go") == [None, None]


def test_callbacks_that_may_return_a_value_are_still_collected() -> None:
    """Only a function whose every return is ``None`` skips collecting: a conditional
    return, a return inside ``try``/``finally`` or a decorated function still give their
    value."""
    import functools

    def traced(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return wrapper

    class Machine(StateChart):
        s = State(initial=True)
        maybe = s.to.itself(internal=True, on="pick")
        guarded = s.to.itself(internal=True, on="protected")
        wrapped = s.to.itself(internal=True, on="decorated")

        def pick(self, x: int = 0) -> int | None:
            return x if x else None

        def protected(self) -> int:
            try:
                return 5
            finally:
                self.cleanup = None

        @traced
        def decorated(self) -> str:
            return "traced"

    sm = Machine()
    assert sm.maybe(x=3) == 3
    assert sm.maybe() is None
    assert sm.guarded() == 5
    assert sm.wrapped() == "traced"


def test_a_failing_none_returning_action_is_still_error_execution() -> None:
    class Failing(StateChart):
        s = State(initial=True)
        broken = State(final=True)
        inc = s.to.itself(internal=True, cond="ok", on="boom")
        error_execution = s.to(broken, on="note")

        def __init__(self) -> None:
            self.seen: list[str] = []
            super().__init__()

        def ok(self) -> bool:
            return True

        def boom(self) -> None:
            raise ValueError("no")

        def note(self, error: Exception) -> None:
            self.seen.append(str(error))

    sm = Failing()
    assert sm.inc() is None
    assert sm.seen == ["no"]
    assert sm.configuration == {"broken"}


# -- arguments known when the class is compiled are passed as values ------------------------
def test_callbacks_get_their_own_state_source_and_target_every_time() -> None:
    seen: list[tuple[str, ...]] = []

    class Deep(StateChart):
        class A(State.Compound):
            a1 = State(initial=True)

        b = State()
        go = A.a1.to(b) | b.to(A.a1)

        def on_enter_state(self, state: State, target: State) -> None:
            seen.append(("enter", state.id, target.id))

        def on_exit_state(self, event: Any, source: State) -> None:
            seen.append(("exit", str(event.id), source.id))

        def before_go(self, event: Any, source: State, target: State) -> None:
            seen.append(("before", str(event.id), source.id, target.id))

    sm = Deep()
    seen.clear()
    sm.go()
    sm.go()
    assert seen == [
        ("before", "go", "a1", "b"),
        ("exit", "go", "a1"),
        ("exit", "go", "A"),
        ("enter", "b", "b"),
        ("before", "go", "b", "a1"),
        ("exit", "go", "b"),
        ("enter", "A", "A"),
        ("enter", "a1", "a1"),
    ]


# -- send("name") takes the event method's way ---------------------------------------------
def test_a_subclass_overriding_send_sees_every_event() -> None:
    class Logged(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b) | b.to(a)

        def __init__(self) -> None:
            self.sent: list[str] = []
            super().__init__()

        def send(self, event: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent.append(str(event))
            return super().send(event, *args, **kwargs)

    sm = Logged()
    sm.send("go")
    sm.go()
    assert sm.sent == ["go", "go"]
    assert sm.configuration == {"a"}


def test_a_subclass_overriding_a_callback_gets_its_own_results() -> None:
    """Each class compiles its own chart: a subclass whose override returns a value gets it
    back from ``send``, its base (a None-returning callback) still returns None."""

    class Base(StateChart):
        s = State(initial=True)
        inc = s.to.itself(internal=True, on="step")

        def __init__(self) -> None:
            self.n = 0
            super().__init__()

        def step(self) -> None:
            self.n += 1

    class Counting(Base):
        def step(self) -> int:  # type: ignore[override]
            self.n += 10
            return self.n

    base, sub = Base(), Counting()
    assert (base.inc(), base.send("inc"), base.n) == (None, None, 2)
    assert (sub.inc(), sub.send("inc"), sub.n) == (10, 20, 20)
