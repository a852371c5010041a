"""The actor system on PostgresStore: the durable-actor scenarios of
``test_durable_actors`` (durable sends, recovery, timers across restarts, virtual actors and
passivation, children, deliveries, chart registration) run here unchanged against a real
PostgreSQL server, plus what only a database server has: a corrupt row written by another
client, and the server restarted under load with nothing acknowledged lost."""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import ActorEscalated, PersistenceError
from statefleet.persistence import CorruptRecordError, PostgresStore, Store
from statefleet.persistence._pgserver import TempPostgres

from .test_durable_actors import (
    COUNTER,
    Recorder,
    many_actors_commit_in_shared_transactions,
    test_a_chart_changed_without_a_new_version_is_refused,
    test_a_passivated_actor_wakes_for_its_timer,
    test_a_ref_creates_the_entity_then_restores_it,
    test_a_ref_with_another_chart_than_the_stored_one_is_refused,
    test_a_stale_actorref_of_a_passivated_entity_still_delivers,
    test_a_stored_actor_whose_chart_changed_gets_a_clear_error,
    test_accepted_events_not_yet_applied_are_applied_after_a_restart,
    test_an_event_to_a_passivated_actor_activates_it,
    test_an_event_to_an_entity_not_created_yet_creates_it,
    test_an_overdue_timer_fires_at_once_on_start,
    test_async_invocations_of_active_states_start_again_on_activation,
    test_bad_registrations_and_addresses_are_refused,
    test_events_between_actors_are_committed_with_the_sender,
    test_events_to_an_unknown_actor_end_in_the_dead_letters,
    test_idle_actors_are_passivated_and_come_back,
    test_invoked_children_are_restored_with_their_state,
    test_macrosteps_are_published_to_listeners,
    test_send_returns_once_the_event_is_durable,
    test_timers_fire_at_their_original_due_time_after_a_restart,
)

pytestmark = pytest.mark.anyio

# the scenarios above are collected here too, with the fixtures below: on PostgreSQL
__all__ = [
    "test_a_chart_changed_without_a_new_version_is_refused",
    "test_a_passivated_actor_wakes_for_its_timer",
    "test_a_ref_creates_the_entity_then_restores_it",
    "test_a_ref_with_another_chart_than_the_stored_one_is_refused",
    "test_a_stale_actorref_of_a_passivated_entity_still_delivers",
    "test_a_stored_actor_whose_chart_changed_gets_a_clear_error",
    "test_accepted_events_not_yet_applied_are_applied_after_a_restart",
    "test_an_event_to_a_passivated_actor_activates_it",
    "test_an_event_to_an_entity_not_created_yet_creates_it",
    "test_an_overdue_timer_fires_at_once_on_start",
    "test_async_invocations_of_active_states_start_again_on_activation",
    "test_bad_registrations_and_addresses_are_refused",
    "test_events_between_actors_are_committed_with_the_sender",
    "test_events_to_an_unknown_actor_end_in_the_dead_letters",
    "test_idle_actors_are_passivated_and_come_back",
    "test_invoked_children_are_restored_with_their_state",
    "test_macrosteps_are_published_to_listeners",
    "test_send_returns_once_the_event_is_durable",
    "test_timers_fire_at_their_original_due_time_after_a_restart",
]


@pytest.fixture
def kind() -> tuple[str, str]:
    return ("postgres", "asyncio")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def new_store(pg_server: TempPostgres, pg_schema: str) -> Any:
    """A store for the next run of the fleet: the same schema every time."""

    def make(**options: Any) -> Store:
        return PostgresStore(pg_server.dsn, schema=pg_schema, **options)

    return make


async def test_a_corrupt_actor_is_quarantined_and_the_others_keep_running(
    new_store: Any, pg_server: TempPostgres, pg_schema: str
) -> None:
    async with ActorSystem(store=new_store()) as system:
        for aid in ("bad", "good"):
            await system.ref(COUNTER, aid).ask("inc")
    conn = await asyncpg.connect(pg_server.dsn)
    await conn.execute(f"UPDATE {pg_schema}.actors SET snapshot = '\\x00ff00' WHERE id = 'bad'")
    await conn.close()
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


async def test_many_actors_commit_in_shared_transactions(new_store: Any) -> None:
    await many_actors_commit_in_shared_transactions(new_store())


async def test_a_restarted_server_under_load_loses_and_repeats_nothing(
    new_store: Any, pg_server: TempPostgres
) -> None:
    acked: dict[str, list[int]] = {f"a{n}": [] for n in range(5)}
    failed: list[BaseException] = []
    restarted = anyio.Event()
    store = new_store(reconnect_timeout=60.0)
    async with ActorSystem(store=store) as system:

        async def sender(aid: str) -> None:
            ref = system.ref(COUNTER, aid)
            i = 0
            while not restarted.is_set() or i < 20:  # before, during and after the restart
                try:
                    await ref.send("inc", i=i)
                    acked[aid].append(i)
                except PersistenceError as exc:
                    failed.append(exc)
                i += 1

        async def restart() -> None:
            await anyio.to_thread.run_sync(pg_server.restart)
            restarted.set()

        async with anyio.create_task_group() as tg:
            for aid in acked:
                tg.start_soon(sender, aid)
            tg.start_soon(restart)
        await system.wait_idle()
        assert store.stats["reconnects"] >= 1  # the restart did cut the store off
    assert failed == []  # the store settles a cut-off COMMIT by asking the database
    async with ActorSystem(store=new_store(), charts=[COUNTER]) as system:
        await system.wait_idle()
        for aid, sent in acked.items():
            seen = (await system.ref(COUNTER, aid).snapshot()).context.get("seen", [])
            assert len(seen) == len(set(seen)), f"{aid} applied an event twice"
            assert set(sent) <= set(seen), f"{aid} lost acknowledged events"
