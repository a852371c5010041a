"""Seed 001, "In MachineBuilder", written as a config built step by step.

The seed chains ``MachineBuilder("order").state(...).transition(src, EVENT, dst).build()``.
The same chart is a plain dict, so a builder is a few lines of Python around ``from_dict``
(statefleet's class DSL is ``statefleet.StateChart``).
"""

from typing import Any

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession


def machine_config(machine_id: str) -> dict[str, Any]:
    return {"id": machine_id, "states": {}}


def add_state(
    config: dict[str, Any], name: str, *, initial: bool = False, final: bool = False
) -> None:
    config["states"][name] = {"type": "final"} if final else {}
    if initial:
        config["initial"] = name


def add_transition(config: dict[str, Any], source: str, event: str, target: str) -> None:
    config["states"][source].setdefault("on", {})[event] = target


config = machine_config("order")
add_state(config, "pending", initial=True)
add_state(config, "processing")
add_state(config, "completed", final=True)
add_state(config, "cancelled", final=True)
add_transition(config, "pending", "START", "processing")
add_transition(config, "processing", "COMPLETE", "completed")
add_transition(config, "pending", "CANCEL", "cancelled")
machine = from_dict(config)

interp = XStateSession(machine).start()
interp.send("CANCEL")
print(interp.active_state_ids)
# {'order.cancelled'}
interp.stop()
