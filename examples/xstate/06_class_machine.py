"""Seed 001, "Pythonic Final States / In StateMachine Class", written as a config.

The seed's ``class OrderMachine(StateMachine)`` with ``State(..., final=True)`` and
``pending.to(processing, event="START")`` is the same chart as this config. statefleet's class
DSL is ``statefleet.StateChart`` (seed 000's ``State``/``Event``/``a.to(b)``); the XState
dialect itself is dicts and JSON.
"""

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession

config = {
    "id": "order",
    "initial": "pending",
    "states": {
        "pending": {"on": {"START": "processing", "CANCEL": "cancelled"}},
        "processing": {"on": {"COMPLETE": "completed"}},
        "completed": {"type": "final"},
        "cancelled": {"type": "final"},
    },
}

machine = from_dict(config)
interp = XStateSession(machine).start()
interp.send("START")
interp.send("COMPLETE")
print(interp.active_state_ids)
# {'order.completed'}
interp.stop()
