"""Durable actors on a SQLite file: a send returns once the event is durable, an ask once the
macrostep it caused is committed. Run it twice: the second run finds the order shipped."""

import asyncio
import os
import tempfile

import statefleet
from statefleet.actors import ActorSystem
from statefleet.persistence import SQLiteStore

order_chart = statefleet.from_dict(
    {
        "id": "order",
        "initial": "cart",
        "states": {
            "cart": {"on": {"pay": "paid"}},
            "paid": {"on": {"ship": "shipped"}},
            "shipped": {"type": "final"},
        },
    }
)


async def main(path: str) -> None:
    async with ActorSystem(store=SQLiteStore(path), charts=[order_chart]) as system:
        if await system.exists("order-1042"):
            print("already stored:", (await system.ref(order_chart, "order-1042").read()).status)
            return
        order = system.ref(order_chart, "order-1042")  # in memory or not
        await order.send("pay", amount=30)  # returns once the event is durable
        snapshot = await order.ask("ship")  # returns once its macrostep is committed
        print(snapshot.configuration, snapshot.status)


with tempfile.TemporaryDirectory() as folder:
    db = os.path.join(folder, "fleet.db")
    asyncio.run(main(db))
    asyncio.run(main(db))  # a second process (here: a second system) finds it stored
