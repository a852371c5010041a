"""Actors quick start: order actors, a payment service, a timeout, ask and wait_for.

Three orders run as actors of one chart (an XState-style config). Checking out invokes an async
payment service; its return value is ``onDone``, its exception ``onError``, and an ``after``
timer gives up on a payment that hangs (leaving the state cancels the service). Everything runs
on a virtual clock: the 30 s timeout passes instantly and the output is the same on every run.

Run: python examples/actors_quickstart.py
"""

from __future__ import annotations

from typing import Any

import anyio

from statefleet import ActorRef, ActorSystem, VirtualClock, from_dict

ORDER = {
    "id": "order",
    "initial": "cart",
    "context": {"items": [], "total": 0, "tx": None, "reason": None},
    "states": {
        "cart": {
            "on": {
                "ADD": {"actions": "addItem"},
                "CHECKOUT": {"target": "paying", "guard": "hasItems"},
            }
        },
        "paying": {
            "entry": "announceCharge",
            "invoke": {
                "id": "payment",
                "src": "chargeCard",
                "onDone": {"target": "paid", "actions": "recordPayment"},
                "onError": {"target": "declined", "actions": "recordFailure"},
            },
            "after": {"30000": {"target": "timedOut", "actions": "recordTimeout"}},
        },
        "paid": {"type": "final"},
        "declined": {"type": "final"},
        "timedOut": {"type": "final"},
    },
}

#: how each test card behaves: seconds the bank takes, and whether it declines
CARDS = {"4242": (2.0, False), "4000": (1.0, True), "5555": (3600.0, False)}
#: each order's card and cart (sku, price)
ORDERS = {
    "order-1": ("4242", [("book", 20), ("pen", 5)]),
    "order-2": ("4000", [("lamp", 45)]),
    "order-3": ("5555", [("mug", 12), ("tea", 8)]),
}


class Shop:
    """The actions, guards and services the config names (found by name, as in XState)."""

    def addItem(self, context: dict[str, Any], event: Any) -> None:
        context["items"] = [*context["items"], event["sku"]]
        context["total"] += event["price"]

    def hasItems(self, context: dict[str, Any], event: Any) -> bool:
        return bool(context["items"])

    def announceCharge(self, actor: ActorRef, context: dict[str, Any], event: Any, _: Any) -> None:
        # under the actor runtime, the first argument of actions and services is the actor
        print(f"t={actor.system.now:g}s {actor.id}: charging {context['total']} EUR")

    async def chargeCard(self, actor: ActorRef, context: dict[str, Any], event: Any) -> Any:
        delay, declines = CARDS[context["card"]]
        try:
            await actor.system.sleep(delay)  # the bank's latency, on the system clock
        except anyio.get_cancelled_exc_class():
            print(f"t={actor.system.now:g}s {actor.id}: payment cancelled")
            raise
        if declines:
            raise RuntimeError("card declined")
        return {"tx": f"TX-{actor.id}"}

    def recordPayment(self, actor: ActorRef, context: dict[str, Any], event: Any, _: Any) -> None:
        context["tx"] = event.data["tx"]
        print(f"t={actor.system.now:g}s {actor.id}: paid, {context['tx']}")

    def recordFailure(self, actor: ActorRef, context: dict[str, Any], event: Any, _: Any) -> None:
        context["reason"] = str(event.data)
        print(f"t={actor.system.now:g}s {actor.id}: {context['reason']}")

    def recordTimeout(self, actor: ActorRef, context: dict[str, Any], event: Any, _: Any) -> None:
        context["reason"] = "payment timed out"
        print(f"t={actor.system.now:g}s {actor.id}: {context['reason']}")


order = from_dict(ORDER, logic=Shop())


async def main() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        refs = []
        for order_id, (card, cart) in ORDERS.items():
            ref = system.spawn(order, id=order_id, context={"card": card})
            for sku, price in cart:
                # ask: send, and get the snapshot after that event's macrostep
                snap = await ref.ask("ADD", sku=sku, price=price)
            print(f"{ref.id}: {snap.context['items']} total {snap.context['total']} EUR")
            refs.append(ref)

        for ref in refs:
            await ref.send("CHECKOUT")

        # wait_for: a state id (with a timeout in system-clock seconds) ...
        snap = await refs[0].wait_for("order.paid", timeout=60)
        print(f"{refs[0].id}: {', '.join(snap.configuration)}, status {refs[0].status}")
        # ... or a predicate over the snapshot
        finals = ("order.paid", "order.declined", "order.timedOut")
        for ref in refs[1:]:
            snap = await ref.wait_for(lambda s: any(f in s.configuration for f in finals))
            print(f"{ref.id}: {', '.join(snap.configuration)}, status {ref.status}")

        print(f"virtual time elapsed: {system.now:g}s")


if __name__ == "__main__":
    anyio.run(main)
