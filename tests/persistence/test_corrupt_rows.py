"""A stored row that cannot be decoded, however it is broken, quarantines that actor only
(or dead-letters that inbox event): the actor system on the store keeps running and the
other actors work. Real SQLite files, tampered with sqlite3 between two runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from statefleet.actors import ActorSystem
from statefleet.core import (
    ChartSpec,
    DataSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
    encode_snapshot,
)
from statefleet.persistence import CorruptRecordError, SQLiteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore is asyncio-only


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


COUNTER = compile_chart(
    ChartSpec(
        id="counter",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                id="idle",
                transitions=[TransitionSpec(event=("inc",), actions=(_inc,), type="internal")],
            )
        ],
    )
)


def _deep_msgpack(depth: int) -> bytes:
    """A snapshot whose context holds a list nested ``depth`` deep (valid msgpack)."""
    from statefleet.core import Snapshot

    head = encode_snapshot(Snapshot(chart_id="counter", chart_version="1", configuration=("idle",)))
    return head.replace(b"\xa7context\x80", b"\xa7context\x81\xa1n" + b"\x91" * depth + b"\xc0")


# each case: the SQL that breaks actor 'bad' (its row holds version 1 of a counter at n=1)
ROW_TAMPERING = {
    "deeply-nested-msgpack": (
        "UPDATE actors SET snapshot = ? WHERE id = 'bad'",
        (_deep_msgpack(300_000),),
    ),
    "format-not-a-number": ("UPDATE actors SET format = 'x' WHERE id = 'bad'", ()),
    "snapshot-as-text": ("UPDATE actors SET snapshot = 'hello' WHERE id = 'bad'", ()),
    "version-as-text": ("UPDATE actors SET version = 'one' WHERE id = 'bad'", ()),
    "truncated": ("UPDATE actors SET snapshot = substr(snapshot, 1, 20) WHERE id = 'bad'", ()),
}


async def _two_actors(db: Path) -> None:
    async with ActorSystem(store=SQLiteStore(db)) as system:
        for aid in ("bad", "good"):
            await system.ref(COUNTER, aid).ask("inc")


def _tamper(db: Path, sql: str, params: tuple[Any, ...]) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


@pytest.mark.parametrize("case", list(ROW_TAMPERING))
async def test_a_row_that_cannot_be_decoded_quarantines_that_actor_only(
    tmp_path: Path, case: str
) -> None:
    db = tmp_path / "fleet.db"
    await _two_actors(db)
    _tamper(db, *ROW_TAMPERING[case])
    store = SQLiteStore(db)
    async with ActorSystem(store=store, charts=[COUNTER]) as system:
        with pytest.raises(CorruptRecordError, match="'bad' is quarantined"):
            await system.ref(COUNTER, "bad").ask("inc")
        snap = await system.ref(COUNTER, "good").ask("inc")
        assert snap.context["n"] == 2
        (letter,) = await store.dead_letters("bad")
        assert letter.kind == "snapshot"
        fresh = await system.ref(COUNTER, "new").ask("inc")
        assert fresh.context["n"] == 1
    # the system closed cleanly and the quarantine is durable
    async with SQLiteStore(db) as again:
        assert await again.count_actors("quarantined") == 1
        with pytest.raises(CorruptRecordError):
            await again.load("bad")


async def test_an_inbox_event_that_cannot_be_decoded_goes_to_the_dead_letters(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.db"
    await _two_actors(db)
    # [format, {"name": "inc", "data": [[[...]]]}]: nested too deep
    deep = b"\x92\x01\x82\xa4name\xa3inc\xa4data" + b"\x91" * 300_000 + b"\xc0"
    _tamper(
        db,
        "INSERT INTO inbox (seq, actor_id, event, accepted_at) VALUES (1000, 'bad', ?, 0)",
        (deep,),
    )
    _tamper(
        db,
        "INSERT INTO inbox (seq, actor_id, event, accepted_at) VALUES (1001, 'bad', 'text', 0)",
        (),
    )
    store = SQLiteStore(db)
    async with ActorSystem(store=store, charts=[COUNTER]) as system:
        snap = await system.ref(COUNTER, "bad").ask("inc")
        assert snap.context["n"] == 2
        letters = await store.dead_letters("bad")
        assert [d.kind for d in letters] == ["event", "event"]
        assert "nested too deeply" in letters[0].reason
        assert (await system.ref(COUNTER, "good").ask("inc")).context["n"] == 2
