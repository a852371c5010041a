"""Model state of a class chart: annotated fields persist in snapshots and come back."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from statefleet import ActorSystem, Session, VirtualClock, decode_snapshot, encode_snapshot
from statefleet.compat.psm import State, StateChart


class OrderChart(StateChart):
    order_id: str = ""
    amount: int = 0
    tx: str | None = None
    notes: list[str] = []
    currency: ClassVar[str] = "EUR"  # class data, not persisted

    pending = State(initial=True)
    paid = State()
    shipped = State(final=True)

    pay = pending.to(paid)
    ship = paid.to(shipped)

    def __init__(self, order_id: str = "", **kwargs: Any) -> None:
        self.order_id = order_id
        self.scratch = "not persisted"  # not annotated: a plain attribute
        super().__init__(**kwargs)

    def on_pay(self, amount: int, tx: str) -> None:
        self.amount = amount
        self.tx = tx
        self.notes.append(f"paid {amount}")


def test_fields_set_in_init_and_in_callbacks_are_in_the_snapshot() -> None:
    order = OrderChart("o-1")
    order.pay(amount=30, tx="tx-9")
    snap = order.snapshot()
    assert snap.context == {"order_id": "o-1", "amount": 30, "tx": "tx-9", "notes": ["paid 30"]}
    assert "currency" not in snap.context and "scratch" not in snap.context


def test_restoring_brings_the_fields_back_on_a_fresh_instance() -> None:
    order = OrderChart("o-1")
    order.pay(amount=30, tx="tx-9")
    stored = encode_snapshot(order.snapshot(), format="json")

    again = OrderChart.restore(decode_snapshot(stored, format="json"))
    assert isinstance(again, Session)
    assert again.configuration_values == {"paid"}
    assert (again.order_id, again.amount, again.tx, again.notes) == ("o-1", 30, "tx-9", ["paid 30"])
    again.notes.append("shipped")  # a mutable field changed in place persists
    again.ship()
    assert again.snapshot().context["notes"] == ["paid 30", "shipped"]


def test_restore_keeps_the_snapshot_values_over_init_defaults() -> None:
    order = OrderChart("o-2")
    order.pay(amount=5, tx="t")
    # __init__ assigns order_id="" again: the snapshot's value wins
    again = OrderChart.restore(order.snapshot())
    assert again.order_id == "o-2"


def test_defaults_are_per_instance() -> None:
    a, b = OrderChart("a"), OrderChart("b")
    a.notes.append("x")
    assert b.notes == []
    assert OrderChart.amount == 0


def test_the_context_mapping_persists_too() -> None:
    order = OrderChart("o-3", context={"customer": "ada"})
    order.context["vip"] = True
    again = OrderChart.restore(order.snapshot())
    assert again.context["customer"] == "ada" and again.context["vip"] is True


class Entered(StateChart):
    log: list[str] = []
    a = State(initial=True)
    b = State(final=True)
    go = a.to(b)

    def on_enter_state(self, state: State) -> None:
        self.log.append(state.id)


def test_for_entity_builds_an_unstarted_instance_or_restores_one() -> None:
    fresh = Entered.for_entity("e-1")
    assert fresh.log == [] and fresh.session_id == "e-1"
    assert fresh.initial_context == {}
    order = OrderChart.for_entity("o-9", order_id="o-9")
    assert order.initial_context == {"order_id": "o-9"}

    started = Entered()
    assert started.log == ["a"]
    resumed = Entered.for_entity("e-1", started.snapshot())
    assert resumed.log == ["a"] and resumed.configuration_values == {"a"}  # no entry ran
    resumed.go()
    assert resumed.log == ["a", "b"]


@pytest.mark.anyio
async def test_fields_live_in_the_actors_datamodel() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(OrderChart("o-5"), id="o-5")
        snap = await ref.ask("pay", amount=12, tx="tx-5")
        assert snap.context["amount"] == 12 and snap.context["order_id"] == "o-5"
    again = OrderChart.restore(snap)
    assert (again.amount, again.tx, again.notes) == (12, "tx-5", ["paid 12"])
