"""A chart whose payment service is written once against ``Invocation``: the tests run it in a
sync ``Session``, ``statefleet simulate`` (``tests.actors._service_chart:order_chart``) and an
``ActorSystem``."""

from __future__ import annotations

from typing import Any

from statefleet.core import (
    Chart,
    ChartSpec,
    Invocation,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

#: what each run of the service saw: (is an Invocation, id, parent, data, cancelled)
SEEN: list[tuple[bool, str, str, Any, bool]] = []


async def charge(inv: Invocation) -> dict[str, Any]:
    """The service: the same code under every driver."""
    SEEN.append((isinstance(inv, Invocation), inv.id, inv.parent, inv.data, inv.cancelled))
    inv.send("noted", amount=inv.data["amount"])
    return {"charged": inv.data["amount"]}


def order_chart() -> Chart:
    """An order whose ``paying`` state invokes :func:`charge`."""
    return compile_chart(
        ChartSpec(
            id="service-order",
            states=[
                StateSpec(
                    id="cart",
                    transitions=[TransitionSpec(event=("checkout",), target=("paying",))],
                ),
                StateSpec(
                    id="paying",
                    invokes=[
                        InvokeSpec(id="payment", src=charge, params=lambda ctx: {"amount": 42})
                    ],
                    transitions=[
                        TransitionSpec(event=("noted",)),
                        TransitionSpec(event=("done.invoke.payment",), target=("paid",)),
                    ],
                ),
                StateSpec(id="paid", kind="final"),
            ],
        )
    )
