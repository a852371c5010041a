"""One callback convention for services (issue 12 item 6): the same ``Invocation`` handed to
a service by a sync ``Session``, ``statefleet simulate`` and an ``ActorSystem``, with the same
``id``, ``data``, ``parent``, ``cancelled`` and ``send``."""

from __future__ import annotations

import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.core import (
    ChartSpec,
    Invocation,
    InvokeSpec,
    Session,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)

from . import _service_chart
from ._service_chart import SEEN, order_chart

EXPECTED_DATA = {"amount": 42}


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    SEEN.clear()


def test_a_session_hands_the_service_the_shared_invocation() -> None:
    session = Session(order_chart(), session_id="order-1")
    session.send("checkout")
    assert session.configuration == {"paid"}
    assert SEEN == [(True, "payment", "order-1", EXPECTED_DATA, False)]


def test_simulate_hands_the_service_the_shared_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = f"{_service_chart.__name__}:order_chart"
    assert main(["simulate", ref, "--event", "checkout"]) == 0
    assert "paid" in capsys.readouterr().out
    ((is_invocation, invokeid, parent, data, cancelled),) = SEEN
    assert (is_invocation, invokeid, data, cancelled) == (True, "payment", EXPECTED_DATA, False)
    assert isinstance(parent, str) and parent


@pytest.mark.anyio
async def test_an_actor_hands_the_service_the_shared_invocation() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(order_chart(), id="order-1")
        await ref.send("checkout")
        await ref.wait_for(lambda s: s.status == "done")
    assert SEEN == [(True, "payment", "order-1", EXPECTED_DATA, False)]


@pytest.mark.anyio
async def test_a_service_sees_cancelled_once_its_state_is_left() -> None:
    seen: list[bool] = []

    async def wait_for_ever(inv: Invocation) -> None:
        seen.append(inv.cancelled)
        try:
            await inv.receive()
        finally:
            seen.append(inv.cancelled)
            inv.send("late")  # dropped: the invocation is over

    chart = compile_chart(
        ChartSpec(
            id="waiting",
            states=[
                StateSpec(
                    id="busy",
                    invokes=[InvokeSpec(id="w", src=wait_for_ever)],
                    transitions=[TransitionSpec(event=("stop",), target=("idle",))],
                ),
                StateSpec(
                    id="idle",
                    transitions=[TransitionSpec(event=("late",), target=("busy",))],
                ),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(chart, id="w-1")
        await system.wait_idle()
        await ref.send("stop")
        await system.wait_idle()
        assert ref.snapshot().configuration == ("idle",)
    assert seen == [False, True]
