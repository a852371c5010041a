"""Seed 003, "The sandwich pattern": Load -> Decide -> Commit -> Act, with a dict as the
state store. Actions run only after the commit, so side effects match persisted state; a
failed commit means no side effects at all."""

from pathlib import Path
from typing import Any

from statefleet.formats.pystator import (
    ActionExecutor,
    ActionRegistry,
    GuardRegistry,
    StateMachine,
)

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "order_fsm_guarded.yaml")
machine.bind_guards(GuardRegistry({"is_full_fill": lambda c: c["fill_qty"] >= c["order_qty"]}))
executor = ActionExecutor(
    ActionRegistry({"update_positions": lambda c: print(f"   act: positions for {c['id']}")})
)

store: dict[str, dict[str, Any]] = {
    "order-1": {"state": "open", "context": {"id": "order-1", "order_qty": 10}},
    "order-2": {"state": "open", "context": {"id": "order-2", "order_qty": 10}},
}


class StoreUnavailable(Exception):
    pass


def handle(entity_id: str, trigger: str, payload: dict[str, Any], *, fail_commit: bool) -> None:
    row = store[entity_id]  # 1. Load
    context = {**row["context"], **payload}
    result = machine.process(row["state"], trigger, context)  # 2. Decide (pure)
    if not result.success:
        print(f"{entity_id}: {trigger} rejected ({result.metadata['reason']})")
        return
    try:  # 3. Commit
        if fail_commit:
            raise StoreUnavailable("database is down")
        store[entity_id] = {"state": result.target_state, "context": context}
    except StoreUnavailable as exc:
        print(f"{entity_id}: commit failed ({exc}); no actions run")
        return
    print(f"{entity_id}: committed {result.target_state}")
    executor.execute(result, context)  # 4. Act


handle("order-1", "fill", {"fill_qty": 3}, fail_commit=False)
handle("order-1", "fill", {"fill_qty": 10}, fail_commit=False)
handle("order-2", "fill", {"fill_qty": 10}, fail_commit=True)
print({k: v["state"] for k, v in store.items()})
