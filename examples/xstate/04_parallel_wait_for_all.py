"""Seed 001, "Final States in Parallel Regions": the parallel state's ``onDone`` fires only
when every region is in a final state ("wait for all")."""

from statefleet import from_dict
from statefleet.formats.xstate import XStateSession

config = {
    "id": "parallelFinal",
    "initial": "processing",
    "states": {
        "processing": {
            "type": "parallel",
            "states": {
                "upload": {
                    "initial": "uploading",
                    "states": {
                        "uploading": {"on": {"UPLOAD_DONE": "complete"}},
                        "complete": {"type": "final"},
                    },
                },
                "validate": {
                    "initial": "checking",
                    "states": {
                        "checking": {"on": {"VALID": "complete"}},
                        "complete": {"type": "final"},
                    },
                },
            },
            "onDone": "finished",
        },
        "finished": {"type": "final"},
    },
}

machine = from_dict(config)
interp = XStateSession(machine).start()
# active_state_ids prints in document order, so the output is stable
print(interp.active_state_ids)
# {'parallelFinal.processing.upload.uploading', 'parallelFinal.processing.validate.checking'}

# Upload finishes first: validate is still running
interp.send("UPLOAD_DONE")
print(interp.active_state_ids)
# {'parallelFinal.processing.upload.complete', 'parallelFinal.processing.validate.checking'}

# Now validate finishes: BOTH regions are final -> onDone fires
interp.send("VALID")
print(interp.active_state_ids)
# {'parallelFinal.finished'}
interp.stop()
