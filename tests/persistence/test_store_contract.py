"""The store contract, on every store: inbox, commits with version checks, timers,
deliveries, outbox, dead letters, batching, restarts, and bad input."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest

from statefleet.core import (
    EventData,
    InvalidEventError,
    PersistenceError,
    Snapshot,
    SnapshotError,
)
from statefleet.persistence import (
    Commit,
    CorruptRecordError,
    Delivery,
    Store,
    StoreClosedError,
    VersionConflictError,
    make_commit,
)

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio


async def _create(store: Store, actor_id: str, **context: Any) -> Snapshot:
    snap = initial(**context)
    await store.commit(make_commit(actor_id, snap, previous=None))
    return snap


async def test_a_new_store_is_empty(store: Store) -> None:
    loaded = await store.load("nobody")
    assert loaded.record is None
    assert loaded.inbox == ()
    assert await store.count_actors() == 0
    assert await store.pending_actors() == []
    assert await store.next_due() is None
    assert await store.outbox() == []
    assert await store.dead_letters() == []


async def test_commit_then_load_round_trips_the_snapshot(store: Store) -> None:
    snap = initial(customer="ada", tags=["a", "b"])
    result = await store.commit(make_commit("order-1", snap, previous=None))
    assert result.actor_id == "order-1"
    assert result.version == 0
    loaded = await store.load("order-1")
    assert loaded.record is not None
    assert loaded.record.snapshot == snap
    assert loaded.record.chart_id == "counter"
    assert loaded.record.chart_version == "1"
    assert loaded.record.status == "active"
    assert loaded.record.created_at > 0
    assert await store.count_actors() == 1
    assert await store.count_actors("active") == 1
    assert await store.actor_ids() == ["order-1"]


async def test_the_snapshot_is_captured_when_commit_is_called(store: Store) -> None:
    snap = initial(items=[1])
    pending = make_commit("a", snap, previous=None)
    async with anyio.create_task_group() as tg:
        tg.start_soon(store.commit, pending)
        await anyio.wait_all_tasks_blocked()  # the commit is under way (or done)
        snap.context["items"].append(2)  # the runtime mutates its context meanwhile
    loaded = await store.load("a")
    assert loaded.record is not None
    assert loaded.record.snapshot.context["items"] == [1]


async def test_loads_return_copies(store: Store) -> None:
    await _create(store, "a", items=[1])
    first = await store.load("a")
    assert first.record is not None
    first.record.snapshot.context["items"].append(99)
    again = await store.load("a")
    assert again.record is not None
    assert again.record.snapshot.context["items"] == [1]


async def test_accept_then_consume_exactly_once(store: Store) -> None:
    s0 = await _create(store, "a")
    seq1 = await store.accept("a", EventData("inc", {"by": 1}))
    seq2 = await store.accept("a", EventData("inc", {"by": 2}))
    assert seq2 > seq1
    loaded = await store.load("a")
    assert [(e.seq, e.event.name, e.event.data) for e in loaded.inbox] == [
        (seq1, "inc", {"by": 1}),
        (seq2, "inc", {"by": 2}),
    ]
    assert await store.pending_actors() == ["a"]
    s1 = COUNTER.transition(s0, loaded.inbox[0].event).snapshot
    await store.commit(make_commit("a", s1, previous=s0, consumed=[seq1]))
    left = await store.inbox("a")
    assert [e.seq for e in left] == [seq2]
    s2 = COUNTER.transition(s1, left[0].event).snapshot
    await store.commit(make_commit("a", s2, previous=s1, consumed=[seq2]))
    loaded = await store.load("a")
    assert loaded.inbox == ()
    assert loaded.record is not None
    assert loaded.record.snapshot.context["n"] == 2
    assert loaded.record.version == 2
    assert await store.pending_actors() == []


async def test_accept_many_keeps_order_across_actors(store: Store) -> None:
    seqs = await store.accept_many(
        [("a", EventData("x")), ("b", EventData("y")), ("a", EventData("z"))]
    )
    assert seqs == sorted(seqs)
    assert [e.event.name for e in await store.inbox("a")] == ["x", "z"]
    assert [e.event.name for e in await store.inbox("b")] == ["y"]
    assert await store.pending_actors() == ["a", "b"]
    assert await store.accept_many([]) == []


async def test_a_stale_version_is_refused_and_nothing_of_it_is_written(store: Store) -> None:
    s0 = await _create(store, "a")
    seq = await store.accept("a", EventData("inc"))
    s1 = COUNTER.transition(s0, "inc").snapshot
    await store.commit(make_commit("a", s1, previous=s0))
    stale = make_commit(
        "a",
        COUNTER.transition(s0, "inc").snapshot,
        previous=s0,
        consumed=[seq],
        deliveries=[("b", EventData("hello"))],
    )
    with pytest.raises(VersionConflictError) as info:
        await store.commit(stale)
    assert info.value.actor_id == "a"
    assert info.value.expected == 0
    assert info.value.actual == 1
    assert "version 1" in str(info.value)
    assert [e.seq for e in await store.inbox("a")] == [seq]  # not consumed
    assert await store.inbox("b") == []  # not delivered


async def test_creating_an_existing_actor_is_a_conflict(store: Store) -> None:
    await _create(store, "a")
    with pytest.raises(VersionConflictError, match="already exists"):
        await store.commit(make_commit("a", initial(), previous=None))


async def test_updating_an_unknown_actor_is_a_conflict(store: Store) -> None:
    s0 = initial()
    s1 = COUNTER.transition(s0, "inc").snapshot
    with pytest.raises(VersionConflictError, match="not stored"):
        await store.commit(make_commit("ghost", s1, previous=s0))
    assert (await store.load("ghost")).record is None


async def test_commit_many_reports_each_outcome(store: Store) -> None:
    s0 = await _create(store, "a")
    s1 = COUNTER.transition(s0, "inc").snapshot
    s2 = COUNTER.transition(s1, "inc").snapshot
    results = await store.commit_many(
        [
            make_commit("a", s1, previous=s0),
            make_commit("b", initial(), previous=None),
            make_commit("a", s1, previous=s0),  # stale: a is at 1 now
            make_commit("a", s2, previous=s1),  # chains on the first
        ]
    )
    assert [type(r).__name__ for r in results] == [
        "CommitResult",
        "CommitResult",
        "VersionConflictError",
        "CommitResult",
    ]
    loaded = await store.load("a")
    assert loaded.record is not None
    assert loaded.record.version == 2
    assert (await store.load("b")).record is not None
    assert await store.commit_many([]) == []


async def test_deliveries_land_in_the_target_inbox_with_the_commit(store: Store) -> None:
    s0 = await _create(store, "a")
    s1 = COUNTER.transition(s0, "inc").snapshot
    result = await store.commit(
        make_commit(
            "a",
            s1,
            previous=s0,
            deliveries=[("b", EventData("ping", {"n": 1})), Delivery("c", EventData("pong"))],
        )
    )
    assert len(result.deliveries) == 2
    b = await store.inbox("b")
    c = await store.inbox("c")
    assert [(e.seq, e.event.name, e.event.data) for e in b] == [
        (result.deliveries[0], "ping", {"n": 1})
    ]
    assert [(e.seq, e.event.name) for e in c] == [(result.deliveries[1], "pong")]


async def test_outbox_rows_wait_for_their_ack(store: Store) -> None:
    s0 = await _create(store, "a")
    s1 = COUNTER.transition(s0, "inc").snapshot
    result = await store.commit(
        make_commit(
            "a",
            s1,
            previous=s0,
            outbox=[("https://example.test/hook", EventData("paid", {"amount": 3}))],
        )
    )
    (seq,) = result.outbox
    pending = await store.outbox()
    assert [(o.seq, o.actor_id, o.target, o.event.name) for o in pending] == [
        (seq, "a", "https://example.test/hook", "paid")
    ]
    await store.ack_outbox([seq])
    assert await store.outbox() == []
    await store.ack_outbox([])


async def test_timers_follow_the_snapshots(store: Store) -> None:
    s0 = await _create(store, "a")
    s1 = COUNTER.transition(s0, "arm", now=1000.0).snapshot
    await store.commit(make_commit("a", s1, previous=s0))
    assert await store.next_due() == 1030.0
    assert await store.due_timers(1029.0) == []
    (t,) = await store.due_timers(1030.0)
    assert (t.actor_id, t.sendid, t.due, t.path) == ("a", "$after.0.armed", 1030.0, ())
    assert t.event.name == "$after.0.armed"
    # the timer fires: the macrostep consumes it and the row goes
    s2 = COUNTER.transition(s1, t.event, now=1030.0).snapshot
    assert s2.configuration == ("idle",)
    await store.commit(make_commit("a", s2, previous=s1))
    assert await store.next_due() is None
    # armed then disarmed: cancelled timers go too
    s3 = COUNTER.transition(s2, "arm", now=2000.0).snapshot
    await store.commit(make_commit("a", s3, previous=s2))
    assert await store.next_due() == 2030.0
    s4 = COUNTER.transition(s3, "disarm", now=2001.0).snapshot
    await store.commit(make_commit("a", s4, previous=s3))
    assert await store.next_due() is None


async def test_due_timers_are_ordered_and_limited(store: Store) -> None:
    for i, now in enumerate([300.0, 100.0, 200.0]):
        s0 = initial()
        await store.commit(make_commit(f"a{i}", s0, previous=None))
        s1 = COUNTER.transition(s0, "arm", now=now).snapshot
        await store.commit(make_commit(f"a{i}", s1, previous=s0))
    due = await store.due_timers(10_000.0)
    assert [(t.actor_id, t.due) for t in due] == [("a1", 130.0), ("a2", 230.0), ("a0", 330.0)]
    assert [t.actor_id for t in await store.due_timers(10_000.0, limit=2)] == ["a1", "a2"]


async def test_next_due_after_and_due_actors(store: Store) -> None:
    for i, now in enumerate([300.0, 100.0, 200.0]):
        s0 = initial()
        await store.commit(make_commit(f"a{i}", s0, previous=None))
        s1 = COUNTER.transition(s0, "arm", now=now).snapshot
        await store.commit(make_commit(f"a{i}", s1, previous=s0))
    assert await store.next_due() == 130.0
    assert await store.next_due(after=130.0) == 230.0
    assert await store.next_due(after=330.0) is None
    assert await store.due_actors(230.0) == ["a1", "a2"]
    assert await store.due_actors(1000.0, limit=1) == ["a1"]
    assert await store.due_actors(0.0) == []


async def test_reject_inbox_and_delete_soon(store: Store) -> None:
    await _create(store, "a")
    await store.accept_many([("ghost", EventData("x")), ("ghost", EventData("y"))])
    assert await store.reject_inbox("ghost", "no such actor") == 2
    assert await store.inbox("ghost") == []
    letters = await store.dead_letters("ghost")
    assert [(d.kind, d.reason) for d in letters] == [("event", "no such actor")] * 2
    store.delete_soon("a")
    await _create(store, "b")  # written after the delete
    assert await store.actor_ids() == ["b"]


async def test_quarantine_moves_the_row_to_dead_letters(store: Store) -> None:
    await _create(store, "bad")
    await _create(store, "good")
    await store.accept("bad", EventData("inc"))
    dl = await store.quarantine("bad", "does not fit chart counter v1")
    letters = await store.dead_letters("bad")
    assert [(d.id, d.kind, d.reason) for d in letters] == [
        (dl, "snapshot", "does not fit chart counter v1")
    ]
    assert letters[0].payload  # the raw row is kept
    with pytest.raises(CorruptRecordError, match="'bad' is quarantined") as info:
        await store.load("bad")
    assert info.value.actor_id == "bad"
    assert isinstance(info.value, SnapshotError)
    assert await store.count_actors("quarantined") == 1
    assert await store.actor_ids(status="quarantined") == ["bad"]
    assert [e.event.name for e in await store.inbox("bad")] == ["inc"]  # kept
    # a quarantined actor takes no commits; others are unaffected
    with pytest.raises(CorruptRecordError):
        await store.commit(make_commit("bad", initial(), previous=None))
    results = await store.load_many(["bad", "good"])
    assert isinstance(results["bad"], CorruptRecordError)
    good = results["good"]
    assert not isinstance(good, PersistenceError)
    assert good.record is not None


async def test_delete_forgets_everything_of_an_actor(store: Store) -> None:
    s0 = await _create(store, "a")
    s1 = COUNTER.transition(s0, "arm", now=0.0).snapshot
    await store.commit(make_commit("a", s1, previous=s0))
    await store.accept("a", EventData("disarm"))
    await _create(store, "b")
    await store.delete("a")
    assert (await store.load("a")).record is None
    assert await store.inbox("a") == []
    assert await store.next_due() is None
    assert await store.actor_ids() == ["b"]
    # it can be created again
    await _create(store, "a")


async def test_paging_actor_ids(store: Store) -> None:
    await store.commit_many([make_commit(f"a{i:02}", initial(), previous=None) for i in range(7)])
    page1 = await store.actor_ids(limit=3)
    page2 = await store.actor_ids(after=page1[-1], limit=3)
    page3 = await store.actor_ids(after=page2[-1], limit=3)
    assert page1 + page2 + page3 == [f"a{i:02}" for i in range(7)]
    assert await store.count_actors() == 7


async def test_many_concurrent_commits_each_get_their_own_outcome(store: Store) -> None:
    n = 300
    snaps = {f"actor-{i}": initial(i=i) for i in range(n)}
    results: dict[str, Any] = {}

    async def one(aid: str) -> None:
        results[aid] = await store.commit(make_commit(aid, snaps[aid], previous=None))

    async with anyio.create_task_group() as tg:
        for aid in snaps:
            tg.start_soon(one, aid)
    assert sorted(results) == sorted(snaps)
    assert all(r.actor_id == aid for aid, r in results.items())
    loaded = await store.load_many(list(snaps))
    for aid, snap in snaps.items():
        la = loaded[aid]
        assert not isinstance(la, PersistenceError)
        assert la.record is not None
        assert la.record.snapshot.context["i"] == snap.context["i"]


async def test_concurrent_loads_each_get_their_actor(store: Store) -> None:
    await store.commit_many([make_commit(f"a{i}", initial(i=i), previous=None) for i in range(50)])
    got: dict[str, Any] = {}

    async def one(aid: str) -> None:
        got[aid] = await store.load(aid)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(one, f"a{i}")
        tg.start_soon(one, "a7")  # the same actor twice in one batch
        tg.start_soon(one, "missing")
    assert got["missing"].record is None
    for i in range(50):
        assert got[f"a{i}"].record.snapshot.context["i"] == i


async def test_data_survives_closing_and_reopening(make_store: Any) -> None:
    async with make_store() as store:
        s0 = await _create(store, "a")
        s1 = COUNTER.transition(s0, "arm", now=5.0).snapshot
        await store.commit(make_commit("a", s1, previous=s0))
        seq = await store.accept("a", EventData("disarm"))
    async with make_store() as store:
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.snapshot == s1
        assert [e.seq for e in loaded.inbox] == [seq]
        assert await store.next_due() == 35.0
        # seqs are never reused after a restart
        assert await store.accept("a", EventData("x")) > seq


# -- bad input ------------------------------------------------------------------------------
async def test_calls_on_a_closed_store_are_refused(make_store: Any) -> None:
    store = make_store()
    with pytest.raises(StoreClosedError, match="async with"):
        await store.load("a")
    with pytest.raises(StoreClosedError):
        await store.accept("a", EventData("x"))
    async with store:
        pass
    with pytest.raises(StoreClosedError):
        await store.commit(make_commit("a", initial(), previous=None))


async def test_an_event_that_cannot_be_stored_is_refused_alone(store: Store) -> None:
    with pytest.raises(InvalidEventError, match="event 'x' cannot be stored"):
        await store.accept("a", EventData("x", {"obj": object()}))
    with pytest.raises(InvalidEventError):
        await store.accept("a", "x")  # type: ignore[arg-type]
    assert await store.inbox("a") == []
    # the store keeps working
    await store.accept("a", EventData("y"))
    assert [e.event.name for e in await store.inbox("a")] == ["y"]


async def test_a_snapshot_that_cannot_be_encoded_fails_its_commit_only(store: Store) -> None:
    bad = msgspec.structs.replace(initial(), context={"conn": object()})
    with pytest.raises(SnapshotError, match="cannot be encoded"):
        await store.commit(make_commit("a", bad, previous=None))
    assert (await store.load("a")).record is None
    await _create(store, "a")


async def test_bad_commits_and_ids_are_refused(store: Store) -> None:
    with pytest.raises(TypeError, match="expected a Commit"):
        await store.commit({"actor_id": "a"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="snapshot is a dict"):
        await store.commit(Commit(actor_id="a", snapshot={}, expected_version=None))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty actor id"):
        await store.commit(make_commit("", initial(), previous=None))
    with pytest.raises(ValueError, match="actor id is a non-empty string"):
        await store.accept("", EventData("x"))
    with pytest.raises(ValueError, match="actor id is a non-empty string"):
        await store.commit(
            make_commit("a", initial(), previous=None, deliveries=[("", EventData("x"))])
        )
    assert await store.count_actors() == 0


async def test_ids_and_data_with_sql_metacharacters_are_just_data(store: Store) -> None:
    weird = "a'); DROP TABLE actors; --"
    await _create(store, weird, note="' OR 1=1 --")
    await store.accept(weird, EventData("x'y", {"q": '"; DELETE FROM inbox; --'}))
    loaded = await store.load(weird)
    assert loaded.record is not None
    assert loaded.record.snapshot.context["note"] == "' OR 1=1 --"
    assert [e.event.data for e in loaded.inbox] == [{"q": '"; DELETE FROM inbox; --'}]
    assert await store.actor_ids() == [weird]
