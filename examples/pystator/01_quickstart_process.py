"""Seed 002, step 3: load the YAML machine and process one event (pure computation)."""

from pathlib import Path

from statefleet.formats.pystator import StateMachine

HERE = Path(__file__).parent

machine = StateMachine.from_yaml(HERE / "order_fsm.yaml")

# Process one event (pure computation)
result = machine.process("pending", "exchange_ack", {})

print(result.success)  # True
print(result.source_state)  # pending
print(result.target_state)  # open
