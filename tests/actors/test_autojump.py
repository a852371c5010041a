"""A virtual clock must not jump over real work in progress (issue 12, item 6): with
``autojump=<threshold>`` time jumps only once the system has stayed idle that many real
seconds, like trio's ``MockClock(autojump_threshold=...)``.

An order's payment service awaits real I/O (an ``anyio.sleep`` of real time, standing for an
HTTP call); its state gives up after 30 s of system time. With a threshold the payment wins;
with plain autojump the virtual clock jumps to the timeout while the service is awaiting.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import ActorError, AfterSpec, InvokeSpec, TransitionSpec, VirtualClock
from tests.core._build import S, T, chart

pytestmark = pytest.mark.anyio


async def _pay(inv: Any) -> str:
    await anyio.sleep(0.01)  # real I/O: not on the system clock
    return "ok"


ORDER = chart(
    S("idle", on=[T("pay", "paying")]),
    S(
        "paying",
        invokes=[InvokeSpec(id="payment", src=_pay)],
        on=[T("done.invoke.payment", "paid")],
        after=[AfterSpec(delay=30, transition=TransitionSpec(target=("timed_out",)))],
    ),
    S("paid", kind="final"),
    S("timed_out", kind="final"),
    id="order",
)


async def test_with_a_threshold_time_does_not_jump_over_real_io() -> None:
    async with ActorSystem(clock=VirtualClock(), autojump=1.0) as system:
        ref = system.spawn(ORDER, id="o")
        await ref.ask("pay")
        snap = await ref.wait_for(lambda s: s.status == "done", timeout=3600)
    assert snap.configuration == ("paid",)
    assert system.now < 30  # the timeout never fired


async def test_without_one_time_jumps_at_once() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(ORDER, id="o")
        await ref.ask("pay")
        snap = await ref.wait_for(lambda s: s.status == "done", timeout=3600)
    assert snap.configuration == ("timed_out",)


async def test_the_threshold_is_checked() -> None:
    with pytest.raises(ActorError, match="autojump must be"):
        ActorSystem(clock=VirtualClock(), autojump=-1)
