"""Seed 002, step 6: actions run by an ActionExecutor after you persist the new state."""

from pathlib import Path

from statefleet.formats.pystator import ActionExecutor, ActionRegistry, GuardRegistry, StateMachine

HERE = Path(__file__).parent

# order_fsm_guarded.yaml: `fill` has `actions: [update_positions]`
machine = StateMachine.from_yaml(HERE / "order_fsm_guarded.yaml")
guards = GuardRegistry()
guards.register("is_full_fill", lambda ctx: ctx.get("fill_qty", 0) >= ctx.get("order_qty", 1))
machine.bind_guards(guards)

actions = ActionRegistry()
actions.register("update_positions", lambda ctx: print("Positions updated"))
executor = ActionExecutor(actions)

database: dict[str, str | None] = {"order-123": "open"}

result = machine.process("open", "fill", {"fill_qty": 100, "order_qty": 100})
print(result.action_names)  # ['update_positions'] - decided, not run yet
if result.success:
    # 1. Persist state change (your DB)
    database["order-123"] = result.target_state
    print("persisted:", database["order-123"])
    # 2. Then execute actions
    executor.execute(result, {"fill_qty": 100, "order_qty": 100})
