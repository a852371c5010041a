"""Seed 001, "Basic Example: Checkout Flow": a final state ends the machine.

The seed's ``create_machine(config)`` / ``SyncInterpreter(machine).start()`` are
``statefleet.from_dict(config)`` / ``XStateSession(chart).start()``.
"""

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession

config = {
    "id": "checkout",
    "initial": "cart",
    "states": {
        "cart": {"on": {"CHECKOUT": "payment"}},
        "payment": {"on": {"PAY": "confirmation"}},
        "confirmation": {"type": "final"},
    },
}

machine = from_dict(config)
interp = XStateSession(machine).start()
print(interp.active_state_ids)
# {'checkout.cart'}
interp.send("CHECKOUT")
interp.send("PAY")
print(interp.active_state_ids)
# {'checkout.confirmation'}

# Sending further events has no effect: the machine is done
interp.send("CHECKOUT")
print(interp.active_state_ids)
# {'checkout.confirmation'} (still in the final state)
print(interp.done)
# True
interp.stop()
