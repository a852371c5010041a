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
    """A real SQLite store whose recovery reads fail while their counts last (a lost disk, a
    lock): ``due_failures`` times the timer query, ``pending_failures`` times the inbox one."""

    def __init__(self, path: Path, due_failures: int = 0, pending_failures: int = 0) -> None:
        super().__init__(path)
        self.due_failures = due_failures
        self.pending_failures = pending_failures

    async def due_actors(self, until: float, limit: int = 1000) -> Any:
        if self.due_failures:
            self.due_failures -= 1
            raise PersistenceError("disk I/O error (injected)")
        return await super().due_actors(until, limit)

    async def pending_actors(self) -> list[str]:
        if self.pending_failures:
            self.pending_failures -= 1
            raise PersistenceError("disk I/O error (injected)")
        return await super().pending_actors()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("failures", [1, 3])
async def test_a_failed_wake_up_is_tried_again_and_the_timer_fires(
    tmp_path: Path, failures: int
) -> None:
    store = FlakyStore(tmp_path / "fleet.db")
    async with ActorSystem(
        store=store, charts=[CHART], clock=VirtualClock(0.0), idle_timeout=2
    ) as system:
        ref = system.ref(CHART, "o1")
        await ref.ask("WAIT")
        await system.sleep(5)
        assert not ref.is_active  # passivated, its timer due at t=10 in the store
        # the store fails from now on (not during the start's recovery, which also reads
        # the due timers when it finds one)
        store.due_failures = failures
        await system.sleep(60)
        snap = await ref.snapshot()
        assert store.due_failures == 0
        assert snap.configuration == ("order.timedout",)
        # retried after 1 s, then 2 s, 4 s: late by the backoff, never lost
        assert snap.context["timed_out_at"] == {1: 11.0, 3: 17.0}[failures]


@pytest.mark.parametrize("failing", ["pending_failures", "due_failures"])
async def test_a_failed_recovery_is_tried_again(tmp_path: Path, failing: str) -> None:
    # an order passivated in "waiting" with its timeout due at t=10, and the process gone
    async with ActorSystem(
        store=SQLiteStore(tmp_path / "fleet.db"),
        charts=[CHART],
        clock=VirtualClock(0.0),
        idle_timeout=2,
    ) as system:
        ref = system.ref(CHART, "o1")
        await ref.ask("WAIT")
        await system.sleep(5)
        assert not ref.is_active
    # started again at t=20: the recovery's first read fails; tried again 1 s later, it
    # activates the order, whose overdue timer fires at once
    store = FlakyStore(tmp_path / "fleet.db", **{failing: 1})
    async with ActorSystem(
        store=store, charts=[CHART], clock=VirtualClock(20.0), idle_timeout=100
    ) as system:
        await system.sleep(5)
        assert getattr(store, failing) == 0
        ref = system.ref(CHART, "o1")
        assert ref.is_active  # recovered by the retry, not by this look
        snap = await ref.snapshot()
        assert snap.configuration == ("order.timedout",)
        assert snap.context["timed_out_at"] == 21.0
