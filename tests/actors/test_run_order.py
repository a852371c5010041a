"""An actor's run takes its events in mailbox order and no more of them than its batch,
however the dispatcher shortcuts a run of the same event (issue 16: the shared event of a
``send_nowait(name)`` runs in a loop of its own)."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import VirtualClock
from statefleet.actors import ActorSystem
from statefleet.core import EventData
from tests.actors._charts import S, T, chart

pytestmark = pytest.mark.anyio


def logger(log: list[Any]) -> Any:
    """A chart whose every event ``a``, ``b``, ``c`` appends (actor id, event name, data)."""

    def note(ctx: Any) -> None:
        log.append((ctx.session_id, ctx.event.name, ctx.event.data))

    return chart(
        S("s", on=[T("a", actions=(note,)), T("b", actions=(note,)), T("c", actions=(note,))])
    )


async def test_a_run_takes_its_events_in_mailbox_order() -> None:
    log: list[Any] = []
    sent: list[Any] = ["a", "a", "a", EventData("b", {"i": 1}), "a", "a", "c", "a", "c", "c"]
    sent += ["a"] * 5 + [EventData("a", sendid="s-1")] + ["a"] * 3
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(logger(log), id="x")
        for item in sent:
            ref.send_nowait(item)  # all queued first: one run takes them
        await system.wait_idle()
    expected = [
        ("x", item if type(item) is str else item.name, None if type(item) is str else item.data)
        for item in sent
    ]
    assert log == expected


@pytest.mark.parametrize("batch", [1, 2, 4])
async def test_a_busy_actor_lets_the_next_one_run_after_its_batch(batch: int) -> None:
    log: list[Any] = []
    async with ActorSystem(clock=VirtualClock(), batch=batch) as system:
        refs = [system.spawn(logger(log), id=name) for name in ("x", "y")]
        for ref in refs:
            for _ in range(10):
                ref.send_nowait("a")
        await system.wait_idle()
    order = [actor for actor, _, _ in log]
    expected: list[str] = []
    left = {"x": 10, "y": 10}
    while any(left.values()):
        for actor in ("x", "y"):
            k = min(batch, left[actor])
            expected += [actor] * k
            left[actor] -= k
    assert order == expected
