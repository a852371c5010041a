"""An order with a payment service, written for python-statemachine 3, run on statefleet.

The class uses python-statemachine's API (``StateChart``, ``State(invoke=...)``,
``done_invoke_<state>``, ``error_execution``, a model-free chart with annotated fields) and
statefleet's ``State(after=...)``. It runs in process, is snapshotted and restored with its
data, then runs as an actor whose async payment service is really awaited.

Run: python examples/psm_order_service.py
"""

from __future__ import annotations

import anyio

from statefleet import ActorSystem, decode_snapshot, encode_snapshot
from statefleet.compat.psm import InvokeContext, State, StateChart


async def charge_card(ctx: InvokeContext, amount: int = 0) -> str:
    """The payment service: a real one would call the payment provider's API."""
    if amount <= 0:
        raise ValueError(f"cannot charge {amount}")
    await anyio.sleep(0)  # the provider's API: only an actor (or async code) awaits this
    return f"tx-{ctx.machine.order_id}-{amount}"


class OrderChart(StateChart):
    # persisted with the snapshot (annotated fields live in the datamodel)
    order_id: str = ""
    tx: str | None = None
    attempts: int = 0

    cart = State(initial=True, after={1800: "abandon"})
    paying = State(invoke=charge_card)
    paid = State()
    shipped = State(final=True)
    abandoned = State(final=True)

    checkout = cart.to(paying) | paying.to.itself(internal=True)
    abandon = cart.to(abandoned)
    done_invoke_paying = paying.to(paid)
    ship = paid.to(shipped)
    error_execution = paying.to(cart)

    def __init__(self, order_id: str = "", **kwargs: object) -> None:
        self.order_id = order_id
        super().__init__(**kwargs)

    def on_checkout(self) -> None:
        self.attempts += 1

    def on_enter_paid(self, data: str) -> None:
        self.tx = data
        print(f"{self.order_id}: paid ({data}) after {self.attempts} attempt(s)")

    def on_enter_cart(self, error: Exception | None = None) -> None:
        if error is not None:
            print(f"{self.order_id}: payment failed: {error}")


# in process: an abandoned cart on the virtual clock
order = OrderChart("o-1")
order.advance(1800)
print("o-1:", sorted(order.configuration_values))

# a failed payment, then snapshot and restore: the configuration and the fields come back
order = OrderChart("o-2")
order.checkout(amount=0)  # the service runs inline and fails: back in the cart
stored = encode_snapshot(order.snapshot(), format="json")
again = OrderChart.restore(decode_snapshot(stored, format="json"))
print("o-2:", again.order_id, "attempts", again.attempts, sorted(again.configuration_values))


async def main() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(OrderChart("o-3"), id="o-3")
        await ref.send("checkout", amount=42)  # the async service is awaited by the actor
        await ref.wait_for("paid")
        await ref.send("ship")


anyio.run(main)
