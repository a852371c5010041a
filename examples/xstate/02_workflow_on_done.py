"""Seed 001, "Final States in Compound States": a child's final state fires the parent's
``onDone`` (the event ``done.state.workflow.processing``)."""

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession

config = {
    "id": "workflow",
    "initial": "processing",
    "states": {
        "processing": {
            "initial": "step1",
            "states": {
                "step1": {"on": {"NEXT": "step2"}},
                "step2": {"on": {"NEXT": "step3"}},
                "step3": {"on": {"FINISH": "complete"}},
                "complete": {"type": "final"},
            },
            "onDone": "finished",
        },
        "finished": {"type": "final"},
    },
}

machine = from_dict(config)
interp = XStateSession(machine).start()
print(interp.active_state_ids)
# {'workflow.processing.step1'}
interp.send("NEXT")  # step1 -> step2
interp.send("NEXT")  # step2 -> step3
interp.send("FINISH")  # step3 -> complete (final)
# -> done.state.workflow.processing -> onDone -> processing exits -> finished
print(interp.active_state_ids)
# {'workflow.finished'}
interp.stop()
