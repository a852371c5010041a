"""python-statemachine 3 class definitions: what its users declare compiles the same way."""

from __future__ import annotations

from statefleet import State, StateChart


def _workflow_with_cancel_from_any() -> type[StateChart]:
    # the transition is declared outside the class body, then assigned to an event
    draft = State(initial=True)
    submitted = State()
    canceled = State(final=True)
    cancel_any = canceled.from_.any()

    class Workflow(StateChart):
        validate_final_reachability = False
        draft_ = draft
        submitted_ = submitted
        canceled_ = canceled
        submit = draft.to(submitted)
        back = submitted.to(draft)
        cancel = cancel_any

    return Workflow


def _order_in_a_function() -> type[StateChart]:
    class Order(StateChart):
        pending = State(initial=True)
        paid = State()
        canceled = State(final=True)

        pay = pending.to(paid)
        refund = paid.to(pending)
        cancel = canceled.from_.any()

    return Order


def test_from_any_outside_a_class_body_does_not_leak_into_later_classes() -> None:
    workflow = _workflow_with_cancel_from_any()()
    workflow.submit()
    workflow.cancel()
    assert workflow.configuration_values == {"canceled_"}

    class Later(StateChart):
        a = State(initial=True)
        b = State(final=True)
        go = a.to(b)

    later = Later()
    later.go()
    assert later.is_terminated


def test_a_class_defined_twice_by_a_function_compiles_each_time() -> None:
    first, second = _order_in_a_function(), _order_in_a_function()
    assert first is not second
    for cls in (first, second):
        sm = cls()
        sm.pay()
        sm.cancel()
        assert sm.configuration_values == {"canceled"}
        # the copies of ``cancel`` are this class's own: one per non-final state
        assert sorted(t.source.id for t in cls.chart.transitions if "cancel" in t.descriptors) == [
            "paid",
            "pending",
        ]
