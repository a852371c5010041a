"""The demo's fleet: order actors on a SQLite file (run as a child process by the demo).

``python -m statefleet.demo.fleet DB ACKLOG ORDERS SEED`` places ORDERS orders (skipping those
already acknowledged in ACKLOG), appends each acknowledged ``PLACE`` to ACKLOG right after
``send`` returned, prints progress as JSON lines, waits until every order has ended, and prints
a JSON summary (``{"summary": ...}``) checked against the ledger.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from collections import Counter
from typing import Any

import anyio

from statefleet import from_dict
from statefleet.actors import ActorSystem
from statefleet.core import ActorRestarted, Chart, InvocationFailed, MacrostepRecord, Record
from statefleet.persistence import SQLiteStore

#: seconds: how long a payment may take before the order gives up on that attempt
PAYMENT_TIMEOUT = 0.4
MAX_ATTEMPTS = 3

ORDER = {
    "id": "order",
    "initial": "placing",
    "context": {"placed": 0, "attempts": 0, "refund": False, "amount": 0},
    "states": {
        "placing": {"on": {"PLACE": {"target": "paying", "actions": "recordPlace"}}},
        "paying": {
            "entry": "countAttempt",
            "invoke": {
                "id": "payment",
                "src": "chargeCard",
                "onDone": "charged",
                "onError": [
                    {"target": "cancelled", "guard": "outOfAttempts"},
                    {"target": "retrying"},
                ],
            },
            "after": {
                "PAYMENT_TIMEOUT": [
                    {"target": "cancelled", "guard": "outOfAttempts"},
                    {"target": "retrying"},
                ]
            },
        },
        "retrying": {"after": {"BACKOFF": "paying"}},
        "charged": {
            "always": [{"target": "refunding", "guard": "customerWantsRefund"}],
            "after": {"SETTLE": [{"target": "glitch", "guard": "transientBug"}, "paid"]},
        },
        "glitch": {"always": [{"target": "glitch", "guard": "transientBug"}, "paid"]},
        "refunding": {"invoke": {"id": "refund", "src": "refundCard", "onDone": "refunded"}},
        "paid": {"type": "final"},
        "cancelled": {"type": "final"},
        "refunded": {"type": "final"},
    },
}
FINAL = {"order.paid": "paid", "order.cancelled": "cancelled", "order.refunded": "refunded"}

#: orders whose runtime hits a transient bug once (an eventless loop: InfiniteLoopError); the
#: supervisor restarts them from their last committed snapshot and they carry on
_BUGGY: set[str] = set()


def _outcome(order: str, attempt: int, seed: int) -> str:
    roll = random.Random(f"{seed}:{order}:{attempt}").random()
    if roll < 0.15:
        return "declined"
    if roll < 0.25:
        return "hangs"
    return "ok"


class Logic:
    """Actions, guards, services and delays of the order chart (seed 001's logic object)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.PAYMENT_TIMEOUT = int(PAYMENT_TIMEOUT * 1000)
        self.BACKOFF = 50
        self.SETTLE = 100

    def recordPlace(self, interpreter: Any, context: Any, event: Any, action_def: Any) -> None:
        context["placed"] += 1
        context["amount"] = event.data.get("amount", 0)
        context["order"] = event.data["order"]
        context["refund"] = random.Random(f"refund:{event.data['order']}").random() < 0.05
        if random.Random(f"bug:{self.seed}:{event.data['order']}").random() < 0.005:
            _BUGGY.add(event.data["order"])

    def countAttempt(self, interpreter: Any, context: Any, event: Any, action_def: Any) -> None:
        context["attempts"] += 1

    def outOfAttempts(self, context: Any, event: Any) -> bool:
        return bool(context["attempts"] >= MAX_ATTEMPTS)

    def customerWantsRefund(self, context: Any, event: Any) -> bool:
        return bool(context["refund"])

    def transientBug(self, context: Any, event: Any) -> bool:
        return context.get("order") in _BUGGY

    async def chargeCard(self, interpreter: Any, context: Any, event: Any) -> dict[str, str]:
        outcome = _outcome(context["order"], context["attempts"], self.seed)
        await anyio.sleep(0.005)
        if outcome == "declined":
            raise RuntimeError("card declined")
        if outcome == "hangs":
            await anyio.sleep(3600)  # cancelled when the PAYMENT_TIMEOUT timer fires
        return {"tx": f"TX-{context['order']}-{context['attempts']}"}

    async def refundCard(self, interpreter: Any, context: Any, event: Any) -> dict[str, bool]:
        await anyio.sleep(0.005)
        return {"refunded": True}


def order_chart(seed: int = 2026) -> Chart:
    """The order chart with its logic bound."""
    return from_dict(ORDER, logic=Logic(seed))


class Tally:
    """A listener counting what the fleet did (final states, restarts, handled errors)."""

    record_types = (MacrostepRecord, ActorRestarted, InvocationFailed)

    def __init__(self, ended_log: int | None = None) -> None:
        #: where each order that ends is written (its id, a line): the records of a step are
        #: published only after the step is committed, so across a kill no order is reported
        #: twice (a step reported before the kill is never taken again after it)
        self.ended_log = ended_log
        self.ended: dict[str, str] = {}
        self.macrosteps = 0
        self.restarts = 0
        self.declined = 0
        self.timeouts = 0

    def on_record(self, record: Record) -> None:
        """Count one record."""
        if isinstance(record, MacrostepRecord):
            self.macrosteps += 1
            ev = record.event
            if ev is not None and ev.name.startswith("error.invoke.payment"):
                self.declined += 1
            if (
                ev is not None
                and ev.name.startswith("$after")
                and "order.paying" in record.configuration_before
            ):
                self.timeouts += 1
            for sid in record.configuration_after:
                if sid in FINAL:
                    if record.actor not in self.ended and self.ended_log is not None:
                        os.write(self.ended_log, f"{record.actor}\n".encode())
                    self.ended[record.actor] = FINAL[sid]
        elif isinstance(record, ActorRestarted):
            self.restarts += 1
            _BUGGY.discard(record.actor)  # the bug was transient


def _acked(path: str) -> set[str]:
    try:
        with open(path) as f:
            return {line.strip() for line in f if line.strip()}
    except FileNotFoundError:
        return set()


async def run(db: str, ack_path: str, orders: int, seed: int) -> dict[str, Any]:
    """Place the orders not acknowledged yet, wait for every order to end, summarize."""
    chart = order_chart(seed)
    ended_fd = os.open(ack_path + ".ended", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    tally = Tally(ended_fd)
    already = _acked(ack_path)
    todo = [f"o{i:05d}" for i in range(orders) if f"o{i:05d}" not in already]
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.perf_counter()
    async with ActorSystem(
        store=SQLiteStore(db, durability="normal"), charts=[chart], listeners=[tally]
    ) as system:
        print(json.dumps({"ready": True, "resumed": len(already)}), flush=True)
        placed = len(already)
        # orders a previous run already reported ended count here too: the progress goes on
        # from where that run stopped instead of restarting at 0
        ended_before = _acked(ack_path + ".ended")

        async def report() -> None:
            while True:
                ended = len(ended_before | tally.ended.keys())
                print(json.dumps({"placed": placed, "ended": ended}), flush=True)
                await anyio.sleep(0.2)

        async def place(chunk: list[str]) -> None:
            nonlocal placed
            for oid in chunk:
                amount = random.Random(oid).randint(5, 500)
                await system.ref(chart, oid).send("PLACE", order=oid, amount=amount)
                os.write(fd, f"{oid}\n".encode())  # acknowledged: durably accepted
                placed += 1

        async with anyio.create_task_group() as tg:
            tg.start_soon(report)
            async with anyio.create_task_group() as senders:
                for k in range(16):
                    senders.start_soon(place, todo[k::16])
            # what is left are payments that hang until their `after` timeout gives up on them
            print(json.dumps({"waiting": True}), flush=True)
            # every acknowledged order must reach a final state
            ledger = sorted(already | set(todo))
            for oid in ledger:
                await system.ref(chart, oid).wait_for(
                    lambda snap: snap.status == "done", timeout=120
                )
            tg.cancel_scope.cancel()
        # an order whose last step was committed just before the kill, and whose records the
        # killed process had no time to publish, is reported now, once: the listener saw it
        # in neither run (records are published after the commit, never before)
        reported = _acked(ack_path + ".ended")
        for oid in ledger:
            if oid not in reported and oid not in tally.ended:
                os.write(ended_fd, f"{oid}\n".encode())
        # the ledger check: each acknowledged PLACE applied exactly once
        counts: Counter[int] = Counter()
        twice: list[str] = []
        ends: Counter[str] = Counter()
        for oid in sorted(_acked(ack_path)):
            ref = system.ref(chart, oid)
            s = await ref.wait_for(lambda snap: snap.status == "done", timeout=120)
            counts[s.context["placed"]] += 1
            if s.context["placed"] != 1:
                twice.append(oid)
            ends[FINAL[s.configuration[-1]]] += 1
    elapsed = time.perf_counter() - start
    return {
        "orders": orders,
        "acknowledged": len(_acked(ack_path)),
        "applied_once": counts[1],
        "not_exactly_once": twice,
        "final": dict(ends),
        "macrosteps": tally.macrosteps,
        "elapsed": elapsed,
        "restarts": tally.restarts,
        "declined": tally.declined,
        "timeouts": tally.timeouts,
    }


def main(argv: list[str]) -> int:
    """Entry point of the child process."""
    # the supervisor logs every crash with its traceback; the demo counts restarts instead
    logging.getLogger("statefleet").setLevel(logging.CRITICAL)
    db, ack_path, orders, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    summary = anyio.run(run, db, ack_path, orders, seed)
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
