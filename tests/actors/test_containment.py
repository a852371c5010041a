"""Whatever a chart's code raises stays inside its actor (issue 12, item 3).

A class chart with ``catch_errors_as_events = False`` whose transition validator rejects an
event makes the class DSL raise the validator's exception out of the engine (through a
private ``BaseException``); under actors that must crash only that actor (its supervisor
restarts it), never the system, on asyncio and on trio.
"""

from __future__ import annotations

import pytest

from statefleet import State, StateChart
from statefleet.actors import ActorCrashedError, ActorSystem
from statefleet.core import VirtualClock

pytestmark = pytest.mark.anyio


class Payment(StateChart):
    catch_errors_as_events = False

    pending = State(initial=True)
    paid = State()

    pay = pending.to(paid, validators="positive")
    refund = paid.to(pending)

    def positive(self, amount: int = 0) -> None:
        if amount <= 0:
            raise ValueError(f"amount must be positive, not {amount}")


async def test_a_rejecting_validator_crashes_only_its_actor() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        other = system.spawn(Payment(), id="other")
        ref = system.spawn(Payment(), id="p-1")
        with pytest.raises(ActorCrashedError, match="amount must be positive, not -5"):
            await ref.ask("pay", amount=-5)
        # the system runs on: the actor is restarted in its state before the event ...
        await ref.wait_for("pending", timeout=60)
        snap = await ref.ask("pay", amount=10)
        assert snap.configuration == ("paid",)
        # ... and the other actors never noticed
        assert (await other.ask("pay", amount=1)).configuration == ("paid",)


async def test_a_rejecting_validator_with_send_nowait_does_not_stop_the_system() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(Payment(), id="p-2")
        ref.send_nowait("pay", amount=0)
        ref.send_nowait("pay", amount=3)  # dropped with the batch the crash ended
        await system.wait_idle()
        await ref.wait_for("pending", timeout=60)
        assert (await ref.ask("pay", amount=3)).configuration == ("paid",)
