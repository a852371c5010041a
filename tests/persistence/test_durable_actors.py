"""The actor system on a durable store: durable sends, recovery, timers across restarts,
virtual actors and passivation, children, deliveries between actors, chart registration,
corrupt rows and a failing store. Runs on MemoryStore (asyncio and trio: a restart reuses
the instance) and on SQLiteStore (asyncio)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import (
    ActorError,
    ActorEscalated,
    ActorStopped,
    AfterSpec,
    Chart,
    ChartSpec,
    DataSpec,
    EventData,
    InvokeSpec,
    MacrostepRecord,
    PersistenceError,
    Record,
    SnapshotError,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)
from statefleet.persistence import (
    ChartMismatchError,
    CorruptRecordError,
    MemoryStore,
    SQLiteStore,
    Store,
)

pytestmark = pytest.mark.anyio


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1
    data = ctx.event.data or {}
    ctx.context.setdefault("seen", []).append(data.get("i"))
    if "pad" in data:
        ctx.context.setdefault("pads", []).append(data["pad"])


def _stamp(ctx: Any) -> None:
    ctx.context["rang_at"] = ctx.now


def counter(version: str = "1", *, timer: float = 30.0) -> Chart:
    """``inc`` counts (and records ``i``); ``arm`` starts a ``timer``-second ``after``
    (which records when it fired in ``rang_at``)."""
    return compile_chart(
        ChartSpec(
            id="counter",
            version=version,
            data=[DataSpec("n", 0)],
            states=[
                StateSpec(
                    id="idle",
                    transitions=[
                        TransitionSpec(event=("inc",), actions=(_inc,), type="internal"),
                        TransitionSpec(event=("arm",), target=("armed",)),
                    ],
                ),
                StateSpec(
                    id="armed",
                    after=[
                        AfterSpec(
                            delay=timer,
                            transition=TransitionSpec(target=("rang",), actions=(_stamp,)),
                        )
                    ],
                    transitions=[TransitionSpec(event=("inc",), actions=(_inc,), type="internal")],
                ),
                StateSpec(
                    id="rang",
                    transitions=[TransitionSpec(event=("inc",), actions=(_inc,), type="internal")],
                ),
            ],
        )
    )


COUNTER = counter()


class Recorder:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def __call__(self, record: Record) -> None:
        self.records.append(record)


KINDS = [("memory", "asyncio"), ("memory", "trio"), ("sqlite", "asyncio")]


@pytest.fixture(params=KINDS, ids=[f"{k}-{b}" for k, b in KINDS])
def kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def anyio_backend(kind: tuple[str, str]) -> str:
    return kind[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "fleet.db"


@pytest.fixture
def new_store(kind: tuple[str, str], db: Path) -> Any:
    """A store for the next run of the fleet: the same data every time."""
    memory = MemoryStore()

    def make() -> Store:
        return memory if kind[0] == "memory" else SQLiteStore(db)

    return make


async def test_a_ref_creates_the_entity_then_restores_it(new_store: Any) -> None:
    async with ActorSystem(store=new_store()) as system:
        order = system.ref(COUNTER, "order-1")
        assert not order.is_active
        for i in range(3):
            snap = await order.ask("inc", i=i)
        assert snap.context["n"] == 3
        assert order.is_active
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        order = system.ref(COUNTER, "order-1")
        snap = await order.ask("inc", i=3)
        assert snap.context["n"] == 4
        assert snap.context["seen"] == [0, 1, 2, 3]
        assert snap.version == 4


async def test_send_returns_once_the_event_is_durable(new_store: Any) -> None:
    store = new_store()
    async with ActorSystem(store=store) as system:
        ref = system.ref(COUNTER, "a")
        await ref.ask("inc")
        for i in range(20):
            await ref.send("inc", i=i)
            # acknowledged: in the inbox, or already consumed by a committed macrostep
            loaded = await store.load("a")
            assert loaded.record is not None
            assert loaded.record.version + len(loaded.inbox) >= i + 2
        await system.wait_idle()
        loaded = await store.load("a")
        assert loaded.inbox == ()
        assert loaded.record is not None
        assert loaded.record.snapshot.context["n"] == 21


async def test_accepted_events_not_yet_applied_are_applied_after_a_restart(
    new_store: Any,
) -> None:
    async with ActorSystem(store=new_store()) as system:
        await system.ref(COUNTER, "a").ask("inc", i=0)
    # events accepted, then the process died before applying them
    async with new_store() as store:
        await store.accept_many([("a", EventData("inc", {"i": i})) for i in (1, 2, 3)])
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        await system.wait_idle()  # recovery runs at start
        a = system.get("a")
        assert a is not None
        assert a.context["seen"] == [0, 1, 2, 3]
    async with new_store() as store:
        loaded = await store.load("a")
        assert loaded.inbox == ()
        assert loaded.record is not None
        assert loaded.record.snapshot.context["n"] == 4


async def test_timers_fire_at_their_original_due_time_after_a_restart(
    new_store: Any,
) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(1000.0)) as system:
        snap = await system.ref(COUNTER, "a").ask("arm")
        assert snap.pending[0].due == 1030.0
    async with ActorSystem(
        store=new_store(), charts=[COUNTER], clock=VirtualClock(1010.0)
    ) as system:
        await system.sleep(60)  # nothing touches the actor: its durable timer wakes it
        await system.wait_idle()
        a = system.get("a")
        assert a is not None
        assert a.configuration == {"rang"}
        assert a.context["rang_at"] == 1030.0
    async with new_store() as store:
        assert await store.next_due() is None
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.snapshot.context["rang_at"] == 1030.0


async def test_an_overdue_timer_fires_at_once_on_start(new_store: Any) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(1000.0)) as system:
        await system.ref(COUNTER, "a").ask("arm")
    async with ActorSystem(
        store=new_store(), charts=[COUNTER], clock=VirtualClock(5000.0)
    ) as system:
        a = await system.activate("a")
        snap = await a.wait_for("rang", timeout=1)
        assert snap.context["rang_at"] == 5000.0


async def test_idle_actors_are_passivated_and_come_back(new_store: Any) -> None:
    rec = Recorder()
    async with ActorSystem(
        store=new_store(), clock=VirtualClock(0.0), idle_timeout=10, listeners=[rec]
    ) as system:
        refs = [system.ref(COUNTER, f"e{i}") for i in range(5)]
        for r in refs:
            await r.ask("inc", i=1)
        live = system.get("e0")
        assert live is not None
        await system.sleep(30)
        assert not any(r.is_active for r in refs)
        assert system.actors == ()
        assert live.status == "passivated"
        assert (
            sum(isinstance(r, ActorStopped) and r.reason == "passivated" for r in rec.records) == 5
        )
        snap = await refs[0].ask("inc", i=2)
        assert snap.context["n"] == 2
        assert snap.context["seen"] == [1, 2]
        assert refs[0].is_active


async def test_a_passivated_actor_wakes_for_its_timer(new_store: Any) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(0.0), idle_timeout=4) as system:
        ref = system.ref(COUNTER, "sleeper")
        await ref.ask("arm")
        await system.sleep(10)
        assert not ref.is_active  # passivated with its timer pending
        await system.sleep(100)
        snap = await ref.snapshot()
        assert snap.configuration == ("rang",)
        assert snap.context["rang_at"] == 30.0


async def test_a_stale_actorref_of_a_passivated_entity_still_delivers(new_store: Any) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(0.0), idle_timeout=4) as system:
        ref = system.ref(COUNTER, "x")
        live = await ref.activate()
        await system.sleep(20)
        assert live.status == "passivated"
        await ref.send("inc", i=7)
        snap = await ref.wait_for(lambda s: s.context["n"] == 1, timeout=5)
        assert snap.context["seen"] == [7]


def _pong(ctx: Any) -> None:
    ctx.send("inc", {"i": ctx.event.data["i"]}, target=ctx.event.data["reply_to"])


PINGER = compile_chart(
    ChartSpec(
        id="pinger",
        states=[
            StateSpec(
                id="up",
                transitions=[TransitionSpec(event=("ping",), actions=(_pong,), type="internal")],
            )
        ],
    )
)


async def test_events_between_actors_are_committed_with_the_sender(new_store: Any) -> None:
    store = new_store()
    async with ActorSystem(store=store) as system:
        pinger = system.ref(PINGER, "pinger")
        counter_ref = system.ref(COUNTER, "counter")
        await counter_ref.ask("inc", i=0)
        for i in range(1, 6):
            await pinger.send("ping", i=i, reply_to="counter")
        live = await counter_ref.activate()
        snap = await live.wait_for(lambda s: s.context["n"] == 6, timeout=5)
        await system.wait_idle()
        assert snap.context["seen"] == [0, 1, 2, 3, 4, 5]
        assert await store.inbox("counter") == []
        assert await store.inbox("pinger") == []


async def test_an_event_to_a_passivated_actor_activates_it(new_store: Any) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(0.0), idle_timeout=4) as system:
        counter_ref = system.ref(COUNTER, "counter")
        await counter_ref.ask("inc", i=0)
        await system.sleep(20)
        assert not counter_ref.is_active
        await system.ref(PINGER, "p").send("ping", i=1, reply_to="counter")
        snap = await counter_ref.wait_for(lambda s: s.context["n"] == 2, timeout=5)
        assert snap.context["seen"] == [0, 1]


async def test_an_event_to_an_entity_not_created_yet_creates_it(new_store: Any) -> None:
    async with ActorSystem(store=new_store()) as system:
        fresh = system.ref(COUNTER, "fresh")  # held, never used yet
        await system.ref(PINGER, "p").send("ping", i=5, reply_to="fresh")
        snap = await fresh.wait_for(lambda s: s.context["n"] == 1, timeout=5)
        assert snap.context["seen"] == [5]


async def test_events_to_an_unknown_actor_end_in_the_dead_letters(new_store: Any) -> None:
    store = new_store()
    async with ActorSystem(store=store) as system:
        await system.ref(PINGER, "p").ask("ping", i=1, reply_to="nobody")
        await system.wait_idle()
        letters = await store.dead_letters("nobody")
        assert [d.kind for d in letters] == ["event"]
        assert "no such actor" in letters[0].reason
        assert await store.inbox("nobody") == []


def _child_chart() -> Chart:
    return compile_chart(
        ChartSpec(
            id="child",
            data=[DataSpec("n", 0)],
            states=[
                StateSpec(
                    id="counting",
                    transitions=[TransitionSpec(event=("inc",), actions=(_inc,), type="internal")],
                )
            ],
        )
    )


CHILD = _child_chart()


def _forward(ctx: Any) -> None:
    ctx.send("inc", ctx.event.data, target="#_worker")


PARENT = compile_chart(
    ChartSpec(
        id="parent",
        states=[
            StateSpec(
                id="working",
                invokes=[InvokeSpec(id="worker", src=CHILD)],
                transitions=[
                    TransitionSpec(event=("work",), actions=(_forward,), type="internal"),
                    TransitionSpec(event=("finish",), target=("finished",)),
                ],
            ),
            StateSpec(id="finished"),
        ],
    )
)


async def test_invoked_children_are_restored_with_their_state(new_store: Any) -> None:
    store = new_store()
    async with ActorSystem(store=store) as system:
        parent = system.ref(PARENT, "boss")
        for i in range(3):
            await parent.send("work", i=i)
        child = system.get("boss/worker")
        assert child is not None
        await child.wait_for(lambda s: s.context["n"] == 3, timeout=5)
        await system.wait_idle()
    async with ActorSystem(store=new_store(), charts=[PARENT]) as system:
        parent_live = await system.activate("boss")
        snap = parent_live.snapshot()
        assert snap.children["worker"].context["n"] == 3
        await system.ref(PARENT, "boss").send("work", i=3)
        child = system.get("boss/worker")
        assert child is not None
        done = await child.wait_for(lambda s: s.context["n"] == 4, timeout=5)
        assert done.context["seen"] == [0, 1, 2, 3]
        # leaving the state ends the invocation: the child's row goes
        await parent_live.ask("finish")
        await system.wait_idle()
    async with new_store() as s2:
        assert (await s2.load("boss/worker")).record is None


STARTS: list[str] = []
STARTED: list[anyio.Event] = []


async def _service(inv: Any) -> None:
    STARTS.append(inv.owner.id)
    STARTED[len(STARTS) - 1].set()
    await anyio.sleep_forever()


WATCHER = compile_chart(
    ChartSpec(
        id="watcher",
        states=[
            StateSpec(
                id="watching",
                invokes=[InvokeSpec(id="svc", src=_service)],
                transitions=[TransitionSpec(event=("stop",), target=("idle",))],
            ),
            StateSpec(id="idle"),
        ],
    )
)


async def test_async_invocations_of_active_states_start_again_on_activation(
    new_store: Any,
) -> None:
    STARTS.clear()
    STARTED[:] = [anyio.Event() for _ in range(3)]
    async with ActorSystem(store=new_store()) as system:
        await system.ref(WATCHER, "w").activate()
        await STARTED[0].wait()
    async with ActorSystem(store=new_store(), charts=[WATCHER]) as system:
        live = await system.activate("w")
        await STARTED[1].wait()  # started again with its state
        await live.ask("stop")
    async with ActorSystem(store=new_store(), charts=[WATCHER]) as system:
        await system.activate("w")
        await system.wait_idle()
        await anyio.wait_all_tasks_blocked()
        assert STARTS == ["w", "w"]  # its state exited: not started again


async def test_a_stored_actor_whose_chart_changed_gets_a_clear_error(new_store: Any) -> None:
    async with ActorSystem(store=new_store()) as system:
        await system.ref(COUNTER, "a").ask("inc")
    async with ActorSystem(store=new_store()) as system:
        with pytest.raises(ChartMismatchError, match=r"chart 'counter' .* is not registered"):
            await system.activate("a")
        with pytest.raises(
            ChartMismatchError, match=r"stored by version '1' of chart 'counter'.* version '2'"
        ) as info:
            await system.ref(counter("2"), "a").send("inc")
        assert info.value.actor_id == "a"
        assert isinstance(info.value, SnapshotError)
    async with new_store() as store:  # untouched
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.version == 1


async def test_a_chart_changed_without_a_new_version_is_refused(new_store: Any) -> None:
    async with ActorSystem(store=new_store(), clock=VirtualClock(0.0)) as system:
        await system.ref(COUNTER, "a").ask("arm")
    renamed = compile_chart(
        ChartSpec(
            id="counter",
            version="1",
            states=[StateSpec(id="idle"), StateSpec(id="elsewhere")],
        )
    )
    async with ActorSystem(store=new_store(), charts=[renamed]) as system:
        with pytest.raises(ChartMismatchError, match="changed without a new version"):
            await system.activate("a")


async def test_bad_registrations_and_addresses_are_refused(new_store: Any) -> None:
    # (two versions of a chart side by side are allowed: tests/persistence/test_versions.py)
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        with pytest.raises(ActorError, match="compiled Chart"):
            system.register("counter")  # type: ignore[arg-type]
        with pytest.raises(ActorError, match="entity id"):
            system.ref(COUNTER, "")
        with pytest.raises(ActorError, match="no actor 'ghost' in the store"):
            await system.activate("ghost")


async def test_a_ref_with_another_chart_than_the_stored_one_is_refused(new_store: Any) -> None:
    async with ActorSystem(store=new_store()) as system:
        await system.ref(COUNTER, "a").ask("inc")
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        with pytest.raises(ActorError, match="stored with chart 'counter', not 'pinger'"):
            await system.ref(PINGER, "a").send("ping")


async def test_macrosteps_are_published_to_listeners(new_store: Any) -> None:
    rec = Recorder()
    async with ActorSystem(store=new_store(), listeners=[rec]) as system:
        ref = system.ref(COUNTER, "a")
        await ref.ask("inc", i=1)
        await ref.send("inc", i=2)
        await system.wait_idle()
    steps = [r for r in rec.records if isinstance(r, MacrostepRecord) and r.event is not None]
    assert [(r.actor, r.event.name, r.version) for r in steps if r.event] == [
        ("a", "inc", 1),
        ("a", "inc", 2),
    ]


async def test_durable_options_need_a_durable_store() -> None:
    with pytest.raises(ActorError, match="need a durable store"):
        ActorSystem(idle_timeout=5)
    async with ActorSystem() as system:
        with pytest.raises(ActorError, match="ref needs a durable store"):
            system.ref(COUNTER, "a")
    with pytest.raises(ActorError, match="idle_timeout must be a positive number"):
        ActorSystem(store=MemoryStore(), idle_timeout=-1)


# -- SQLite only ----------------------------------------------------------------------------
def _sqlite(what: str) -> pytest.MarkDecorator:
    """Run a test on SQLite (asyncio) only: ``what`` it needs is a real file."""
    return pytest.mark.parametrize("kind", [("sqlite", "asyncio")], ids=[f"sqlite-{what}"])


@_sqlite("corrupt")
async def test_a_corrupt_actor_is_quarantined_and_the_others_keep_running(
    new_store: Any, db: Path
) -> None:
    async with ActorSystem(store=new_store()) as system:
        for aid in ("bad", "good"):
            await system.ref(COUNTER, aid).ask("inc")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE actors SET snapshot = x'00ff00' WHERE id = 'bad'")
    conn.close()
    rec = Recorder()
    store = new_store()
    async with ActorSystem(store=store, charts=[COUNTER], listeners=[rec]) as system:
        with pytest.raises(CorruptRecordError, match="'bad' is quarantined"):
            await system.ref(COUNTER, "bad").send("inc")
        snap = await system.ref(COUNTER, "good").ask("inc")
        assert snap.context["n"] == 2
        (letter,) = await store.dead_letters("bad")
        assert letter.payload == b"\x00\xff\x00"
        with pytest.raises(CorruptRecordError):
            await system.ref(COUNTER, "bad").ask("inc")
    escalations = [r for r in rec.records if isinstance(r, ActorEscalated)]
    assert [r.actor for r in escalations] == ["bad", "bad"]
    assert "'bad' is quarantined" in escalations[0].error


@_sqlite("full-disk")
async def test_a_full_disk_fails_the_send_and_loses_nothing_acknowledged(
    new_store: Any, db: Path
) -> None:
    acked = 0
    store = new_store()
    async with ActorSystem(store=store) as system:
        ref = system.ref(COUNTER, "a")
        for i in range(5):
            await ref.ask("inc", i=i)
            acked += 1
        conn = store._db
        assert conn is not None
        # the store's writer connection (a sqlite3 connection in its own thread)
        ((pages,),) = await conn.call(_fetch, "PRAGMA page_count")
        await conn.call(_fetch, f"PRAGMA max_page_count = {pages}")
        with pytest.raises(PersistenceError, match="disk is full"):
            for i in range(5, 200):
                await ref.send("inc", i=i, pad="x" * 5000)
                acked += 1
        await conn.call(_fetch, "PRAGMA max_page_count = 1073741823")
        await system.wait_idle()
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        await system.wait_idle()
        snap = await system.ref(COUNTER, "a").snapshot()
        assert snap.context["n"] == acked
        assert snap.context["seen"] == list(range(acked))
    conn2 = sqlite3.connect(db)
    assert conn2.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn2.close()


@_sqlite("many")
async def test_many_actors_commit_in_shared_transactions(new_store: Any) -> None:
    await many_actors_commit_in_shared_transactions(new_store())


async def many_actors_commit_in_shared_transactions(store: Any) -> None:
    """200 clients sending 5 events each to their own actor: commits share transactions.

    Run on SQLite here and on PostgreSQL by ``test_postgres_actors``: the store needs
    ``stats`` counting its batches and commits."""
    async with ActorSystem(store=store) as system:
        refs = [system.ref(COUNTER, f"a{i}") for i in range(200)]

        async def drive(r: Any) -> None:
            for i in range(5):
                await r.send("inc", i=i)

        async with anyio.create_task_group() as tg:
            for r in refs:
                tg.start_soon(drive, r)
        await system.wait_idle()
        assert store.stats["batches"] < store.stats["commits"] / 5
        for r in refs[:5]:
            assert (await r.snapshot()).context["n"] == 5


@_sqlite("one-write")
async def test_a_client_sending_one_event_at_a_time_pays_one_write_per_event(
    new_store: Any, db: Path
) -> None:
    # each send finds the actor committing its previous step at worst: the event joins its
    # next step (one transaction) instead of an inbox row and its consuming commit (two)
    store = new_store()
    async with ActorSystem(store=store) as system:
        ref = system.ref(COUNTER, "a")
        await ref.activate()  # its initial step is still being committed
        for i in range(20):
            await ref.send("inc", i=i)
        await system.wait_idle()
        assert store.stats["accepts"] == 0
        assert store.stats["commits"] == 21  # the initial step and one per event
    # and each acknowledged send is on disk
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version FROM actors WHERE id = 'a'").fetchone() == (20,)
    assert conn.execute("SELECT count(*) FROM inbox").fetchone() == (0,)
    conn.close()


def _fetch(db: sqlite3.Connection, sql: str) -> list[Any]:
    return db.execute(sql).fetchall()
