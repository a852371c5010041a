"""Seed 003, "Delayed transitions": a state `timeout` and a transition `after` really fire.

Sessions wait on a clock: a virtual one by default (advance() moves it, no sleeping), or a
RealClock with poll(). The stateless path returns the timers to schedule instead.
"""

from pathlib import Path

from statefleet import RealClock
from statefleet.formats.pystator import EntitySession, StateMachine

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "order_timeouts.yaml")
machine.action("notify_expired")(lambda ctx: print(f"   order {ctx['order_id']} expired"))

# A state timeout: pending -> timed_out_ack after 30 s without an exchange_ack
slow = machine.create(context={"order_id": "o-1"}, entity_id="o-1")
print(slow.current_state, slow.next_due)  # pending 30.0
slow.advance(29)
print(slow.current_state)  # pending
fired = slow.advance(1)
print([(r.trigger, r.target_state) for r in fired])  # [('timeout', 'timed_out_ack')]

# Leaving the state cancels its timers: no timeout once acknowledged
quick = machine.create(context={"order_id": "o-2"}, entity_id="o-2")
quick.exchange_ack()
print(quick.current_state, quick.next_due)  # open 5.0 (the `after: 5s` of `expire`)

# Timers survive a snapshot: restore and keep waiting
saved = quick.snapshot()
restored = EntitySession.from_snapshot(machine, saved)
restored.advance(5)
print(restored.current_state)  # expired

# ... or the trigger comes first and the timer is cancelled
filled = machine.create(context={"order_id": "o-3"}, entity_id="o-3")
filled.exchange_ack()
filled.fill()
print(filled.current_state, filled.next_due)  # filled None

# Stateless: the result says what to schedule; call process() with it when it is due
result = machine.process("pending", "exchange_ack", {"order_id": "o-4"}, now=100.0)
for timer in result.scheduled:
    print(timer.trigger, timer.delay, timer.due)  # expire 5.0 105.0
later = machine.process(result, result.scheduled[0].event, {"order_id": "o-4"})
print(later.trigger, later.target_state, later.action_names)  # expire expired [...]

# With a real clock, poll() fires whatever is due (nothing yet, a moment after creation)
live = machine.create(context={"order_id": "o-5"}, clock=RealClock())
print(live.poll(), live.current_state)  # [] pending
