"""Seed 001, "onDone with Actions": the ``onDone`` transition runs its actions, found by name
on a ``MachineLogic`` subclass (seed signature ``(interpreter, context, event, action_def)``)."""

from statefleet import from_dict
from statefleet.formats.xstate import MachineLogic, XStateSession

config = {
    "id": "withActions",
    "initial": "processing",
    "states": {
        "processing": {
            "initial": "validating",
            "states": {
                "validating": {"on": {"VALID": "complete"}},
                "complete": {"type": "final"},
            },
            "onDone": {"target": "finished", "actions": "logCompletion"},
        },
        "finished": {"type": "final"},
    },
}


class CompletionLogic(MachineLogic):
    def logCompletion(self, interpreter, context, event, action_def):
        print("Processing complete! Moving to finished state.")


machine = from_dict(config, logic=CompletionLogic())
interp = XStateSession(machine).start()
interp.send("VALID")
# Output: Processing complete! Moving to finished state.
print(interp.active_state_ids)
# {'withActions.finished'}
interp.stop()
