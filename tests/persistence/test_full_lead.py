"""A durable send with ``durability="full"`` from one client starts its batch in the send
itself when the store's writer is idle, instead of one loop iteration later (issue 16: that
iteration lay between two fsyncs). What that shortcut must keep: a send returns only once its
step is on disk, a failed write is never acknowledged (test_written_at_once.py), and clients
that send together still share one transaction (one fsync) per round."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.persistence import SQLiteStore

from ._iterations import CountingSelector, run_counting, stored_version
from .conftest import COUNTER


def test_a_full_send_returns_once_its_step_is_on_disk_in_two_loop_iterations(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.db"
    n = 60

    async def main() -> tuple[list[tuple[int, int]], float]:
        seen: list[tuple[int, int]] = []
        async with ActorSystem(store=SQLiteStore(db, durability="full")) as system:
            ref = system.ref(COUNTER, "a")
            await ref.activate()
            await system.wait_idle()
            first = (await ref.snapshot()).version
            selects = CountingSelector.selects
            for i in range(n):
                await ref.send("inc")
                seen.append((stored_version(db, "a"), first + i + 1))
                # an event nothing takes: settled inside its batch, committing nothing
                await ref.send("nothing")
                seen.append((stored_version(db, "a"), first + i + 1))
            per_send = (CountingSelector.selects - selects) / n
            assert (await ref.snapshot()).context["n"] == n
        return seen, per_send

    seen, per_send = run_counting(main)
    for on_disk, expected in seen:
        assert on_disk == expected
    # per "inc": the thread's completion, then the client's task, which starts the next
    # batch itself (2); per "nothing": one yield (1). The batch's own ``call_soon`` made the
    # first 3
    assert per_send <= 3.05, per_send


@pytest.mark.parametrize("clients", [2, 10, 200])
def test_clients_that_send_together_still_share_a_transaction_per_round(
    tmp_path: Path, clients: int
) -> None:
    # the clients' steps are committed together, so they resume together: if the first to
    # resume started its batch alone, the others would form the next one, and from then on
    # the two groups would alternate, one transaction (one fsync) each per round
    db = tmp_path / "fleet.db"
    rounds = 5

    async def main() -> tuple[int, list[int]]:
        store = SQLiteStore(db, durability="full")
        async with ActorSystem(store=store) as system:
            refs = [system.ref(COUNTER, f"c{i}") for i in range(clients)]
            async with anyio.create_task_group() as tg:
                for r in refs:
                    tg.start_soon(r.activate)
            await system.wait_idle()
            batches = store.stats["batches"]

            async def client(i: int) -> None:
                for _ in range(rounds):
                    await refs[i].send("inc")

            async with anyio.create_task_group() as tg:
                for i in range(clients):
                    tg.start_soon(client, i)
            await system.wait_idle()
            counts = [(await r.snapshot()).context["n"] for r in refs]
            return store.stats["batches"] - batches, counts

    written, counts = run_counting(main)
    assert counts == [rounds] * clients
    assert written <= rounds, written
