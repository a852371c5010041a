"""Class charts as durable actors: a ``StateChart`` subclass on a real SQLite file, its
fields surviving a SIGKILL of the process that ran it, by ``ref`` and by ``spawn``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statefleet import ActorError, State, StateChart
from statefleet.actors import ActorSystem
from statefleet.persistence import SQLiteStore

from ._killed import kill_at, output, run

PROGRAM = Path(__file__).with_name("_class_order.py")


def test_class_chart_fields_survive_sigkill_by_ref_and_by_spawn(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    kill_at(run(PROGRAM, db, "start"), "ready")
    out = output(run(PROGRAM, db, "resume"))
    assert json.loads(out) == {
        "by-ref": {
            "configuration": ["paid"],
            "amount": 15,
            "items": ["book", "pen"],
            "receipt": "Order: book, pen = 15",
        },
        "by-spawn": {
            "configuration": ["paid"],
            "amount": 40,
            "items": ["lamp"],
            "receipt": "Order: lamp = 40",
        },
    }


class Counter(StateChart):
    id = "class-counter"
    count: int = 0
    on = State(initial=True)
    bump = on.to.itself(internal=True)

    def __init__(self, start: int = 0, **kwargs: object) -> None:
        self.count = start  # assigned before super().__init__(): the initial datamodel
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def on_bump(self) -> None:
        self.count += 1

    @classmethod
    def for_entity(cls, entity_id: str, snapshot: object = None, /, **kwargs: object) -> Counter:
        # constructor arguments derived from the entity id (the documented override)
        return super().for_entity(entity_id, snapshot, start=int(entity_id.split("-")[1]))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_for_entity_builds_each_actor_one_instance_that_is_self(make_store: Any) -> None:
    async with ActorSystem(store=make_store()) as system:
        ref = system.ref(Counter, "counter-10")
        snap = await ref.ask("bump")
        assert snap.context == {"count": 11}
        assert (await system.ref(Counter, "counter-10").ask("bump")).context == {"count": 12}
    async with ActorSystem(store=make_store(), charts=[Counter]) as system:
        # restored from the store: the stored count wins over the constructor's
        assert (await system.ref(Counter, "counter-10").ask("bump")).context == {"count": 13}


@pytest.mark.anyio
async def test_an_instance_is_driven_by_one_actor_only(make_store: Any) -> None:
    async with ActorSystem(store=make_store()) as system:
        chart = Counter()
        system.spawn(chart, id="a")
        with pytest.raises(ActorError, match="already driven by an actor"):
            system.spawn(chart, id="b")
        assert system.get("b") is None


def test_charts_refuses_what_is_not_a_chart(tmp_path: Path) -> None:
    with pytest.raises(ActorError, match="compiled Chart or a chart class"):
        ActorSystem(store=SQLiteStore(tmp_path / "c.db"), charts=[object])
