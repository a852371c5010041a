"""pystator's orchestrator (seed 003) over a durable store: load -> decide -> commit -> act.

The state of each order lives in SQLite, keyed by entity id. ``machine.process`` decides
(pure: nothing runs), ``store.commit`` persists the new snapshot with a version check, and
only then do the actions run. A failed or stale commit runs no actions at all; a restart
finds every committed order where it was.
"""

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from statefleet.formats.pystator import (
    ActionExecutor,
    ActionRegistry,
    GuardRegistry,
    StateMachine,
    TransitionResult,
)
from statefleet.persistence import SQLiteStore, Store, VersionConflictError, make_commit

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "pystator" / "order_fsm_guarded.yaml")
machine.bind_guards(GuardRegistry({"is_full_fill": lambda c: c["fill_qty"] >= c["order_qty"]}))
executor = ActionExecutor(
    ActionRegistry({"update_positions": lambda c: print(f"  act: positions for {c['id']}")})
)


async def handle(
    store: Store, entity_id: str, trigger: str, payload: dict[str, Any]
) -> TransitionResult:
    """One event for one entity: the sandwich."""
    loaded = await store.load(entity_id)  # 1. load
    previous = loaded.record.snapshot if loaded.record else None
    if previous is None:
        previous_state: Any = machine.snapshot_for(machine.initial_state, {"id": entity_id})
    else:
        previous_state = previous
    context = {**previous_state.context, **payload}
    result = machine.process(previous_state, trigger, context)  # 2. decide (pure)
    if not result.success:
        print(f"{entity_id}: {trigger} rejected ({result.metadata['reason']})")
        return result
    assert result.snapshot is not None
    # 3. commit: the new snapshot, checked against the version we loaded
    await store.commit(make_commit(entity_id, result.snapshot, previous=previous))
    print(f"{entity_id}: {trigger} -> {result.target_state} (committed)")
    executor.execute(result, context)  # 4. act, only after the commit
    return result


async def main(path: Path) -> None:
    async with SQLiteStore(path) as store:
        await handle(store, "order-1", "exchange_ack", {"order_qty": 10})
        await handle(store, "order-1", "fill", {"fill_qty": 3})
        await handle(store, "order-2", "exchange_ack", {"order_qty": 5})

        # two workers decide on the same order from the same load: the second commit is
        # stale, so it is refused and its actions never run
        loaded = await store.load("order-2")
        assert loaded.record is not None
        snap = loaded.record.snapshot
        ctx = {**snap.context, "fill_qty": 5}
        first = machine.process(snap, "fill", ctx)
        second = machine.process(snap, "fill", ctx)
        assert first.snapshot is not None and second.snapshot is not None
        await store.commit(make_commit("order-2", first.snapshot, previous=snap))
        print(f"order-2: first worker fill -> {first.target_state} (committed)")
        executor.execute(first, ctx)
        try:
            await store.commit(make_commit("order-2", second.snapshot, previous=snap))
            executor.execute(second, ctx)
        except VersionConflictError as exc:
            print(f"order-2: second worker refused ({exc}); no actions run")

    # a restart: everything committed is there
    async with SQLiteStore(path) as store:
        for entity_id in await store.actor_ids():
            record = (await store.load(entity_id)).record
            assert record is not None
            state = machine.current_state_of(record.snapshot.configuration)
            print(f"after restart: {entity_id} is {state} (version {record.version})")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "orders.db"))
