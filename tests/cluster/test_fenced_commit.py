"""A step whose commit the fence refuses (the shard moved to another node while it was
committing) is not a crash: the node hands the actor over at once, and its events are
applied by the shard's new owner.

Left open in session 3: under CPU load a node's leases can expire before it renews them.
Each event queued to one of its actors was then committed, refused by the fence, treated as
a crash and tried again from the actor's last commit, until the supervisor's restart limit
gave up and the actor ended ``"failed"`` (with its restarts and an escalation recorded) on a
node that merely no longer owned it.

The tests are deterministic: the lease clock is virtual and the nodes' rounds are minutes
apart (a long lease), so node ``a`` learns that it lost the shard only from the fence."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

from statefleet.actors import ActorRef, ActorSystem
from statefleet.actors._node import assign
from statefleet.core import (
    ActorEscalated,
    ActorRestarted,
    ActorStoppedError,
    EventData,
    Record,
    VirtualClock,
)
from statefleet.persistence import Cluster, PostgresStore, shard_of
from statefleet.persistence._pgserver import TempPostgres

from ._ledger import LEDGER, SHARDS
from .test_remote_send_to_done_actor import ONCE

pytestmark = pytest.mark.anyio

LEASE = 600.0  # the rounds of a node run every LEASE / 3 real seconds: not during the test
#: the lease clock once node a has paused past its leases (they were taken at 1000)
PAUSED = 1000.0 + LEASE + 1

Stores = Callable[[str], PostgresStore]


@pytest.fixture
def leases() -> VirtualClock:
    """The lease clock every store of the test shares."""
    return VirtualClock(1000.0)


@pytest.fixture
def store(pg_server: TempPostgres, pg_schema: str, leases: VirtualClock) -> Stores:
    """Stores of the test's schema, each a cluster node of the given name."""

    def make(node: str) -> PostgresStore:
        return PostgresStore(
            pg_server.dsn,
            schema=pg_schema,
            node=node,
            shards=SHARDS,
            lease_time=LEASE,
            clock=leases.now,
        )

    return make


@asynccontextmanager
async def node_a(
    store: PostgresStore, entity: str
) -> AsyncIterator[tuple[ActorSystem, ActorRef, Cluster, list[Record]]]:
    """Node ``a`` holding every shard, with ``entity`` live (key ``a0`` committed), and
    the records its system publishes. Its system clock is virtual, so a restart's backoff
    takes no time: the old code went through its restart limit at once."""
    records: list[Record] = []
    async with ActorSystem(
        store=store, charts=[LEDGER, ONCE], clock=VirtualClock(), listeners=[records.append]
    ) as a:
        ca = store.cluster
        assert ca is not None
        with anyio.fail_after(20):
            while len(ca.held) < SHARDS:
                await anyio.sleep(0.02)
        ref = await a.ref(LEDGER, entity).activate()
        await ref.ask("add", k="a0")
        yield a, ref, ca, records


def entity_in(shards: set[int]) -> str:
    """An entity id of one of ``shards``."""
    return next(f"e{i}" for i in range(1000) if shard_of(f"e{i}", SHARDS) in shards)


@asynccontextmanager
async def taken(store: PostgresStore, shard: int) -> AsyncIterator[PostgresStore]:
    """``store`` (open) once its cluster node has taken ``shard``'s lease (its node runtime
    does not run: it takes nothing else)."""
    async with store:
        cluster = store.cluster
        assert cluster is not None
        assert shard in await cluster.acquire([shard])
        yield store


async def handed_over(ref: ActorRef, records: list[Record]) -> None:
    """Wait until the actor of ``ref`` stops, and check it was handed over: no restart and
    no escalation recorded (a reload from the store is published as a restart too)."""
    with anyio.fail_after(20), pytest.raises(ActorStoppedError):
        await ref.wait_for(lambda snap: False)
    assert ref.status == "handed over"
    mine = [r for r in records if r.actor == ref.id]
    assert [r for r in mine if isinstance(r, ActorRestarted | ActorEscalated)] == []


async def test_commits_refused_by_the_fence_hand_the_actor_over_instead_of_failing_it(
    store: Stores, leases: VirtualClock
) -> None:
    # an entity of a shard node b is assigned once both nodes are members, so that b's
    # node runtime keeps the shard b takes below
    b_shards = assign(SHARDS, ["a", "b"], "b")
    entity = entity_in(b_shards)
    shard = shard_of(entity, SHARDS)
    a_store = store("a")
    async with node_a(a_store, entity) as (a, ref, ca, records):
        # a pauses past its leases; b takes the entity's shard before a's next round
        leases.set(PAUSED)
        async with taken(store("b"), shard) as b_store:
            assert shard in ca.held and shard in (ca.scope or ())  # a has not noticed
            # events for the entity from elsewhere: a still serves the shard, so it is
            # notified and queues them into its live actor, whose commits are fenced
            for k in ("b0", "b1", "b2"):
                await b_store.accept(entity, EventData("add", data={"k": k}))
            await handed_over(ref, records)
            # a serves the shard no more: its events go to the new owner
            assert shard not in (ca.scope or ())
            # nothing of the refused steps was written: the events wait in the inbox
            assert [e.event.data for e in await b_store.inbox(entity)] == [
                {"k": "b0"},
                {"k": "b1"},
                {"k": "b2"},
            ]
            stored = (await b_store.load(entity)).record
            assert stored is not None and stored.snapshot.context["keys"] == ["a0"]
            assert await b_store.dead_letters() == []

        # b runs its shards: it applies the inbox once, in order, and answers a's ask
        async with ActorSystem(store=store("b"), charts=[LEDGER]):
            with anyio.fail_after(60):
                snap = await a.ref(LEDGER, entity).ask("add", k="q")
            assert snap.context["keys"] == ["a0", "b0", "b1", "b2", "q"]
            assert await a_store.dead_letters() == []
    mine = [r for r in records if r.actor == entity]
    assert [r for r in mine if isinstance(r, ActorRestarted | ActorEscalated)] == []


async def test_a_fenced_commit_on_an_actor_the_new_owner_moved_on_is_no_version_conflict(
    store: Stores, leases: VirtualClock
) -> None:
    """The new owner has committed the entity since: the old node's commit meets both
    another writer's version and the fence. It is handed over, not loaded again from the
    store (the version-conflict path, which would apply the event on a shard this node
    does not own and count every refusal toward a crash)."""
    entity = "moved-1"
    shard = shard_of(entity, SHARDS)
    a_store = store("a")
    async with node_a(a_store, entity) as (a, ref, ca, records):
        # a pauses past its leases: b, seeing no live a, takes every shard and applies an
        # event to the entity (stored version 3, committed by b)
        leases.set(PAUSED)
        b_store = store("b")
        async with ActorSystem(store=b_store, charts=[LEDGER]) as b:
            cb = b_store.cluster
            assert cb is not None
            with anyio.fail_after(20):
                while shard not in (cb.scope or ()):
                    await anyio.sleep(0.02)
            snap = await b.ref(LEDGER, entity).ask("add", k="b0")
            assert snap.context["keys"] == ["a0", "b0"]
            assert shard in (ca.scope or ())  # a has not noticed
            # an event for the entity reaches a's stale actor (a is notified of b's write)
            await b_store.accept(entity, EventData("add", data={"k": "b1"}))
            await handed_over(ref, records)
            stored = (await b_store.load(entity)).record
            assert stored is not None and stored.snapshot.context["keys"] == ["a0", "b0"]
            # a's ask goes to b, which applies the waiting event first
            with anyio.fail_after(60):
                snap = await a.ref(LEDGER, entity).ask("add", k="q")
            assert snap.context["keys"] == ["a0", "b0", "b1", "q"]
            assert await b_store.dead_letters() == []


async def test_a_node_whose_lease_expired_unowned_takes_its_shard_back_and_applies_the_events(
    store: Stores, leases: VirtualClock
) -> None:
    """No other node took the shard: the lease only expired (a node starved of CPU renews
    late). The refused commit hands the actor over and starts the node's round at once,
    which acquires the shard again and recovers the actor from the store: the events are
    applied once, in order, on this node, with no crash."""
    # an entity of a's share even if the writer below counts as a member
    a_shards = assign(SHARDS, ["a", "c"], "a")
    entity = entity_in(a_shards)
    shard = shard_of(entity, SHARDS)
    a_store = store("a")
    async with node_a(a_store, entity) as (a, ref, ca, records):
        epoch = ca.held[shard]
        leases.set(PAUSED)  # every lease of a has expired; nobody takes them
        async with store("c") as c_store:  # another process writing to the inbox
            for k in ("c0", "c1"):
                await c_store.accept(entity, EventData("add", data={"k": k}))
        await handed_over(ref, records)
        snap = await a.ref(LEDGER, entity).ask("add", k="q")
        assert snap.context["keys"] == ["a0", "c0", "c1", "q"]
        assert ca.held[shard] > epoch  # acquired again, at a later epoch
        assert await a_store.dead_letters() == []
    mine = [r for r in records if r.actor == entity]
    assert [r for r in mine if isinstance(r, ActorRestarted | ActorEscalated)] == []


async def test_a_fenced_dead_lettering_hands_the_shard_over_at_once(
    store: Stores, leases: VirtualClock
) -> None:
    """The other write an activation makes: the inbox events of an entity that has ended
    go to the dead letters. Refused by the fence, the events stay for the new owner (which
    refuses them in turn) and the node loses the shard at once, as for a commit."""
    entity = "ended-1"
    shard = shard_of(entity, SHARDS)
    a_store = store("a")
    async with node_a(a_store, "other-1") as (a, _, ca, records):
        await a.ref(ONCE, entity).send("GO")  # it ends (and leaves memory)
        with pytest.raises(ActorStoppedError):
            await a.ref(ONCE, entity).send("GO")
        leases.set(PAUSED)
        async with taken(store("b"), shard) as b_store:
            # a is notified, activates the ended entity, and its dead-lettering is fenced
            await b_store.accept(entity, EventData("GO"))
            with anyio.fail_after(20):
                while shard in (ca.scope or ()):
                    await anyio.sleep(0.02)
            assert [e.event.name for e in await b_store.inbox(entity)] == ["GO"]
            assert await b_store.dead_letters() == []
    assert [r for r in records if isinstance(r, ActorRestarted | ActorEscalated)] == []


async def test_an_ask_from_another_node_whose_step_was_fenced_is_answered_by_the_new_owner(
    store: Stores, leases: VirtualClock
) -> None:
    """Node b asks an entity that node a still runs, though node c has taken its shard.
    a's commit of the step is refused: a must not answer (the old code answered that the
    actor had crashed, while the event stays in the inbox and is applied later); the event
    is applied by c, which answers b."""
    # an entity of c's share, whichever of a and b count as members when c's node runs
    c_shards = assign(SHARDS, ["a", "b", "c"], "c") & assign(SHARDS, ["b", "c"], "c")
    entity = entity_in(c_shards)
    shard = shard_of(entity, SHARDS)
    a_store = store("a")
    async with node_a(a_store, entity) as (_, ref, ca, records):
        leases.set(PAUSED)
        async with taken(store("c"), shard):  # c takes the shard; its node runs later
            pass
        assert shard in (ca.scope or ())  # a has not noticed
        answers: list[list[str]] = []
        answered = anyio.Event()
        async with ActorSystem(store=store("b"), charts=[LEDGER]) as b:

            async def ask() -> None:
                snap = await b.ref(LEDGER, entity).ask("add", k="q")
                answers.append(snap.context["keys"])
                answered.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask)  # the event goes to the inbox; a applies it, fenced
                await handed_over(ref, records)
                assert answers == []  # a did not answer
                async with ActorSystem(store=store("c"), charts=[LEDGER]):
                    with anyio.fail_after(60):
                        await answered.wait()
        assert answers == [["a0", "q"]]


async def test_a_send_through_an_actor_ref_whose_step_was_fenced_says_handed_over(
    store: Stores, leases: VirtualClock
) -> None:
    """A send and an ask through the ref of a live actor (not the entity's virtual ref)
    whose steps' commits are refused by the fence get the error of any actor handed over,
    :class:`~statefleet.ActorStoppedError`, not the store's refusal: user code has one
    thing to catch. Nothing of either step was written."""
    b_shards = assign(SHARDS, ["a", "b"], "b")
    entity = entity_in(b_shards)
    shard = shard_of(entity, SHARDS)
    async with node_a(store("a"), entity) as (_, ref, ca, records):
        leases.set(PAUSED)
        async with taken(store("b"), shard) as b_store:
            with pytest.raises(ActorStoppedError, match="handed over"):
                await ref.send("add", k="x")
            with pytest.raises(ActorStoppedError, match="handed over"):
                await ref.ask("add", k="y")
            assert ref.status == "handed over"
            assert shard not in (ca.scope or ())
            stored = (await b_store.load(entity)).record
            assert stored is not None and stored.snapshot.context["keys"] == ["a0"]
            assert await b_store.inbox(entity) == []
    mine = [r for r in records if r.actor == entity]
    assert [r for r in mine if isinstance(r, ActorRestarted | ActorEscalated)] == []


async def test_a_fenced_refusal_of_an_unknown_actors_events_hands_the_shard_over_at_once(
    store: Stores, leases: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Events to an actor that is not stored go to the dead letters when an activation
    finds them. Refused by the fence, they stay in the inbox for the shard's new owner, and
    the node has lost the shard by the time the activation gives up (Node.fenced), not
    only after a round it kicks (the old code asked the database and left it to the
    round)."""
    entity = "ghost-1"
    shard = shard_of(entity, SHARDS)
    async with node_a(store("a"), "other-1") as (_, _, ca, records):
        leases.set(PAUSED)
        async with taken(store("b"), shard) as b_store:
            caplog.set_level(logging.INFO, "statefleet")
            # a is notified and activates the unknown entity: its dead-lettering is fenced
            await b_store.accept(entity, EventData("GO"))
            with anyio.fail_after(20):
                while not any("handed over while activated" in m for m in caplog.messages):
                    await anyio.sleep(0.01)
            assert shard not in (ca.scope or ())
            assert [e.event.name for e in await b_store.inbox(entity)] == ["GO"]
            assert await b_store.dead_letters() == []
    assert [r for r in records if isinstance(r, ActorRestarted)] == []


async def test_a_send_through_the_entitys_ref_whose_step_was_fenced_goes_to_the_new_owner(
    store: Stores, leases: VirtualClock
) -> None:
    """The entity's virtual ref (``system.ref``) takes the handing over of a live actor
    whose step was fenced as its cue to send to the new owner: the send returns once
    the event is accepted there, and that owner applies it."""
    b_shards = assign(SHARDS, ["a", "b"], "b")
    entity = entity_in(b_shards)
    shard = shard_of(entity, SHARDS)
    async with node_a(store("a"), entity) as (a, ref, ca, records):
        leases.set(PAUSED)
        async with taken(store("b"), shard):
            pass
        assert shard in (ca.scope or ())  # a has not noticed: its live actor takes it
        await a.ref(LEDGER, entity).send("add", k="x")
        assert ref.status == "handed over"
        async with ActorSystem(store=store("b"), charts=[LEDGER]):
            with anyio.fail_after(60):
                snap = await a.ref(LEDGER, entity).ask("add", k="q")
        assert snap.context["keys"] == ["a0", "x", "q"]
    mine = [r for r in records if r.actor == entity]
    assert [r for r in mine if isinstance(r, ActorRestarted | ActorEscalated)] == []
