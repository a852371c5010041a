"""A class chart (``StateChart`` subclass) run as durable actors, for the restart test.

``python _class_order.py DB start`` creates ``by-ref`` (``system.ref(Order, id)``) and
``by-spawn`` (``system.spawn(Order(), id=...)``), adds items to both, prints ``ready`` and
waits forever: the test kills the process there. ``python _class_order.py DB resume`` opens
a system with ``charts=[Order]``, checks both out and prints what their callbacks saw, as JSON.
"""

from __future__ import annotations

import json
import sys

import anyio

from statefleet import State, StateChart
from statefleet.actors import ActorSystem
from statefleet.persistence import SQLiteStore


class Order(StateChart):
    """An order whose amount and items are fields (annotated: stored in every commit)."""

    id = "class-order"
    amount: int = 0
    items: list[str] = []
    receipt: str = ""

    open = State(initial=True)
    paid = State(final=True)

    add = open.to.itself(internal=True)
    checkout = open.to(paid)

    def on_add(self, item: str, price: int) -> None:
        self.amount += price
        self.items.append(item)  # a mutable field changed in place is stored too

    def on_enter_paid(self) -> None:
        # ``self`` is the Order instance (not an actor handle), its fields restored
        self.receipt = f"{type(self).__name__}: {', '.join(self.items)} = {self.amount}"


async def main(db: str, mode: str) -> None:
    async with ActorSystem(store=SQLiteStore(db), charts=[Order]) as system:
        if mode == "start":
            ref = system.ref(Order, "by-ref")
            await ref.ask("add", item="book", price=12)
            await ref.ask("add", item="pen", price=3)
            live = system.spawn(Order(), id="by-spawn")
            await live.ask("add", item="lamp", price=40)
            print("ready", flush=True)
            await anyio.sleep_forever()  # killed here
        out = {}
        for entity in ("by-ref", "by-spawn"):
            snap = await system.ref(Order, entity).ask("checkout")
            out[entity] = {"configuration": list(snap.configuration), **snap.context}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], backend="asyncio")
