"""Seed 002, step 5: inline guards in YAML (`expr: "fill_qty >= order_qty"`).

The expression is evaluated with simpleeval over the context: no eval, no imports, no
attribute tricks. statefleet needs no extra to use it.
"""

from pathlib import Path

from statefleet.formats.pystator import StateMachine

HERE = Path(__file__).parent

machine = StateMachine.from_yaml(HERE / "order_fsm_expr.yaml")

full = machine.process("open", "fill", {"fill_qty": 100, "order_qty": 100})
print(full.target_state)  # filled

partial = machine.process("open", "fill", {"fill_qty": 30, "order_qty": 100})
print(partial.target_state)  # partially_filled

nothing = machine.process("open", "fill", {"fill_qty": 0, "order_qty": 100})
print(nothing.success, nothing.metadata["reason"])  # False guard_rejected
print(nothing.metadata["guard_name"])  # expr: fill_qty >= order_qty
