"""The cluster primitives of PostgresStore: shards, members, shard leases and fencing.

Two stores in one process play two nodes; lease time runs on a shared virtual clock, so a
lease expires when the test says so. The last test pauses a real node process with SIGSTOP
past its (real-time) lease: when it resumes, its commit is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import anyio
import asyncpg
import pytest

from statefleet.core import EventData, VirtualClock
from statefleet.persistence import (
    CommitResult,
    FencedError,
    PostgresStore,
    make_commit,
    shard_of,
)
from statefleet.persistence._pgserver import TempPostgres

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio

SHARDS = 8


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1000.0)


@pytest.fixture
def node(pg_server: TempPostgres, pg_schema: str, clock: VirtualClock) -> Any:
    def make(name: str | None, **options: Any) -> PostgresStore:
        options.setdefault("lease_time", 10.0)
        return PostgresStore(
            pg_server.dsn, schema=pg_schema, node=name, shards=SHARDS, clock=clock.now, **options
        )

    return make


def _ids_in_shard(shard: int, n: int) -> list[str]:
    out = [f"order-{i}" for i in range(10_000) if shard_of(f"order-{i}", SHARDS) == shard]
    return out[:n]


# -- shards ----------------------------------------------------------------------------------
def test_shards_are_a_stable_hash_of_the_entity_id() -> None:
    # pinned: the same in every process, machine and release (data on disk depends on it)
    assert [shard_of(f"order-{i}", 256) for i in range(5)] == [209, 61, 155, 8, 90]
    assert shard_of("\u00e9", 1024) == 303
    counts = [0] * SHARDS
    for i in range(4000):
        counts[shard_of(f"order-{i}", SHARDS)] += 1
    assert min(counts) > 400  # spread over every shard
    # invoked children live with their entity
    assert shard_of("order-7/payment", 256) == shard_of("order-7", 256)
    assert shard_of("order-7/payment/retry", 256) == shard_of("order-7", 256)
    with pytest.raises(ValueError, match="positive int"):
        shard_of("x", 0)


# -- leases and fencing ------------------------------------------------------------------------
async def test_a_node_commits_only_for_the_shards_it_holds(node: Any) -> None:
    (mine,) = _ids_in_shard(0, 1)
    (other,) = _ids_in_shard(1, 1)
    async with node("a") as a:
        assert a.cluster is not None
        assert await a.cluster.acquire([0]) == {0: 1}
        assert await a.cluster.acquire([0]) == {}  # held already: kept at its epoch
        assert a.cluster.held == {0: 1}
        await a.commit(make_commit(mine, initial(), previous=None))
        with pytest.raises(FencedError, match="does not hold the shard's lease") as info:
            await a.commit(make_commit(other, initial(), previous=None))
        assert (info.value.actor_id, info.value.shard, info.value.node) == (other, 1, "a")
        assert (await a.load(other)).record is None
        # in one batch only the unfenced commit goes through
        results = await a.commit_many(
            [
                make_commit(other, initial(), previous=None),
                make_commit(mine + "/child", initial(), previous=None),
            ]
        )
        assert [type(r).__name__ for r in results] == ["FencedError", "CommitResult"]


async def test_deletes_quarantines_and_rejections_are_fenced_too(node: Any) -> None:
    (aid,) = _ids_in_shard(2, 1)
    async with node("a") as a, node("b") as b:
        assert a.cluster is not None and b.cluster is not None
        await b.cluster.acquire([2])
        await b.commit(make_commit(aid, initial(), previous=None))
        await b.accept(aid + "-ghost", EventData("x"))
        with pytest.raises(FencedError, match="does not hold"):
            await a.delete(aid)
        with pytest.raises(FencedError):
            await a.quarantine(aid, "looked odd")
        with pytest.raises(FencedError):
            await a.reject_inbox(aid + "-ghost", "no such actor")
        seq = await b.accept(aid, EventData("poison"))
        with pytest.raises(FencedError):
            await a.reject_event(aid, seq, "cannot be processed")
        assert [e.seq for e in await b.inbox(aid)] == [seq]
        # nothing changed
        loaded = await b.load(aid)
        assert loaded.record is not None
        assert loaded.record.status == "active"
        assert len(await b.inbox(aid + "-ghost")) == 1
        assert await b.dead_letters() == []
        await b.delete(aid)  # the owner may
        assert (await b.load(aid)).record is None


async def test_a_node_past_its_lease_is_fenced_by_the_next_owner(
    node: Any, clock: VirtualClock
) -> None:
    (aid,) = _ids_in_shard(3, 1)
    async with node("a") as a, node("b") as b:
        assert a.cluster is not None and b.cluster is not None
        assert await a.cluster.acquire(range(SHARDS)) == dict.fromkeys(range(SHARDS), 1)
        s0 = initial()
        await a.commit(make_commit(aid, s0, previous=None))
        seq = await a.accept(aid, EventData("inc"))
        assert await b.cluster.acquire([3]) == {}  # a holds it
        # a pauses past its lease; b takes the shard at a later epoch
        clock.set(1011.0)
        assert await b.cluster.acquire([3]) == {3: 2}
        s1 = COUNTER.transition(s0, "inc").snapshot
        late = make_commit(aid, s1, previous=s0, consumed=[seq], deliveries=[("x", EventData("y"))])
        with pytest.raises(FencedError, match="now held by 'b' at epoch 2") as info:
            await a.commit(late)
        assert (info.value.epoch, info.value.owner, info.value.current_epoch) == (1, "b", 2)
        # nothing of the refused commit was written
        loaded = await b.load(aid)
        assert loaded.record is not None
        assert loaded.record.version == 0
        assert [e.seq for e in loaded.inbox] == [seq]
        assert await b.inbox("x") == []
        # the new owner commits; the old one learns it lost the shard
        assert isinstance(await b.commit(late), CommitResult)
        assert 3 in await a.cluster.renew()
        assert 3 not in a.cluster.held


async def test_an_expired_lease_fences_its_owner_until_it_acquires_again(
    node: Any, clock: VirtualClock
) -> None:
    (aid,) = _ids_in_shard(2, 1)
    async with node("a") as a:
        assert a.cluster is not None
        await a.cluster.acquire([2])
        clock.set(1010.0)
        with pytest.raises(FencedError, match="the lease expired"):
            await a.commit(make_commit(aid, initial(), previous=None))
        assert await a.cluster.renew() == {2}  # too late to renew
        assert await a.cluster.acquire([2]) == {2: 2}
        await a.commit(make_commit(aid, initial(), previous=None))


async def test_renewing_keeps_the_lease_past_its_first_term(node: Any, clock: VirtualClock) -> None:
    (aid,) = _ids_in_shard(5, 1)
    async with node("a") as a, node("b") as b:
        assert a.cluster is not None and b.cluster is not None
        await a.cluster.acquire([5])
        for t in (1005.0, 1010.0, 1015.0, 1020.0):
            clock.set(t)
            assert await a.cluster.renew() == set()
            assert await b.cluster.acquire([5]) == {}
        await a.commit(make_commit(aid, initial(), previous=None))
        (lease,) = await a.cluster.leases()
        assert (lease.shard, lease.owner, lease.epoch, lease.expires_at) == (5, "a", 1, 1030.0)
        assert lease.age == 20.0
        assert not lease.expired


async def test_a_node_restarted_under_its_name_takes_its_shards_back_at_once(
    node: Any,
) -> None:
    (aid,) = _ids_in_shard(1, 1)
    async with node("web-1") as old, node("web-1") as new:
        assert old.cluster is not None and new.cluster is not None
        assert await old.cluster.acquire([1]) == {1: 1}
        await old.commit(make_commit(aid, initial(), previous=None))
        # the restarted process takes its own shard without waiting for the expiry...
        assert await new.cluster.acquire([1]) == {1: 2}
        # ...and the old one, if it still runs, is fenced
        with pytest.raises(FencedError, match="held by 'web-1' at epoch 2"):
            await old.commit(make_commit(aid + "/x", initial(), previous=None))
        await new.commit(make_commit(aid + "/x", initial(), previous=None))


async def test_a_clean_stop_hands_the_shards_over_at_once(node: Any) -> None:
    async with node("a") as a, node("b") as b:
        assert a.cluster is not None and b.cluster is not None
        await a.cluster.join("web-1 pid 42")
        await a.cluster.acquire([0, 1])
        await b.cluster.acquire([2])
        assert [m.node for m in await b.cluster.members()] == ["a", "b"]
        await a.cluster.leave()
        assert [m.node for m in await b.cluster.members()] == ["b"]
        assert await b.cluster.acquire([0, 1]) == {0: 2, 1: 2}  # no wait for an expiry
        leases = await b.cluster.leases()
        assert [(x.shard, x.owner, x.epoch) for x in leases] == [
            (0, "b", 2),
            (1, "b", 2),
            (2, "b", 1),
        ]


async def test_members_report_their_heartbeats(node: Any, clock: VirtualClock) -> None:
    async with node("a") as a, node("b") as b:
        assert a.cluster is not None and b.cluster is not None
        await a.cluster.join("pid 1")
        await b.cluster.join("pid 2")
        clock.set(1004.0)
        await b.cluster.renew()  # renewing is a heartbeat
        members = {m.node: m for m in await a.cluster.members()}
        assert members["a"].heartbeat_age == 4.0
        assert members["b"].heartbeat_age == 0.0
        assert members["a"].info == "pid 1"


async def test_a_node_cannot_acquire_shards_that_do_not_exist(node: Any) -> None:
    async with node("a") as a:
        assert a.cluster is not None
        with pytest.raises(ValueError, match=r"shard 8 is not in 0\.\.7"):
            await a.cluster.acquire([8])
        with pytest.raises(ValueError, match="shard -1"):
            await a.cluster.acquire([-1])
        assert await a.cluster.leases() == []


async def test_a_store_without_a_node_has_no_cluster_and_no_fence(
    node: Any, clock: VirtualClock
) -> None:
    async with node(None) as plain, node("a") as a:
        assert plain.cluster is None
        assert a.cluster is not None
        await a.cluster.join("pid 7")
        await a.cluster.acquire([1, 2])
        await plain.commit(make_commit("x", initial(), previous=None))  # version checks only
        # any store sees the cluster (for inspection)
        clock.set(1003.0)
        assert [(x.shard, x.owner, x.epoch, x.age) for x in await plain.leases()] == [
            (1, "a", 1, 3.0),
            (2, "a", 1, 3.0),
        ]
        assert [(m.node, m.info, m.heartbeat_age) for m in await plain.members()] == [
            ("a", "pid 7", 3.0)
        ]


async def test_a_node_reads_the_work_of_its_own_shards(node: Any) -> None:
    (a3,) = _ids_in_shard(3, 1)
    (a5,) = _ids_in_shard(5, 1)
    async with node(None) as store:
        for aid, now in ((a3, 100.0), (a5, 200.0)):
            s0 = initial()
            await store.commit(make_commit(aid, s0, previous=None))
            s1 = COUNTER.transition(s0, "arm", now=now).snapshot
            await store.commit(make_commit(aid, s1, previous=s0))
            await store.accept(aid, EventData("inc"))
        assert await store.pending_actors(shards=[3]) == [a3]
        assert await store.pending_actors(shards=[3, 5]) == sorted([a3, a5])
        assert await store.due_actors(1000.0, shards=[5]) == [a5]
        assert [t.actor_id for t in await store.due_timers(1000.0, shards=[5])] == [a5]
        assert await store.next_due(shards=[3]) == 130.0
        assert await store.next_due(after=130.0, shards=[3]) is None
        assert await store.next_due(shards=[4]) is None


# -- LISTEN/NOTIFY -----------------------------------------------------------------------------
async def test_the_owner_of_a_shard_is_notified_of_inbox_events(node: Any) -> None:
    ids = _ids_in_shard(4, 2)
    (elsewhere,) = _ids_in_shard(6, 1)
    got: list[tuple[int, tuple[str, ...] | None]] = []
    arrived = anyio.Event()

    def on_inbox(shard: int, actor_ids: tuple[str, ...] | None) -> None:
        got.append((shard, actor_ids))
        arrived.set()

    async with node("owner") as owner, node(None) as sender:
        await owner.listen_inbox([4], on_inbox)
        await sender.accept(elsewhere, EventData("ignored"))
        await sender.accept_many([(ids[0], EventData("a")), (ids[1], EventData("b"))])
        with anyio.fail_after(10):
            await arrived.wait()
        assert got == [(4, tuple(ids))]
        # a delivery made by another actor's commit notifies too
        arrived = anyio.Event()
        s0 = initial()
        await sender.commit(
            make_commit(elsewhere, s0, previous=None, deliveries=[(ids[0], EventData("c"))])
        )
        with anyio.fail_after(10):
            await arrived.wait()
        assert got[-1] == (4, (ids[0],))
        # too many ids for one notification: the owner is told to look at the shard
        arrived = anyio.Event()
        many = _ids_in_shard(4, 400)
        await sender.accept_many([(aid + "/" + "x" * 40, EventData("d")) for aid in many])
        with anyio.fail_after(10):
            await arrived.wait()
        assert got[-1] == (4, None)
        # after unlisten, nothing more
        await owner.unlisten_inbox([4])
        n = len(got)
        await sender.accept(ids[0], EventData("e"))
        await owner.listen_inbox([6], on_inbox)  # a round trip on the listening connection
        arrived = anyio.Event()
        await sender.accept(elsewhere, EventData("f"))
        with anyio.fail_after(10):
            await arrived.wait()
        assert got[n:] == [(6, (elsewhere,))]


async def test_listening_survives_a_lost_connection(node: Any, pg_server: TempPostgres) -> None:
    (aid,) = _ids_in_shard(4, 1)
    got: list[tuple[int, tuple[str, ...] | None]] = []
    changed = anyio.Event()

    def on_inbox(shard: int, actor_ids: tuple[str, ...] | None) -> None:
        got.append((shard, actor_ids))
        changed.set()

    async with node("owner") as owner, node(None) as sender:
        await owner.listen_inbox([4], on_inbox)
        conn = await asyncpg.connect(pg_server.dsn)
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        await conn.close()
        assert killed == 1
        with anyio.fail_after(10):
            await changed.wait()
        assert got == [(4, None)]  # listening again: look, something may have been missed
        changed = anyio.Event()
        await sender.accept(aid, EventData("a"))
        with anyio.fail_after(10):
            await changed.wait()
        assert got[-1] == (4, (aid,))


# -- a real node process paused past its lease ---------------------------------------------------
_PAUSED_NODE = textwrap.dedent(
    """
    import asyncio, sys
    from statefleet.persistence import PostgresStore, FencedError, make_commit
    sys.path.insert(0, sys.argv[3])
    from conftest_chart import initial

    async def main():
        async with PostgresStore(sys.argv[1], schema=sys.argv[2], node="paused",
                                 shards=8, lease_time=1.0) as store:
            taken = await store.cluster.acquire([0])
            print("ready", taken, flush=True)
            sys.stdin.readline()  # SIGSTOPped here, resumed later
            try:
                await store.commit(make_commit(sys.argv[4], initial(), previous=None))
                print("committed", flush=True)
            except FencedError as exc:
                print("fenced", exc.current_epoch, flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_a_node_paused_past_its_lease_cannot_commit_when_it_resumes(
    pg_server: TempPostgres, pg_schema: str, tmp_path: Any
) -> None:
    (aid,) = _ids_in_shard(0, 1)
    (tmp_path / "conftest_chart.py").write_text(
        "from statefleet.core import ChartSpec, StateSpec, compile_chart\n"
        "SPEC = ChartSpec(id='counter', version='1', states=[StateSpec(id='idle')])\n"
        "CHART = compile_chart(SPEC)\n"
        "def initial():\n"
        "    return CHART.initial(now=0.0, session_id='s').snapshot\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_NODE, pg_server.dsn, pg_schema, str(tmp_path), aid],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = await anyio.to_thread.run_sync(proc.stdout.readline)
        assert ready.strip() == "ready {0: 1}"
        os.kill(proc.pid, signal.SIGSTOP)
        # node b takes the shard as soon as the paused node's lease runs out (real time)
        async with PostgresStore(
            pg_server.dsn, schema=pg_schema, node="b", shards=SHARDS, lease_time=30.0
        ) as b:
            assert b.cluster is not None
            with anyio.fail_after(30):
                while not await b.cluster.acquire([0]):
                    await anyio.sleep(0.1)  # polls the lease: it runs on the database's clock
            assert b.cluster.held == {0: 2}
            os.kill(proc.pid, signal.SIGCONT)
            proc.stdin.write("go\n")
            proc.stdin.flush()
            outcome = await anyio.to_thread.run_sync(proc.stdout.readline)
            assert outcome.strip() == "fenced 2"
            assert (await b.load(aid)).record is None  # nothing of the late commit
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
