"""Seed 002, step 5: guards registered in Python and bound to the machine."""

from pathlib import Path

from statefleet.formats.pystator import GuardRegistry, StateMachine

HERE = Path(__file__).parent

# order_fsm_guarded.yaml is order_fsm.yaml with `guards: [is_full_fill]` on `fill`
machine = StateMachine.from_yaml(HERE / "order_fsm_guarded.yaml")

guards = GuardRegistry()
guards.register("is_full_fill", lambda ctx: ctx.get("fill_qty", 0) >= ctx.get("order_qty", 1))
machine.bind_guards(guards)

# Only succeeds if context satisfies the guard
result = machine.process("open", "fill", {"fill_qty": 100, "order_qty": 100})
print(result.success, result.target_state)  # True filled

result = machine.process("open", "fill", {"fill_qty": 40, "order_qty": 100})
print(result.success, result.metadata["guard_name"])  # False is_full_fill
