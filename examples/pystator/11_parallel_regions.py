"""Seed 003, "Parallel states": orthogonal regions, region-scoped transitions, and an auto
(eventless) transition leaving the parallel state when both regions are done."""

from pathlib import Path

from statefleet.formats.pystator import StateMachine

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "order_fulfillment.yaml")
machine.action("send_receipt")(lambda ctx: print(f"   receipt for {ctx['amount']}"))

order = machine.create(context={"total": 50}, entity_id="order-9")
order.submit()
print(order.current_state)  # processing
print(order.region_states)  # {'payment': 'awaiting_payment', 'shipping': 'packing'}

rejected = order.pay(amount=20)
print(rejected.success, rejected.error.guard_name)  # False expr: amount >= total

order.pay(amount=50)
print(order.region_states)  # {'payment': 'paid', 'shipping': 'packing'}
print(order.is_paid, order.is_shipped)  # True False

order.ship()
print(order.current_state, order.is_final)  # completed True

# Stateless: name one state per region (unnamed regions start at their initial state)
result = machine.process(["paid", "packing"], "ship", {"total": 50})
print(result.target_state)  # completed
result = machine.process("processing", "ship", {"total": 50})
print(result.active_states)  # ('awaiting_payment', 'shipped')
