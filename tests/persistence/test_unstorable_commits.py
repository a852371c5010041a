"""A commit whose snapshot (or event) cannot be encoded is a typed error on that commit
only, a SnapshotError and a PersistenceError: nothing of it is written, what is stored stays
as it was, and the other commits of the batch are written. Memory (asyncio, trio), SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from statefleet.core import EventData, PersistenceError, SnapshotError
from statefleet.persistence import (
    CommitResult,
    Delivery,
    Store,
    UnstorableCommitError,
    make_commit,
)
from tests.persistence.conftest import initial

pytestmark = pytest.mark.anyio


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


UNSTORABLE = {
    "nested-thousands-deep": {"deep": _deep(100_000)},
    "not-encodable": {"handle": object()},
    "int-too-big": {"big": 2**80},
}


@pytest.mark.parametrize("case", list(UNSTORABLE))
async def test_an_unstorable_snapshot_fails_its_commit_and_overwrites_nothing(
    store: Store, case: str
) -> None:
    first = initial(n=1)
    await store.commit(make_commit("a", first, previous=None))
    bad = msgspec.structs.replace(first, version=1, context=UNSTORABLE[case])
    with pytest.raises(UnstorableCommitError, match="'a': the commit cannot be stored") as err:
        await store.commit(make_commit("a", bad, previous=first))
    assert isinstance(err.value, SnapshotError)
    assert isinstance(err.value, PersistenceError)
    loaded = await store.load("a")
    assert loaded.record is not None
    assert loaded.record.snapshot == first
    # the actor can still commit a good snapshot on top of what is stored
    good = msgspec.structs.replace(first, version=1, context={"n": 2})
    assert (await store.commit(make_commit("a", good, previous=first))).version == 1


async def test_one_unstorable_commit_in_a_batch_fails_alone(store: Store) -> None:
    snaps = {aid: initial(n=0) for aid in ("a", "b", "c")}
    bad = msgspec.structs.replace(snaps["b"], context={"deep": _deep(100_000)})
    results = await store.commit_many(
        [
            make_commit("a", snaps["a"], previous=None),
            make_commit("b", bad, previous=None),
            make_commit("c", snaps["c"], previous=None),
        ]
    )
    assert isinstance(results[0], CommitResult)
    assert isinstance(results[1], UnstorableCommitError)
    assert "nested too deeply" in str(results[1])
    assert isinstance(results[2], CommitResult)
    assert (await store.load("b")).record is None
    assert (await store.load("c")).record is not None


async def test_an_event_that_cannot_be_encoded_fails_its_commit_only(store: Store) -> None:
    snap = initial(n=0)
    poison = EventData("hello", {"deep": _deep(100_000)})
    results = await store.commit_many(
        [
            make_commit("a", snap, previous=None, deliveries=[Delivery("b", poison)]),
            make_commit("c", snap, previous=None),
        ]
    )
    assert isinstance(results[0], UnstorableCommitError)
    assert "event 'hello' cannot be stored" in str(results[0])
    assert isinstance(results[1], CommitResult)
    assert (await store.load("a")).record is None
    assert (await store.load("b")).inbox == ()
