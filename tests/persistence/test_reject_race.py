"""Refusing an inbox event is one atomic move, on every store: two refusals of one event
(two systems or nodes refusing an ended actor's event at once) leave one dead letter, and a
refusal racing the commit that consumes the event leaves none once the commit won."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from statefleet.core import EventData
from statefleet.persistence import Commit, Store, make_commit

from .conftest import COUNTER, initial

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _two_stores(make_store: Any, kind: tuple[str, str]) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database (two systems or nodes); a SQLite file has one writer, so
    there both are the one store (its reads and writes still interleave)."""
    async with make_store() as one:
        if kind[0] == "sqlite":
            yield one, one
            return
        async with make_store() as two:
            yield one, two


async def _refuse_twice(first: Store, second: Store, seq: int) -> list[int]:
    ids: list[int] = []

    async def refuse(store: Store) -> None:
        ids.append(await store.reject_event("a", seq, "actor ended"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(refuse, first)
        tg.start_soon(refuse, second)
    return sorted(ids)


async def test_two_concurrent_refusals_of_one_event_write_one_dead_letter(
    store: Store,
) -> None:
    seq = await store.accept("a", EventData("inc", {"by": 1}))
    ids = await _refuse_twice(store, store, seq)
    assert ids[0] == 0 and ids[1] > 0
    dead = await store.dead_letters()
    assert [(d.id, d.actor_id, d.kind, d.reason) for d in dead] == [
        (ids[1], "a", "event", "actor ended")
    ]
    assert list(await store.inbox("a")) == []


async def test_two_stores_refusing_one_event_at_once_write_one_dead_letter(
    make_store: Any, kind: tuple[str, str]
) -> None:
    async with _two_stores(make_store, kind) as (one, two):
        seq = await one.accept("a", EventData("inc"))
        ids = await _refuse_twice(one, two, seq)
        assert ids[0] == 0 and ids[1] > 0
        assert [d.id for d in await one.dead_letters()] == [ids[1]]
        assert list(await two.inbox("a")) == []


async def _consuming_commit(store: Store) -> tuple[Commit, int]:
    """Actor ``a`` with one inbox event, and the commit of the step that consumes it."""
    s0 = initial()
    await store.commit(make_commit("a", s0, previous=None))
    seq = await store.accept("a", EventData("inc"))
    s1 = COUNTER.transition(s0, "inc").snapshot
    return make_commit("a", s1, previous=s0, consumed=[seq]), seq


async def test_a_refusal_racing_the_consuming_commit_dead_letters_nothing_it_consumed(
    store: Store,
) -> None:
    consuming, seq = await _consuming_commit(store)
    refused: list[int] = []

    async def refuse() -> None:
        refused.append(await store.reject_event("a", seq, "cannot be processed"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(store.commit, consuming)
        await anyio.wait_all_tasks_blocked()  # the consuming commit is under way (or done)
        tg.start_soon(refuse)
    # the commit was written first and consumed the event: the refusal finds nothing to move
    assert refused == [0]
    assert await store.dead_letters() == []
    assert list(await store.inbox("a")) == []


async def test_a_refusal_after_the_event_was_consumed_writes_no_dead_letter(
    store: Store,
) -> None:
    consuming, seq = await _consuming_commit(store)
    await store.commit(consuming)
    assert await store.reject_event("a", seq, "cannot be processed") == 0
    assert await store.dead_letters() == []


async def test_refusing_another_actors_event_moves_nothing(store: Store) -> None:
    seq = await store.accept("a", EventData("inc"))
    assert await store.reject_event("b", seq, "wrong actor") == 0
    assert await store.dead_letters() == []
    assert [e.seq for e in await store.inbox("a")] == [seq]


async def test_two_concurrent_inbox_refusals_move_each_event_once(
    make_store: Any, kind: tuple[str, str]
) -> None:
    async with _two_stores(make_store, kind) as (one, two):
        seqs = await one.accept_many([("ghost", EventData("inc")) for _ in range(3)])
        counts: list[int] = []

        async def refuse(store: Store) -> None:
            counts.append(await store.reject_inbox("ghost", "no such actor"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(refuse, one)
            tg.start_soon(refuse, two)
        assert sorted(counts) == [0, len(seqs)]
        assert len(await one.dead_letters()) == len(seqs)
        assert list(await two.inbox("ghost")) == []


@pytest.mark.parametrize("seq", [-1, 1 << 64, "1", None, True])
async def test_refusing_a_seq_no_event_has_moves_nothing(store: Store, seq: Any) -> None:
    await store.accept("a", EventData("inc"))
    assert await store.reject_event("a", seq, "no such event") == 0
    assert await store.dead_letters() == []
    assert len(await store.inbox("a")) == 1
