"""A store failure while waking passivated actors for their timers is retried: one failed
timer query used to leave no wake-up armed, so no passivated actor's timer fired again until
the next recovery (an order stuck in ``paying`` with its timeout overdue)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statefleet import from_dict
from statefleet.actors import ActorSystem
from statefleet.core import PersistenceError, VirtualClock
from statefleet.persistence import SQLiteStore

pytestmark = pytest.mark.anyio

CHART = from_dict(
    {
        "id": "order",
        "initial": "placing",
        "context": {"timed_out_at": None},
        "states": {
            "placing": {"on": {"WAIT": "waiting"}},
            "waiting": {"after": {"10000": {"target": "timedout", "actions": "stamp"}}},
            "timedout": {},
        },
    },
    actions={"stamp": lambda i, ctx, e, a: ctx.update(timed_out_at=i.system.now)},
)


class FlakyStore(SQLiteStore):
    """A real SQLite store whose timer query fails ``failures`` times (a lost disk, a lock)."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    async def due_actors(self, until: float, limit: int = 1000) -> Any:
        if self.failures:
            self.failures -= 1
            raise PersistenceError("disk I/O error (injected)")
        return await super().due_actors(until, limit)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("failures", [1, 3])
async def test_a_failed_wake_up_is_tried_again_and_the_timer_fires(
    tmp_path: Path, failures: int
) -> None:
    store = FlakyStore(tmp_path / "fleet.db", failures)
    async with ActorSystem(
        store=store, charts=[CHART], clock=VirtualClock(0.0), idle_timeout=2
    ) as system:
        ref = system.ref(CHART, "o1")
        await ref.ask("WAIT")
        await system.sleep(5)
        assert not ref.is_active  # passivated, its timer due at t=10 in the store
        await system.sleep(60)
        snap = await ref.snapshot()
        assert store.failures == 0
        assert snap.configuration == ("order.timedout",)
        # retried after 1 s, then 2 s, 4 s: late by the backoff, never lost
        assert snap.context["timed_out_at"] == {1: 11.0, 3: 17.0}[failures]
