"""Seed 003, "Running a machine: three ways": EntitySession, stateless process(), and the
orchestrator loop (load by entity id, process, persist, act) over a state store.

The durable orchestrator is served by statefleet's persistence layer; here the store is a
dict, which is all the loop needs.
"""

from pathlib import Path
from typing import Any

from statefleet.formats.pystator import (
    ActionExecutor,
    ActionRegistry,
    GuardRegistry,
    StateMachine,
    TransitionResult,
)

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "order_fsm_guarded.yaml")
machine.bind_guards(GuardRegistry({"is_full_fill": lambda c: c["fill_qty"] >= c["order_qty"]}))
actions = ActionRegistry({"update_positions": lambda c: print(f"  positions += {c['fill_qty']}")})

# 1. EntitySession: the entity in memory; the session commits, then runs bound actions
machine.bind_actions(actions)
order = machine.create(context={"order_id": "order-1", "order_qty": 5})
order.exchange_ack()
order.fill(fill_qty=5)
print("session:", order.current_state)

# 2. Stateless process(): you hold the state, persist it and run the actions yourself
result = machine.process("open", "fill", {"fill_qty": 5, "order_qty": 5})
print("process:", result.source_state, "->", result.target_state, result.action_names)


# 3. Orchestrator: load by entity id -> process -> persist -> act
class Orchestrator:
    """The sandwich over a state store keyed by entity id."""

    def __init__(self, machine: StateMachine, store: dict[str, dict[str, Any]]) -> None:
        self.machine = machine
        self.store = store
        self.executor = ActionExecutor(machine.actions)

    def process_event(
        self, entity_id: str, trigger: str, context: dict[str, Any]
    ) -> TransitionResult:
        row = self.store[entity_id]  # 1. load
        ctx = {**row["context"], **context}
        result = self.machine.process(row["state"], trigger, ctx)  # 2. decide (pure)
        if result.success:
            self.store[entity_id] = {"state": result.target_state, "context": ctx}  # 3. commit
            self.executor.execute(result, ctx)  # 4. act
        return result


store = {"order-2": {"state": "pending", "context": {"order_qty": 3}}}
orchestrator = Orchestrator(machine, store)
orchestrator.process_event("order-2", "exchange_ack", {})
rejected = orchestrator.process_event("order-2", "fill", {"fill_qty": 1})
print("orchestrator:", store["order-2"]["state"], rejected.metadata["reason"])
orchestrator.process_event("order-2", "fill", {"fill_qty": 3})
print("orchestrator:", store["order-2"]["state"])
