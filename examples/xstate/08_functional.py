"""Seed 001, "In Functional API", written as a config assembled by functions.

The seed declares ``State`` objects, links them with ``pending.to(processing,
event="START")`` and calls ``build_machine(id="order", states=[...])``. The equivalent builds
the config from plain data (statefleet's class DSL is ``statefleet.StateChart``).
"""

from typing import Any

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession


def state(name: str, *, initial: bool = False, final: bool = False) -> dict[str, Any]:
    return {"name": name, "initial": initial, "final": final, "on": {}}


def to(source: dict[str, Any], target: dict[str, Any], *, event: str) -> None:
    source["on"][event] = target["name"]


def build_machine(*, id: str, states: list[dict[str, Any]]) -> Any:
    config: dict[str, Any] = {"id": id, "states": {}}
    for s in states:
        node: dict[str, Any] = {"type": "final"} if s["final"] else {}
        if s["on"]:
            node["on"] = dict(s["on"])
        config["states"][s["name"]] = node
        if s["initial"]:
            config["initial"] = s["name"]
    return from_dict(config)


pending = state("pending", initial=True)
processing = state("processing")
completed = state("completed", final=True)
cancelled = state("cancelled", final=True)

to(pending, processing, event="START")
to(processing, completed, event="COMPLETE")
to(pending, cancelled, event="CANCEL")

machine = build_machine(id="order", states=[pending, processing, completed, cancelled])

interp = XStateSession(machine).start()
interp.send("START")
interp.send("COMPLETE")
print(interp.active_state_ids)
# {'order.completed'}
interp.stop()
