"""python-statemachine 3's public API, written the way its documentation shows it."""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any

import pytest

from statefleet import ChartDefinitionError, StatefleetError
from statefleet.compat.psm import (
    AttrNotFound,
    Event,
    InvalidDefinition,
    State,
    StateChart,
    StateMachine,
    States,
    TransitionNotAllowed,
)


class TrafficLight(StateChart):
    "A traffic light machine"

    green = State(initial=True)
    yellow = State()
    red = State()

    cycle = green.to(yellow) | yellow.to(red) | red.to(green)

    def before_cycle(self, event: str, source: State, target: State) -> str:
        return f"Running {event} from {source.id} to {target.id}"


def test_send_and_event_methods_return_the_callbacks_results() -> None:
    sm = TrafficLight()
    assert sm.send("cycle") == "Running cycle from green to yellow"
    assert sm.cycle() == "Running cycle from yellow to red"


def test_several_results_come_back_as_a_list_and_none_without_callbacks() -> None:
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b) | b.to(a)
        noop = b.to(a)

        @go.on
        def do_go(self, source: State, target: State) -> str:
            return f"{source.id}->{target.id}"

        def before_go(self) -> str:
            return "before"

    sm = Machine()
    assert sm.go() == ["before", "a->b"]
    assert sm.noop() is None
    assert sm.send("unknown") is None


def test_decorator_declares_the_event_and_its_action() -> None:
    class Machine(StateChart):
        idle = State(initial=True)
        working = State()

        @idle.to(working)
        def start(self, job: str = "?") -> str:
            return f"started {job}"

        @working.to(idle)
        def stop(self) -> None:
            self.stopped = True

    sm = Machine()
    assert sm.start(job="backup") == "started backup"
    assert sm.configuration_values == {"working"}
    sm.send("stop")
    assert sm.stopped is True
    assert [e.id for e in Machine.events] == ["start", "stop"]


def test_class_level_events_and_states() -> None:
    assert [e.id for e in TrafficLight.events] == ["cycle"]
    assert [s.id for s in TrafficLight.states] == ["green", "yellow", "red"]
    assert TrafficLight.states.green is TrafficLight.green
    assert "red" in TrafficLight.states and len(TrafficLight.states) == 3
    sm = TrafficLight()
    assert [e.id for e in sm.events] == ["cycle"]


class Traffic(StateMachine):
    green = State(initial=True)
    yellow = State()
    red = State(final=True)

    slowdown = green.to(yellow)
    stop = yellow.to(red)


def test_state_machine_refuses_an_event_no_transition_takes() -> None:
    sm = Traffic()
    with pytest.raises(TransitionNotAllowed, match=r"Can't Stop when in Green\.") as info:
        sm.stop()
    assert info.value.event == "stop"
    assert isinstance(info.value, StatefleetError)
    assert sm.configuration_values == {"green"}  # nothing happened
    sm.slowdown()
    sm.stop()
    assert sm.is_terminated


def test_state_machine_refuses_when_the_guard_says_no() -> None:
    class Gate(StateMachine):
        closed = State(initial=True)
        opened = State(final=True)
        open = closed.to(opened, cond="has_key")
        has_key = False

    with pytest.raises(TransitionNotAllowed):
        Gate().open()


def test_state_machine_lets_callback_errors_propagate() -> None:
    class Job(StateMachine):
        idle = State(initial=True)
        done = State(final=True)
        run = idle.to(done)

        def on_run(self) -> None:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Job().run()


def test_in_inside_string_guards() -> None:
    class Robot(StateChart):
        class arm(State.Parallel):
            class grip(State.Compound):
                open = State(initial=True)
                closed = State()
                close = open.to(closed)

            class motor(State.Compound):
                stopped = State(initial=True)
                moving = State()
                move = stopped.to(moving, cond="In('closed')")
                halt = moving.to(stopped, cond="not In('open') and In('moving')")

    sm = Robot()
    sm.send("move")
    assert "stopped" in sm.configuration_values
    sm.send("close")
    sm.send("move")
    assert "moving" in sm.configuration_values
    sm.send("halt")
    assert "stopped" in sm.configuration_values


def test_comparisons_in_string_guards() -> None:
    class Counter(StateChart):
        low = State(initial=True)
        high = State(final=True)
        bump = low.to(high, cond="count >= 3") | low.to.itself(internal=True, on="inc")
        count = 0

        def inc(self) -> None:
            self.count += 1

    sm = Counter()
    for _ in range(3):
        sm.bump()
    assert sm.configuration_values == {"low"}
    sm.bump()
    assert sm.configuration_values == {"high"}


class Order:
    """A domain model: psm finds guards and callbacks on it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.paid = 0
        self.log: list[str] = []

    def is_paid(self) -> bool:
        return self.paid >= self.total

    def on_pay(self, amount: int) -> None:
        self.paid += amount

    def on_enter_completed(self) -> None:
        self.log.append("completed")


class OrderFlow(StateChart):
    waiting = State(initial=True)
    completed = State(final=True)

    pay = waiting.to.itself(internal=True, unless="is_paid") | waiting.to(completed, cond="is_paid")
    check = waiting.to(completed, cond="is_paid")


def test_guards_and_callbacks_found_on_the_model() -> None:
    order = Order(total=10)
    sm = OrderFlow(order)
    sm.pay(amount=6)
    assert order.paid == 6 and sm.configuration_values == {"waiting"}
    sm.pay(amount=4)
    sm.check()
    assert sm.configuration_values == {"completed"}
    assert order.log == ["completed"]
    assert sm.model is order


def test_a_name_nothing_defines_is_reported_when_the_instance_is_created() -> None:
    with pytest.raises(InvalidDefinition, match="unknown guard 'is_paid'") as info:
        OrderFlow()
    assert isinstance(info.value, ChartDefinitionError)
    assert info.value.path == "OrderFlow.pay.cond"


class Audit:
    """A psm listener defining only some of the observer methods."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def after_transition(self, event: str, source: State, target: State) -> None:
        self.lines.append(f"{event}: {source.id} -> {target.id}")

    def on_enter_red(self) -> None:
        self.lines.append("red!")


def test_listener_objects_with_only_some_callbacks() -> None:
    audit = Audit()
    records: list[Any] = []
    sm = TrafficLight(listeners=[audit, records.append])
    sm.cycle()
    sm.cycle()
    assert audit.lines == ["cycle: green -> yellow", "red!", "cycle: yellow -> red"]
    assert records  # statefleet record listeners still receive records


def test_class_level_listeners_are_instantiated_per_instance() -> None:
    class Watched(StateChart):
        listeners = [Audit]
        green = State(initial=True)
        red = State()
        go = green.to(red) | red.to(green)

    a, b = Watched(), Watched()
    a.go()
    audits = [p for p in a._sf_providers if isinstance(p, Audit)]
    assert audits[0].lines == ["red!", "go: green -> red"]
    assert [p.lines for p in b._sf_providers if isinstance(p, Audit)] == [[]]


def test_start_value_starts_in_that_state_and_runs_its_entry() -> None:
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        c = State(final=True)
        go = a.to(b) | b.to(c)
        entered: list[str] = []

        def on_enter_state(self, state: State) -> None:
            self.entered.append(state.id)

    sm = Machine(start_value="b")
    assert sm.configuration_values == {"b"}
    assert sm.entered == ["b"]
    sm.go()
    assert sm.is_terminated
    with pytest.raises(InvalidDefinition, match="start_value 'x'"):
        Machine(start_value="x")


class Status(Enum):
    PENDING = "pending"
    DONE = "done"


def test_states_from_enum() -> None:
    class Task(StateChart):
        states = States.from_enum(Status, initial=Status.PENDING, final=Status.DONE)
        finish = states.PENDING.to(states.DONE)

    sm = Task()
    assert sm.configuration_values == {Status.PENDING}
    assert [s.id for s in Task.states] == ["PENDING", "DONE"]
    sm.finish()
    assert sm.configuration_values == {Status.DONE}
    assert sm.is_terminated


def test_definition_errors_propagate_from_callbacks() -> None:
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b) | b.to(a)

        def on_go(self) -> None:
            raise InvalidDefinition("bad", path="Machine.on_go")

    sm = Machine()
    with pytest.raises(InvalidDefinition, match="bad"):
        sm.go()


def test_definition_errors_propagate_from_entry_and_exit_callbacks() -> None:
    # entry/exit methods taking only self run unwrapped in the engine (OnOwner): the
    # chart's escape still lets InvalidDefinition out of send, undoing the step, while other
    # errors still become error.execution
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b) | b.to(a)
        fail_with: type[Exception] | None = None

        def on_enter_b(self) -> None:
            if self.fail_with is not None:
                raise self.fail_with("bad")

        def on_exit_a(self) -> None:
            pass

    sm = Machine()
    sm.fail_with = InvalidDefinition
    with pytest.raises(InvalidDefinition, match="bad"):
        sm.go()
    assert sm.configuration_values == {"a"}
    errors: list[Exception] = []

    class Catching(Machine):
        error_execution = Machine.b.to(Machine.b, internal=True)

        def on_error_execution(self, error: Exception) -> None:
            errors.append(error)

    sm2 = Catching()
    sm2.fail_with = ValueError
    sm2.go()
    assert sm2.configuration_values == {"b"}
    assert [str(e) for e in errors] == ["bad"]


def test_event_methods_act_on_their_own_instance_also_after_a_deep_copy() -> None:
    # an instance keeps its event methods (sm.go is made once): a copy gets its own
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b) | b.to(a)

    sm = Machine()
    go = sm.go
    assert sm.go is go and go == "go" and go.id == "go"
    go()
    twin = copy.deepcopy(sm)
    twin.go()
    assert sm.configuration_values == {"b"}
    assert twin.configuration_values == {"a"}
    other = Machine()
    other.go()
    assert other.go is not go and sm.configuration_values == {"b"}


def test_event_objects_decorate_callbacks() -> None:
    class Machine(StateChart):
        a = State(initial=True)
        b = State()
        go = Event(a.to(b) | b.to(a), name="Go!")

        @go.before
        def remember(self, source: State) -> str:
            return source.id

    sm = Machine()
    assert sm.go() == "a"
    assert Machine.go.name == "Go!"


class Shop:
    """A rich model whose methods share names with the chart's events."""

    def __init__(self) -> None:
        self.total = 0
        self.payments: list[int] = []

    def add_to_order(self, amount: int) -> int:
        self.total += amount
        return self.total

    def enough(self, amount: int) -> bool:
        return sum(self.payments) + amount >= self.total

    def on_receive_payment(self, amount: int) -> None:
        self.payments.append(amount)


class ShopControl(StateMachine):
    waiting = State("Waiting for payment", initial=True)
    processing = State("Processing", final=True)

    add_to_order = waiting.to(waiting, before="add_to_order")
    receive_payment = waiting.to(processing, cond="enough") | waiting.to(waiting, unless="enough")


def test_positional_arguments_reach_callbacks_by_position() -> None:
    shop = Shop()
    control = ShopControl(shop)
    assert control.send("add_to_order", 3) == 3
    assert control.add_to_order(7) == 10
    control.send("receive_payment", 4)
    assert control.configuration_values == {"waiting"}
    with pytest.raises(StateMachine.TransitionNotAllowed):
        control.send("process_order")
    control.receive_payment(6)
    assert shop.payments == [4, 6]
    assert control.processing.is_active


def test_a_callback_named_like_an_event_is_the_models() -> None:
    with pytest.raises(AttrNotFound, match="'add_to_order' is a state or an event"):
        ShopControl()


class Lamp(StateMachine):
    off = State(initial=True)
    on = State()

    turn_on = off.to(on)
    turn_off = on.to(off)


class LampRecord:
    """A model persisted elsewhere (a database row): psm keeps the state in ``state``."""

    def __init__(self, state: str | None = None) -> None:
        self.state = state
        self.entered: list[str] = []

    def on_enter_on(self) -> None:
        self.entered.append("on")


def test_the_model_state_field_follows_the_machine_and_resumes_it() -> None:
    row = LampRecord()
    lamp = Lamp(row)
    assert row.state == "off"
    lamp.turn_on()
    assert row.state == "on" and row.entered == ["on"]

    loaded = LampRecord(state=row.state)  # read back from storage
    again = Lamp(loaded)
    assert again.configuration_values == {"on"}
    assert loaded.entered == []  # resumed, not entered
    again.turn_off()
    assert loaded.state == "off"

    custom = LampRecord()
    custom.status = "on"  # type: ignore[attr-defined]
    assert Lamp(custom, state_field="status").configuration_values == {"on"}
    with pytest.raises(InvalidDefinition, match=r"LampRecord\.state is 'dim'"):
        Lamp(LampRecord(state="dim"))


def test_states_from_enum_are_class_attributes_too() -> None:
    class Campaign(StateMachine):
        states = States.from_enum(Status, initial=Status.PENDING, final=Status.DONE)
        finish = states.PENDING.to(states.DONE)

    assert Campaign.PENDING.initial and Campaign.DONE.final  # type: ignore[attr-defined]
    sm = Campaign()
    assert sm.PENDING.is_active  # type: ignore[attr-defined]
    sm.finish()
    assert sm.current_state_value == Status.DONE


class Signup(StateMachine):
    incomplete = State(initial=True)
    complete = State(final=True)

    signup = incomplete.to(complete)

    def on_signup(self, token: str) -> None:
        if not token:
            raise ValueError("Token is required")


def test_a_failing_callback_leaves_the_configuration_as_the_event_found_it() -> None:
    sm = Signup()
    with pytest.raises(ValueError, match="Token is required"):
        sm.signup("")
    assert sm.configuration_values == {"incomplete"}
    sm.signup("1234")
    assert sm.configuration_values == {"complete"}


def test_bind_events_to_a_domain_object() -> None:
    class Account:
        def __init__(self) -> None:
            self.state: str | None = None
            self.sm = Signup(self)
            self.sm.bind_events_to(self)

    account = Account()
    account.signup("token")  # type: ignore[attr-defined]
    assert account.state == "complete"
    with pytest.warns(UserWarning, match="already exists"):
        account.sm.bind_events_to(account)


def test_add_listener_after_creation() -> None:
    sm = TrafficLight()
    sm.cycle()
    audit = Audit()
    sm.add_listener(audit)
    assert sm.active_listeners == [audit]
    assert sm.configuration_values == {"yellow"}  # nothing entered or exited
    assert sm.cycle() == "Running cycle from yellow to red"
    assert audit.lines == ["red!", "cycle: yellow -> red"]


class Crossing(TrafficLight):
    def on_enter_red(self) -> None:
        self.log.append("Don't move.")

    def on_exit_red(self) -> None:
        self.log.append("Go ahead!")

    log: list[str] = []


class LogListener:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def after_transition(self, event: str, source: State, target: State) -> None:
        self.log.append(f"{self.name} after: {source.id}--({event})-->{target.id}")

    def on_enter_state(self, target: State, event: str) -> None:
        self.log.append(f"{self.name} enter: {target.id} from {event}")


class LedPanel:
    def __init__(self, color: str, log: list[str]) -> None:
        self.color = color
        self.log = log

    def on_enter_state(self, target: State) -> None:
        if target.id == self.color:
            self.log.append(f"{self.color} turning on")

    def on_exit_state(self, source: State) -> None:
        if source.id == self.color:
            self.log.append(f"{self.color} turning off")


def test_listeners_as_psm_documents_them() -> None:
    log: list[str] = []
    sm = Crossing(listeners=[LogListener("Paulista Avenue", log)])
    sm.log = log
    assert log == ["Paulista Avenue enter: green from __initial__"]
    assert sm.cycle() == "Running cycle from green to yellow"
    assert log[1:] == [
        "Paulista Avenue enter: yellow from cycle",
        "Paulista Avenue after: green--(cycle)-->yellow",
    ]
    del log[:]
    assert sm.add_listener(*(LedPanel(c, log) for c in ("green", "yellow", "red"))) is sm
    assert sm.cycle() == "Running cycle from yellow to red"
    assert sm.cycle() == "Running cycle from red to green"
    assert log == [
        "yellow turning off",
        "Paulista Avenue enter: red from cycle",
        "red turning on",
        "Don't move.",
        "Paulista Avenue after: yellow--(cycle)-->red",
        "red turning off",
        "Go ahead!",
        "Paulista Avenue enter: green from cycle",
        "green turning on",
        "Paulista Avenue after: red--(cycle)-->green",
    ]
