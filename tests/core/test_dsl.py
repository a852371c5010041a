"""The class DSL (python-statemachine 3's ``StateChart``), feature by feature."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import (
    ChartDefinitionError,
    Event,
    EventData,
    HistoryState,
    Session,
    State,
    StateChart,
    VirtualClock,
    decode_snapshot,
    encode_snapshot,
)


def cfg(sm: StateChart) -> list[Any]:
    return sorted(sm.configuration_values)


# -- compiling --------------------------------------------------------------------------------


class Toggle(StateChart):
    off = State("Off", initial=True)
    on = State("On")
    flip = off.to(on) | on.to(off)


def test_the_class_compiles_once_and_instances_are_sessions() -> None:
    a, b = Toggle(), Toggle()
    assert Toggle.chart is a.chart is b.chart
    assert isinstance(a, Session)
    assert Toggle.chart.state_ids == ("off", "on")
    a.send("flip")
    assert a.configuration == {"on"}
    assert b.configuration == {"off"}  # instances are independent


def test_state_names_ids_and_values() -> None:
    assert Toggle.off.id == "off"
    assert Toggle.off.name == "Off"
    assert State().name == ""

    class Valued(StateChart):
        draft = State(value=1, initial=True)
        published_item = State(value=2)
        publish = draft.to(published_item)
        retract = published_item.to(draft)

    sm = Valued()
    assert Valued.published_item.name == "Published item"
    assert sm.configuration_values == {1}
    assert sm.configuration == {"draft"}
    assert sm.current_state_value == 1
    assert sm.current_state is Valued.draft
    assert Valued.states_map[2] is Valued.published_item
    sm.publish()
    assert sm.configuration_values == {2}


def test_triggers_send_their_event_with_data() -> None:
    seen: list[Any] = []

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, on=lambda amount: seen.append(amount))  # noqa: PLW0108 - injected by name
        back = b.to(a)

    sm = M()
    sm.go(amount=5)
    assert seen == [5]
    assert sm.configuration == {"b"}
    assert M.go == "go"
    assert M.go.name == "Go"
    assert sm.go.id == "go"


def test_instance_states_know_whether_they_are_active() -> None:
    sm = Toggle()
    assert sm.off.is_active
    assert not sm.on.is_active
    sm.flip()
    assert sm.on.is_active
    assert sm.on == "on"


def test_events_allowed_and_enabled() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, cond="ready")
        stay = a.to.itself()
        back = b.to(a)
        ready = False

    sm = M()
    assert [e.id for e in sm.events] == ["go", "stay", "back"]
    assert sm.allowed_events == ["go", "stay"]
    assert sm.enabled_events() == ["stay"]
    assert all(isinstance(e, Event) for e in sm.enabled_events())
    sm.ready = True
    assert sm.enabled_events() == ["go", "stay"]


def test_unknown_events_are_ignored() -> None:
    sm = Toggle()
    sm.send("nothing.here")
    assert sm.configuration == {"off"}


# -- callbacks: naming convention and order ---------------------------------------------------


def test_callback_order_before_exit_on_enter_after() -> None:
    log: list[str] = []

    class M(StateChart):
        a = State(initial=True, enter="inline_enter_a", exit="inline_exit_a")
        b = State()
        go = a.to(b, before="inline_before", on="inline_on", after="inline_after")
        back = b.to(a)

        def inline_before(self) -> None:
            log.append("before=")

        def inline_on(self) -> None:
            log.append("on=")

        def inline_after(self) -> None:
            log.append("after=")

        def inline_enter_a(self) -> None:
            log.append("enter=a")

        def inline_exit_a(self) -> None:
            log.append("exit=a")

        def before_transition(self) -> None:
            log.append("before_transition")

        def on_transition(self) -> None:
            log.append("on_transition")

        def after_transition(self) -> None:
            log.append("after_transition")

        def before_go(self) -> None:
            log.append("before_go")

        def on_go(self) -> None:
            log.append("on_go")

        def after_go(self) -> None:
            log.append("after_go")

        def on_enter_state(self, state: State) -> None:
            log.append(f"on_enter_state {state.id}")

        def on_exit_state(self, state: State) -> None:
            log.append(f"on_exit_state {state.id}")

        def on_enter_b(self) -> None:
            log.append("on_enter_b")

        def on_exit_a(self) -> None:
            log.append("on_exit_a")

    sm = M()
    assert log == ["on_enter_state a", "enter=a"]
    log.clear()
    sm.send("go")
    assert log == [
        "before_transition",
        "before=",
        "before_go",
        "on_exit_state a",
        "exit=a",
        "on_exit_a",
        "on_transition",
        "on=",
        "on_go",
        "on_enter_state b",
        "on_enter_b",
        "after=",
        "after_go",
        "after_transition",
    ]


def test_event_callbacks_run_only_for_their_own_event() -> None:
    log: list[str] = []

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, event="jump")
        back = b.to(a)

        def on_go(self) -> None:
            log.append("on_go")

        def on_jump(self) -> None:
            log.append("on_jump")

    sm = M()
    sm.send("jump")
    assert log == ["on_jump"]
    sm.send("back")
    sm.send("go")
    assert log == ["on_jump", "on_go"]


def test_decorators_add_callbacks() -> None:
    log: list[str] = []

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

        @go.on
        def moving(self, event: Event) -> None:
            log.append(f"moving on {event.id}")

        @go.cond
        def allowed(self, ok: bool = True) -> bool:
            return ok

        @b.enter
        def arrived(self) -> None:
            log.append("arrived")

        @a.exit
        def leaving(self) -> None:
            log.append("leaving")

    sm = M()
    sm.send("go", ok=False)
    assert sm.configuration == {"a"}
    sm.send("go")
    assert log == ["leaving", "moving on go", "arrived"]


def test_callbacks_given_as_callables_static_and_class_methods() -> None:
    log: list[str] = []

    def external(event: Event, target: State) -> None:
        log.append(f"external {event} -> {target.id}")

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, on=[external, "helper", "klass"])
        back = b.to(a)

        @staticmethod
        def helper(source: State) -> None:
            log.append(f"static from {source.id}")

        @classmethod
        def klass(cls) -> None:
            log.append(f"class {cls.__name__}")

    M().send("go")
    assert log == ["external go -> b", "static from a", "class M"]


# -- argument injection -----------------------------------------------------------------------


def test_arguments_are_injected_by_name() -> None:
    seen: dict[str, Any] = {}
    model = object()

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

        def on_go(
            self,
            event: Event,
            event_data: EventData,
            source: State,
            target: State,
            state: State,
            machine: StateChart,
            model: Any,
            transition: Any,
            amount: int,
            missing: str = "default",
            other: Any = None,
        ) -> None:
            seen.update(
                event=event,
                data=event_data.data,
                source=source.id,
                target=target.id,
                state=state.id,
                machine=machine,
                model=model,
                transition=(transition.source.id, transition.target.id),
                amount=amount,
                missing=missing,
                other=other,
            )

    sm = M(model)
    sm.send("go", amount=3)
    assert seen == {
        "event": "go",
        "data": {"amount": 3},
        "source": "a",
        "target": "b",
        "state": "a",
        "machine": sm,
        "model": model,
        "transition": ("a", "b"),
        "amount": 3,
        "missing": "default",
        "other": None,
    }
    assert isinstance(seen["event"], Event)


def test_entry_and_exit_callbacks_see_the_transition() -> None:
    seen: list[tuple[str, ...]] = []

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

        def on_exit_a(self, state: State, source: State, target: State) -> None:
            seen.append(("exit", state.id, source.id, target.id))

        def on_enter_b(self, state: State, source: State, target: State, transition: Any) -> None:
            seen.append(("enter", state.id, source.id, target.id, str(transition.target.id)))

        def on_enter_a(self, event: Event, source: Any, transition: Any) -> None:
            seen.append(("initial", str(event), str(source), str(transition)))

    sm = M()
    sm.go()
    assert seen == [
        ("initial", "__initial__", "None", "None"),
        ("exit", "a", "a", "b"),
        ("enter", "b", "a", "b", "b"),
    ]


def test_var_keyword_receives_event_data_and_standard_names() -> None:
    got: dict[str, Any] = {}

    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

        def on_go(self, amount: int, **kwargs: Any) -> None:
            got.update(kwargs, amount=amount)

    sm = M()
    sm.send("go", amount=1, note="x")
    assert got["amount"] == 1
    assert got["note"] == "x"
    assert got["event"] == "go"
    assert got["machine"] is sm
    assert got["source"] is M.a
    assert got["target"] is M.b
    assert "error" not in got


# -- guards -------------------------------------------------------------------------------------


def test_cond_and_unless_as_names_lists_and_callables() -> None:
    class M(StateChart):
        idle = State(initial=True)
        big = State()
        small = State()
        none = State()
        go = (
            idle.to(big, cond=["positive", lambda amount: amount > 10])
            | idle.to(small, cond="positive", unless="is_big")
            | idle.to(none)
        )
        reset = big.to(idle) | small.to(idle) | none.to(idle)

        def positive(self, amount: int = 0) -> bool:
            return amount > 0

        def is_big(self, amount: int = 0) -> bool:
            return amount > 10

    sm = M()
    sm.send("go", amount=20)
    assert sm.configuration == {"big"}
    sm.reset()
    sm.send("go", amount=5)
    assert sm.configuration == {"small"}
    sm.reset()
    sm.send("go", amount=-1)
    assert sm.configuration == {"none"}


def test_guard_expressions_properties_and_attributes() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, cond="ready and not (blocked or !enabled)")
        back = b.to(a)
        ready = True
        enabled = True

        @property
        def blocked(self) -> bool:
            return bool(self.__dict__.get("_blocked", False))

    sm = M()
    sm.__dict__["_blocked"] = True
    sm.go()
    assert sm.configuration == {"a"}
    sm.__dict__["_blocked"] = False
    sm.enabled = False  # instance attributes override class ones
    sm.go()
    assert sm.configuration == {"a"}
    sm.enabled = True
    sm.go()
    assert sm.configuration == {"b"}


def test_validators_refuse_an_event_by_raising_to_the_caller() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b, validators="check")
        back = b.to(a)

        def check(self, amount: int = 0) -> None:
            if amount < 0:
                raise ValueError("amount must be >= 0")

    sm = M()
    with pytest.raises(ValueError, match="must be >= 0"):
        sm.send("go", amount=-1)
    assert sm.configuration == {"a"}
    sm.send("go", amount=1)
    assert sm.configuration == {"b"}


# -- compound, parallel, history ------------------------------------------------------------------


class Shop(StateChart):
    class browsing(State.Compound, name="Browsing around"):
        catalog = State(initial=True)
        product = State()
        view = catalog.to(product)
        list_ = product.to(catalog)

        def on_enter_product(self) -> None:
            self.log.append("product")

    class checkout(State.Parallel):
        class payment(State.Compound):
            unpaid = State(initial=True)
            paid = State(final=True)
            pay = unpaid.to(paid)

        class shipping(State.Compound):
            pending = State(initial=True)
            shipped = State(final=True)
            ship = pending.to(shipped)

    complete = State(final=True)
    buy = browsing.to(checkout)
    done_state_checkout = checkout.to(complete)

    def __init__(self) -> None:
        self.log: list[str] = []
        super().__init__()

    def on_enter_state(self, state: State) -> None:
        self.log.append(f"+{state.id}")


def test_compound_states_enter_their_initial_child() -> None:
    sm = Shop()
    assert sm.configuration == {"browsing", "catalog"}
    assert Shop.browsing.name == "Browsing around"
    assert Shop.browsing.catalog.id == "catalog"
    assert Shop.browsing.catalog.parent is Shop.browsing
    sm.view()  # an event declared in the nested body is a trigger on the chart
    assert sm.configuration == {"browsing", "product"}
    assert "product" in sm.log  # a callback defined in the nested body
    sm.send("list_")
    assert sm.configuration == {"browsing", "catalog"}


def test_parallel_states_enter_every_region_and_complete_together() -> None:
    sm = Shop()
    sm.buy()
    assert sm.configuration == {"checkout", "payment", "unpaid", "shipping", "pending"}
    assert sm.log[-5:] == ["+checkout", "+payment", "+unpaid", "+shipping", "+pending"]
    sm.pay()
    assert sm.configuration == {"checkout", "payment", "paid", "shipping", "pending"}
    sm.ship()  # both regions final: done.state.checkout -> complete
    assert sm.configuration == {"complete"}
    assert sm.is_terminated
    assert sm.done


def test_multi_target_transition_into_parallel_regions() -> None:
    class M(StateChart):
        validate_final_reachability = False
        idle = State(initial=True)

        class both(State.Parallel):
            class left(State.Compound):
                l1 = State(initial=True)
                l2 = State()
                lgo = l1.to(l2)

            class right(State.Compound):
                r1 = State(initial=True)
                r2 = State()
                rgo = r1.to(r2)

        jump = idle.to([both.left.l2, both.right.r2])  # one transition, two targets
        reset = both.to(idle)

    sm = M()
    sm.jump()
    assert sm.configuration == {"both", "left", "l2", "right", "r2"}
    assert len(M.chart.nodes_by_id["idle"].transitions) == 1


def test_several_targets_are_several_transitions() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        c = State()
        go = a.to(b, c, cond=[lambda to: to is not None])  # a -> b and a -> c
        back = b.to(a) | c.to(a)

    assert [t.targets[0].id for t in M.chart.nodes_by_id["a"].transitions] == ["b", "c"]
    sm = M()
    sm.send("go", to="c")
    assert sm.configuration == {"b"}  # the first enabled transition wins


def _history_chart(kind: str) -> type[StateChart]:
    class M(StateChart):
        class work(State.Compound):
            h = HistoryState(type=kind)

            class a(State.Compound):
                a1 = State(initial=True)
                a2 = State()
                step = a1.to(a2)

            b = State()
            to_b = a.to(b)

        paused = State()
        pause = work.to(paused)
        resume = paused.to(work.h)

    return M


def test_deep_history_restores_the_deepest_leaf() -> None:
    sm = _history_chart("deep")()
    sm.step()
    sm.pause()
    assert sm.configuration == {"paused"}
    sm.resume()
    assert sm.configuration == {"work", "a", "a2"}


def test_shallow_history_reenters_the_remembered_child_by_default() -> None:
    sm = _history_chart("shallow")()
    sm.step()
    sm.pause()
    sm.resume()
    assert sm.configuration == {"work", "a", "a1"}


def test_history_default_transition() -> None:
    class M(StateChart):
        paused = State(initial=True)

        class work(State.Compound):
            a = State(initial=True)
            b = State()
            h = HistoryState()
            h.to(b)  # the default when there is no memory yet
            to_b = a.to(b)

        resume = paused.to(work.h)
        pause = work.to(paused)

    sm = M()
    sm.resume()
    assert sm.configuration == {"work", "b"}


def test_history_is_per_instance_and_survives_snapshot_and_restore() -> None:
    Chart = _history_chart("deep")
    sm = Chart()
    sm.step()
    sm.pause()
    other = Chart()
    other.pause()
    other.resume()
    assert other.configuration == {"work", "a", "a1"}  # not sm's memory

    snap = decode_snapshot(encode_snapshot(sm.snapshot()))
    restored = Chart.restore(snap)
    assert isinstance(restored, Chart)
    assert restored.configuration == {"paused"}
    restored.resume()
    assert restored.configuration == {"work", "a", "a2"}


def test_restore_runs_no_entry_callback_and_keeps_user_init() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

        def __init__(self, tag: str = "") -> None:
            self.tag = tag
            self.entered: list[str] = []
            super().__init__()

        def on_enter_state(self, state: State) -> None:
            self.entered.append(state.id)

    sm = M("x")
    sm.go()
    r = M.restore(sm.snapshot(), "y")
    assert r.tag == "y"
    assert r.entered == []
    assert r.configuration == {"b"}
    r.back()
    assert r.entered == ["a"]


# -- self-transitions and eventless transitions ---------------------------------------------------


class Selfish(StateChart):
    a = State(initial=True)
    b = State()
    external = a.to.itself(on="act")
    internal = a.to.itself(internal=True, on="act")
    targetless = a.to(None, on="act")
    go = a.to(b)
    back = b.to(a)

    def __init__(self) -> None:
        self.log: list[str] = []
        super().__init__()

    def act(self) -> None:
        self.log.append("act")

    def on_enter_a(self) -> None:
        self.log.append("+a")

    def on_exit_a(self) -> None:
        self.log.append("-a")


def test_external_self_transition_exits_and_reenters() -> None:
    sm = Selfish()
    sm.log.clear()
    sm.external()
    assert sm.log == ["-a", "act", "+a"]


def test_internal_self_transition_runs_actions_without_exit_or_entry() -> None:
    sm = Selfish()
    sm.log.clear()
    sm.internal()
    assert sm.log == ["act"]
    sm.log.clear()
    sm.targetless()
    assert sm.log == ["act"]
    assert sm.configuration == {"a"}


def test_internal_transition_to_a_descendant_keeps_the_parent() -> None:
    log: list[str] = []

    class M(StateChart):
        class p(State.Compound):
            x = State(initial=True)
            y = State()
            back = y.to(x)

        reset = p.to(p.y, internal=True)

        def on_exit_p(self) -> None:
            log.append("-p")

    sm = M()
    sm.reset()
    assert sm.configuration == {"p", "y"}
    assert log == []


def test_bare_transitions_are_eventless() -> None:
    class M(StateChart):
        idle = State(initial=True)
        busy = State()
        finished = State(final=True)
        start = idle.to(busy)
        busy.to(finished, cond="enough")  # no attribute: eventless
        tick = busy.to.itself(internal=True, on="count")

        def __init__(self) -> None:
            self.n = 0
            super().__init__()

        def count(self) -> None:
            self.n += 1

        def enough(self) -> bool:
            return self.n >= 2

    sm = M()
    sm.start()
    sm.tick()
    assert sm.configuration == {"busy"}
    sm.tick()  # the guard now holds: the eventless transition fires in the same macrostep
    assert sm.configuration == {"finished"}
    assert M.chart.nodes_by_id["busy"].transitions[0].eventless


# -- errors -------------------------------------------------------------------------------------


def test_error_execution_carries_the_exception_as_error() -> None:
    got: list[Any] = []

    class M(StateChart):
        a = State(initial=True)
        b = State()
        failed = State()
        go = a.to(b, on="boom")
        back = b.to(a) | failed.to(a)
        error_execution = Event(b.to(failed), id="error.execution")

        def boom(self) -> None:
            raise ValueError("bad input")

        def on_enter_failed(self, error: Exception, event: Event, **kwargs: Any) -> None:
            got.extend([error, str(event), kwargs["event_data"].data])

    sm = M()
    sm.go()
    assert sm.configuration == {"failed"}
    assert isinstance(got[0], ValueError)
    assert str(got[0]) == "bad input"
    assert getattr(M, "error.execution") is M.error_execution
    assert got[1:] == ["error.execution", {"error": "bad input"}]


def test_error_attribute_names_declare_the_dotted_event() -> None:
    log: list[str] = []

    class M(StateChart):
        a = State(initial=True)
        failed = State()
        go = a.to.itself(on="boom")
        error_execution = a.to(failed)  # declares error_execution and error.execution
        back = failed.to(a)

        def boom(self) -> None:
            raise RuntimeError("x")

        def on_error_execution(self, error: Exception) -> None:
            log.append(f"on_error_execution {error}")

    sm = M()
    sm.go()
    assert sm.configuration == {"failed"}
    assert log == ["on_error_execution x"]
    assert getattr(M, "error.execution") == "error.execution"
    assert M.error_execution == "error_execution"


def test_after_event_is_a_finalize_hook_and_each_callback_is_its_own_block() -> None:
    log: list[str] = []

    class M(StateChart):
        idle = State(initial=True)
        working = State()
        failed = State()
        start = idle.to(working, on=["first", "second"])
        back = working.to(idle) | failed.to(idle)
        error_execution = working.to(failed)

        def first(self) -> None:
            raise RuntimeError("first failed")

        def second(self) -> None:
            log.append("second still runs")

        def on_enter_working(self) -> None:
            log.append("entered")

        def after_start(self) -> None:
            log.append("after_start")

        def on_enter_failed(self, error: Exception) -> None:
            log.append(f"failed: {error}")

    sm = M()
    sm.start()
    assert log == ["second still runs", "entered", "after_start", "failed: first failed"]
    assert sm.configuration == {"failed"}


def test_a_failing_guard_raises_error_execution_and_counts_as_false() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        failed = State()
        go = a.to(b, cond="explode")
        back = b.to(a) | failed.to(a)
        error_execution = a.to(failed)

        def explode(self) -> bool:
            raise KeyError("k")

    sm = M()
    sm.go()
    assert sm.configuration == {"failed"}


def test_unhandled_errors_never_escape_send() -> None:
    class M(StateChart):
        a = State(initial=True)
        go = a.to.itself(on=lambda: 1 / 0)

    sm = M()
    sm.go()
    assert sm.configuration == {"a"}


def test_catch_errors_as_events_false_propagates() -> None:
    class M(StateChart):
        catch_errors_as_events = False
        a = State(initial=True)
        b = State()
        go = a.to(b, on="boom")
        back = b.to(a)

        def boom(self) -> None:
            raise RuntimeError("propagates")

    sm = M()
    with pytest.raises(RuntimeError, match="propagates"):
        sm.go()

    class Entry(StateChart):
        catch_errors_as_events = False
        a = State(initial=True, enter=lambda: 1 / 0)
        go = a.to.itself()

    with pytest.raises(ZeroDivisionError):
        Entry()


# -- send and raise_ ------------------------------------------------------------------------------


def test_raise_inside_a_callback_runs_before_external_events() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        c = State()
        go = a.to(b)
        internal_next = b.to(c)
        external_next = c.to(a) | b.to(a)

        def __init__(self) -> None:
            self.log: list[str] = []
            super().__init__()

        def on_enter_b(self) -> None:
            self.send("external_next")  # queued after this macrostep
            self.raise_("internal_next")  # processed in this macrostep, first
            self.log.append("b entered")

        def on_enter_c(self) -> None:
            self.log.append("c")

        def on_enter_a(self) -> None:
            self.log.append("a")

    sm = M()
    sm.log.clear()
    sm.go()
    assert sm.log == ["b entered", "c", "a"]
    assert sm.configuration == {"a"}


def test_raise_outside_a_callback_is_a_send() -> None:
    sm = Toggle()
    sm.raise_("flip")
    assert sm.configuration == {"on"}


def test_delayed_send_in_milliseconds_and_cancel() -> None:
    sm = Toggle(clock=VirtualClock())
    sm.send("flip", delay=500)
    assert sm.configuration == {"off"}
    assert sm.next_due == 0.5
    sm.advance(0.5)
    assert sm.configuration == {"on"}
    sm.send("flip", delay=100, send_id="later")
    sm.cancel_event("later")
    sm.advance(1)
    assert sm.configuration == {"on"}


def test_send_with_internal_true_from_a_callback() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        c = State()
        go = a.to(b)
        nxt = b.to(c)
        back = c.to(a)

        def on_enter_b(self) -> None:
            self.send("nxt", internal=True)

    sm = M()
    sm.go()
    assert sm.configuration == {"c"}


def test_donedata_becomes_the_done_event_data() -> None:
    got: list[Any] = []

    class M(StateChart):
        class p(State.Compound):
            x = State(initial=True)
            y = State(final=True, donedata="payload")
            fin = x.to(y)

        z = State(final=True)
        done_state_p = p.to(z, on=lambda total: got.append(total))  # noqa: PLW0108 - injected by name

        def payload(self) -> dict[str, int]:
            return {"total": 7}

    sm = M()
    sm.fin()
    assert got == [7]
    assert sm.configuration == {"z"}


def test_from_and_from_any() -> None:
    class M(StateChart):
        a = State(initial=True)
        b = State()
        c = State()
        go = b.from_(a)
        nxt = c.from_(b)
        reset = a.from_.any()

    sm = M()
    sm.go()
    sm.nxt()
    assert sm.configuration == {"c"}
    sm.reset()
    assert sm.configuration == {"a"}


def test_subclasses_inherit_states_without_leaking_into_siblings() -> None:
    class Base(StateChart):
        a = State(initial=True)
        b = State()
        go = a.to(b)
        back = b.to(a)

    class One(Base):
        c = State()
        more = Base.b.to(c)
        again = c.to(Base.a)

    class Two(Base):
        d = State()
        other = Base.b.to(d)
        again = d.to(Base.a)

    one, two = One(), Two()
    one.go()
    one.more()
    assert one.configuration == {"c"}
    two.go()
    two.send("more")  # One's event: not part of Two
    assert two.configuration == {"b"}
    two.other()
    assert two.configuration == {"d"}
    assert Base.chart.state_ids == ("a", "b")
    assert Two.chart.state_ids == ("a", "b", "d")


def test_an_abstract_chart_cannot_be_instantiated() -> None:
    class Mixin(StateChart):
        def on_enter_state(self) -> None:
            pass

    with pytest.raises(ChartDefinitionError, match="declares no states"):
        Mixin()


# -- definition errors --------------------------------------------------------------------------


def _define(body: str) -> None:
    """Define ``C`` and create an instance (python-statemachine reports a callback name that
    neither the class, its model nor a listener defines when an instance is created)."""
    ns = {"State": State, "StateChart": StateChart, "Event": Event, "HistoryState": HistoryState}
    exec(body, ns)
    ns["C"]()


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State(initial=True)\n"
            " go = a.to(b) | b.to(a)",
            "C.b",
            "one and only one initial state",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b, cond='nope') | b.to(a)",
            "C.go.cond",
            "unknown guard 'nope'",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b, on='nope') | b.to(a)",
            "C.go.on",
            "unknown callback 'nope'",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State(final=True)\n"
            " go = a.to(b)\n back = b.to(a)",
            "C.b",
            "final state 'b' cannot have outgoing transitions",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n go = a.to(b)",
            "C.b",
            "at least one outgoing transition",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n c = State()\n"
            " go = a.to(b) | b.to(a) | c.to(a)",
            "C.c",
            "unreachable states",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b, internal=True) | b.to(a)",
            "C.go",
            "should be the source itself or a descendant",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n h = HistoryState()\n go = a.to(h)",
            "C.h",
            "inside a compound state",
        ),
        (
            "class C(StateChart):\n class p(State.Compound):\n  x = State()\n"
            "  h = HistoryState(type='sideways')\n q = State()\n go = p.to(q) | q.to(p.h)",
            "C.p.h",
            "'shallow' or 'deep'",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " send = a.to(b) | b.to(a)",
            "C.send",
            "reserved",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n go = a.to(State('Stray'))",
            "C.go",
            "not declared in C",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b) | b.to(a)\n def on_enter_b(): pass",
            "C.b.enter",
            "needs a 'self' parameter",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b, cond='ready +') | b.to(a)",
            "C.go.cond",
            "invalid guard expression",
        ),
        (
            "class C(StateChart):\n a = State(initial=True)\n b = State()\n"
            " go = a.to(b, on='label') | b.to(a)\n label = 'text'",
            "C.go.on",
            "not callable",
        ),
        (
            "class C(StateChart):\n class p(State.Compound):\n  x = State()\n"
            "  def on_enter_x(self): pass\n q = State()\n go = p.to(q) | q.to(p)\n"
            " def on_enter_x(self): pass",
            "C.on_enter_x",
            "share the class namespace",
        ),
        (
            "class C(StateChart):\n a = State(initial=True, donedata='x')\n b = State()\n"
            " go = a.to(b) | b.to(a)\n def x(self): pass",
            "C.a",
            "donedata can only be given to final states",
        ),
        (
            "class C(StateChart):\n go = Event(id='go')",
            "C.go",
            "no states",
        ),
    ],
)
def test_definition_errors_name_the_class_and_attribute(body: str, path: str, message: str) -> None:
    with pytest.raises(ChartDefinitionError, match=message) as info:
        _define(body)
    assert info.value.path == path
    assert str(info.value).startswith(path)


def test_event_ids_must_be_strings() -> None:
    with pytest.raises(ChartDefinitionError, match="non-string id"):
        Event(id=3)  # type: ignore[arg-type]


def test_definition_checks_can_be_turned_off() -> None:
    class Loose(StateChart):
        validate_trap_states = False
        validate_disconnected_states = False
        a = State(initial=True)
        b = State()
        c = State()
        go = a.to(b)

    sm = Loose()
    sm.go()
    assert sm.configuration == {"b"}
