"""Seed 001, "Complete Example: Multi-Step Approval Workflow", written as a config.

The seed's ``class ApprovalWorkflow(StateMachine)`` declares nested ``State`` objects with
``on=`` dicts and ``on_done=``, and ``@guard``/``@action`` methods named in snake_case while
the config names them in camelCase. Here the states are a config and the methods live on a
``MachineLogic``: a name like ``hasDocument`` finds ``has_document`` too. (statefleet's class
DSL is ``statefleet.StateChart``.)
"""

from statefleet import from_dict
from statefleet.formats.xstate import MachineLogic, XStateSession

config = {
    "id": "approval",
    "initial": "draft",
    "context": {
        "document": None,
        "managerApproved": False,
        "directorApproved": False,
        "rejectedBy": None,
    },
    "states": {
        "draft": {"on": {"SUBMIT": {"target": "review", "guard": "hasDocument"}}},
        "review": {
            "initial": "managerReview",
            "states": {
                "managerReview": {
                    "on": {
                        "MANAGER_APPROVE": {
                            "target": "directorReview",
                            "actions": "recordManagerApproval",
                        },
                        "MANAGER_REJECT": {"target": "rejected", "actions": "recordRejection"},
                    }
                },
                "directorReview": {
                    "on": {
                        "DIRECTOR_APPROVE": {
                            "target": "approved",
                            "actions": "recordDirectorApproval",
                        },
                        "DIRECTOR_REJECT": {"target": "rejected", "actions": "recordRejection"},
                    }
                },
                "approved": {"type": "final"},
                "rejected": {"type": "final"},
            },
            "onDone": "evaluating",
        },
        "evaluating": {
            "on": {
                "": [
                    {"target": "published", "guard": "wasApproved"},
                    {"target": "returned"},
                ]
            }
        },
        "published": {"type": "final"},
        "returned": {"on": {"REVISE": "draft"}},
    },
}


class ApprovalLogic(MachineLogic):
    # Guards
    def has_document(self, context, event):
        return context.get("document") is not None

    def was_approved(self, context, event):
        return context.get("managerApproved") and context.get("directorApproved")

    # Actions
    def record_manager_approval(self, interpreter, context, event, action_def):
        context["managerApproved"] = True
        print("Manager approved")

    def record_director_approval(self, interpreter, context, event, action_def):
        context["directorApproved"] = True
        print("Director approved")

    def record_rejection(self, interpreter, context, event, action_def):
        context["rejectedBy"] = event.data.get("by", "unknown")
        print(f"Rejected by: {context['rejectedBy']}")


machine = from_dict(config, logic=ApprovalLogic())

# Test the approval flow
interp = XStateSession(
    machine,
    context={
        "document": "Q4 Report",
        "managerApproved": False,
        "directorApproved": False,
        "rejectedBy": None,
    },
).start()
print(interp.active_state_ids)
# {'approval.draft'}
interp.send("SUBMIT")
print(interp.active_state_ids)
# {'approval.review.managerReview'}
interp.send("MANAGER_APPROVE")
print(interp.active_state_ids)
# {'approval.review.directorReview'}
interp.send("DIRECTOR_APPROVE")
# directorReview -> approved (final) -> onDone -> evaluating -> published
print(interp.active_state_ids)
# {'approval.published'}
interp.stop()

# A rejection: rejected (final) -> onDone -> evaluating -> returned, and REVISE goes back
interp = XStateSession(machine, context={"document": "Q4 Report"}).start()
interp.send("SUBMIT")
interp.send("MANAGER_REJECT", by="Dana")
print(interp.active_state_ids)
interp.send("REVISE")
print(interp.active_state_ids)
interp.stop()

# Without a document the guard keeps the draft
interp = XStateSession(machine).start()
interp.send("SUBMIT")
print(interp.active_state_ids)
interp.stop()
