"""An order paying through an invoked service, for the recovery test.

``python _paying.py DB start`` sends ``checkout`` to ``order-1`` (its ``paying`` state invokes
the payment service, which prints ``invoked`` and then waits forever: the test kills the
process there). ``python _paying.py DB resume`` only opens the system: recovery must restart
the invocation by itself (the service prints ``invoked`` again and now completes), the order
reaches ``completed`` and the program prints its configuration and the recovery log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import anyio

from statefleet.actors import ActorInvocation, ActorSystem
from statefleet.core import (
    AfterSpec,
    ChartSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.persistence import SQLiteStore

MODE = sys.argv[2] if len(sys.argv) > 2 else "start"


async def pay(inv: ActorInvocation) -> dict[str, Any]:
    print("invoked", flush=True)
    assert STARTED is not None
    STARTED.set()
    if MODE == "start":
        await anyio.sleep_forever()  # the process is killed while the payment runs
    return {"paid": inv.data["amount"]}


ORDER = compile_chart(
    ChartSpec(
        id="order",
        version="1",
        states=[
            StateSpec(
                id="cart",
                transitions=[TransitionSpec(event=("checkout",), target=("paying",))],
            ),
            StateSpec(
                id="paying",
                invokes=[InvokeSpec(id="payment", src=pay, params=lambda ctx: {"amount": 42})],
                transitions=[TransitionSpec(event=("done.invoke.payment",), target=("completed",))],
                # the payment is given an hour: the order must not time out on restart
                after=[AfterSpec(delay=3600, transition=TransitionSpec(target=("cancelled",)))],
            ),
            StateSpec(id="completed", kind="final"),
            StateSpec(id="cancelled", kind="final"),
        ],
    )
)

STARTED: anyio.Event | None = None


async def main(db: str) -> None:
    global STARTED
    STARTED = anyio.Event()
    records: list[str] = []
    recovered = anyio.Event()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            records.append(message)
            if "recover" in message:
                recovered.set()  # logged once recovery is over (the order may finish first)

    logging.getLogger("statefleet").addHandler(Keep())
    logging.getLogger("statefleet").setLevel(logging.INFO)
    async with ActorSystem(store=SQLiteStore(db), charts=[ORDER]) as system:
        if MODE == "start":
            await system.ref(ORDER, "order-1").send("checkout")
            await anyio.sleep_forever()
        with anyio.fail_after(20):  # a bound for a failure, not a wait for time to pass
            await STARTED.wait()
        ref = system.get("order-1")
        assert ref is not None
        snap = await ref.wait_for(lambda s: s.status == "done", timeout=60)
        with anyio.fail_after(20):  # a bound for a failure, not a wait for time to pass
            await recovered.wait()
        out = {
            "configuration": sorted(snap.configuration),
            "recovery": [r for r in records if "recover" in r],
        }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
