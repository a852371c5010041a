"""The store hook: each macrostep is committed before its effects run; a failed commit is a
crash that restarts the actor from the last committed snapshot."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import ActorError, EventData, PersistenceError, Snapshot, VirtualClock
from statefleet.actors import ActorCrashedError, ActorStore, ActorSystem, Supervision
from statefleet.core import ActorRestarted, SendEffect
from tests.actors._charts import Recorder, S, T, chart, inc

pytestmark = pytest.mark.anyio


class ListStore:
    """Keeps every commit; can be told to fail the next one."""

    def __init__(self, trace: list[str]) -> None:
        self.trace = trace
        self.commits: list[tuple[str, int, str | None, int | None, tuple[Any, ...]]] = []
        self.fail_next = False

    async def commit_step(
        self,
        actor_id: str,
        snapshot: Snapshot,
        *,
        previous: Snapshot | None,
        event: EventData | None,
        effects: tuple[Any, ...],
    ) -> None:
        await anyio.lowlevel.checkpoint()  # a real store awaits its writer here
        if self.fail_next:
            self.fail_next = False
            raise PersistenceError("disk full")
        self.commits.append(
            (
                actor_id,
                snapshot.version,
                event.name if event is not None else None,
                previous.version if previous is not None else None,
                effects,
            )
        )
        self.trace.append(f"commit {actor_id} v{snapshot.version}")


def pair(trace: list[str]) -> tuple[Any, Any]:
    sender = chart(
        S(
            "s",
            on=[
                T("go", actions=(inc("n"), lambda ctx: ctx.send("hello", target="rx"))),
                T("inc", actions=(inc("n"),)),
            ],
        ),
        id="tx",
        data={"n": 0},
    )
    receiver = chart(
        S("r", on=[T("hello", actions=(lambda ctx: trace.append("rx got hello"),))]), id="rx"
    )
    return sender, receiver


async def test_every_macrostep_commits_before_its_effects_run() -> None:
    trace: list[str] = []
    store = ListStore(trace)
    assert isinstance(store, ActorStore)
    sender, receiver = pair(trace)
    async with ActorSystem(clock=VirtualClock(), store=store) as system:
        system.spawn(receiver, id="rx")
        tx = system.spawn(sender, id="tx")
        snap = await tx.ask("go")
        trace.append("ask returned")
        assert snap.version == 1
        await system.wait_idle()
    assert trace.index("commit tx v1") < trace.index("ask returned")
    assert trace.index("commit tx v1") < trace.index("rx got hello")
    # the receiver's own (synchronous) action runs inside its macrostep, before its commit
    assert trace.index("rx got hello") < trace.index("commit rx v1")
    tx_commits = [c for c in store.commits if c[0] == "tx"]
    assert [(v, ev, prev) for _, v, ev, prev, _ in tx_commits] == [(0, None, None), (1, "go", 0)]
    (send,) = tx_commits[1][4]
    assert isinstance(send, SendEffect) and send.target == "rx"


async def test_a_failed_commit_restarts_from_the_last_committed_snapshot() -> None:
    trace: list[str] = []
    store = ListStore(trace)
    rec = Recorder()
    sender, receiver = pair(trace)
    sup = Supervision(jitter=0.0)
    async with ActorSystem(
        clock=VirtualClock(), store=store, listeners=[rec], supervision=sup
    ) as system:
        system.spawn(receiver, id="rx")
        tx = system.spawn(sender, id="tx")
        await tx.ask("inc")
        store.fail_next = True
        with pytest.raises(ActorCrashedError, match="disk full"):
            await tx.ask("go")  # computed but never committed: its send never happens
        snap = await tx.ask("inc")
        assert snap.context["n"] == 2  # 1 committed + this one; the uncommitted "go" is gone
        await system.wait_idle()
    assert "rx got hello" not in trace
    (r,) = rec.of(ActorRestarted)
    assert r.from_version == 1 and "disk full" in r.error


async def test_a_store_must_implement_the_hook() -> None:
    with pytest.raises(ActorError, match="commit_step"):
        ActorSystem(store=object())  # type: ignore[arg-type]
