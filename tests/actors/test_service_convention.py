"""One callback convention for services (issue 12 item 6): the same ``Invocation`` handed to
a service by a sync ``Session``, ``statefleet simulate`` and an ``ActorSystem``, with the same
``id``, ``data``, ``parent``, ``cancelled`` and ``send``."""

from __future__ import annotations

import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.core import Session, VirtualClock

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
