"""Seed 002, step 3 (continued): one EntitySession per entity, snapshot and restore."""

import json
from pathlib import Path

from statefleet.formats.pystator import EntitySession, StateMachine

HERE = Path(__file__).parent

machine = StateMachine.from_yaml(HERE / "order_fsm.yaml")

# Create a stateful instance for one entity
order = machine.create(context={"order_id": "order-123", "order_qty": 100})

print(order.current_state)  # pending
print(order.is_pending)  # True  - auto-generated property for every state
print(order.is_final)  # False

# Send events; payload merges into context
order.send("exchange_ack")
print(order.current_state)  # open

order.send("fill", fill_qty=100)
print(order.current_state)  # filled
print(order.is_final)  # True

# Auto-generated trigger methods (equivalent to send):
other = machine.create(context={"order_id": "order-124", "order_qty": 10})
other.exchange_ack()
other.fill(fill_qty=10)
print(other.current_state, other.context["fill_qty"])  # filled 10

# Serialize/restore state (e.g. to/from Redis or a DB): the snapshot is a JSON-ready dict
snapshot = order.snapshot()
stored = json.dumps(snapshot)
restored = EntitySession.from_snapshot(machine, json.loads(stored))
print(restored.current_state)  # filled
print(restored.context["order_id"])  # order-123
