"""Seed 001, "Complete Example: Order Processing with Multiple Final Outcomes".

Entry actions, transition actions reading the event payload (``event.data``), an invoked
service, ``onDone`` of a compound state with three final children, and an eventless
(``""``) guarded list picking the first enabled transition. The order id comes from a seeded
``random.Random`` so the output is repeatable; after the seed's happy path, the three other
outcomes run too.
"""

import random

from statefleet import from_dict
from statefleet.formats.xstate import MachineLogic, XStateSession

config = {
    "id": "orderProcess",
    "initial": "received",
    "context": {"orderId": None, "reason": None, "refundAmount": 0},
    "states": {
        "received": {
            "entry": "assignOrderId",
            "on": {
                "APPROVE": "fulfilling",
                "REJECT": {"target": "cancelled", "actions": "setRejectionReason"},
            },
        },
        "fulfilling": {
            "initial": "picking",
            "states": {
                "picking": {
                    "on": {
                        "PICKED": "packing",
                        "OUT_OF_STOCK": {"target": "stockFailed", "actions": "setStockFailure"},
                    }
                },
                "packing": {"on": {"PACKED": "shipping"}},
                "shipping": {
                    "invoke": {
                        "src": "shipOrder",
                        "onDone": "shipped",
                        "onError": {"target": "shipFailed", "actions": "setShipFailure"},
                    }
                },
                "shipped": {"type": "final"},
                "stockFailed": {"type": "final"},
                "shipFailed": {"type": "final"},
            },
            "onDone": "evaluating",
        },
        "evaluating": {
            "on": {
                "": [
                    {"target": "completed", "guard": "wasShipped"},
                    {"target": "refunded", "actions": "calculateRefund"},
                ]
            }
        },
        "completed": {"type": "final", "entry": "sendConfirmationEmail"},
        "cancelled": {"type": "final", "entry": "sendCancellationEmail"},
        "refunded": {"type": "final", "entry": "processRefund"},
    },
}


class OrderLogic(MachineLogic):
    def __init__(self, seed: int = 42, *, carrier_down: bool = False) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.carrier_down = carrier_down

    def assignOrderId(self, interpreter, context, event, action_def):
        context["orderId"] = f"ORD-{self.rng.randint(10000, 99999)}"
        print(f"Order created: {context['orderId']}")

    def setRejectionReason(self, interpreter, context, event, action_def):
        context["reason"] = event.data.get("reason", "Unknown")

    def setStockFailure(self, interpreter, context, event, action_def):
        context["reason"] = "Out of stock"

    def setShipFailure(self, interpreter, context, event, action_def):
        context["reason"] = "Shipping failed"

    def shipOrder(self, interpreter, context, event):
        print(f"Shipping order {context['orderId']}...")
        if self.carrier_down:
            raise ConnectionError("carrier API unreachable")
        return {"trackingNumber": "TRACK-12345"}

    def wasShipped(self, context, event):
        return context.get("reason") is None

    def calculateRefund(self, interpreter, context, event, action_def):
        context["refundAmount"] = 49.99
        print(f"Refund calculated: ${context['refundAmount']}")

    def sendConfirmationEmail(self, interpreter, context, event, action_def):
        print(f"Order {context['orderId']} completed!")

    def sendCancellationEmail(self, interpreter, context, event, action_def):
        print(f"Order {context['orderId']} cancelled: {context['reason']}")

    def processRefund(self, interpreter, context, event, action_def):
        print(f"Refund of ${context['refundAmount']} processed for {context['orderId']}")


machine = from_dict(config, logic=OrderLogic())

# Happy path: order ships successfully
interp = XStateSession(machine).start()
interp.send("APPROVE")
interp.send("PICKED")
interp.send("PACKED")
# shipOrder service runs -> shipped (final) -> onDone -> evaluating -> completed
print(interp.active_state_ids)
# {'orderProcess.completed'}
interp.stop()

# Rejected: the event payload is event.data in the action
interp = XStateSession(machine).start()
interp.send("REJECT", reason="Customer request")
print(interp.active_state_ids)
interp.stop()

# Out of stock: stockFailed (final) -> onDone -> evaluating -> refunded
interp = XStateSession(machine).start()
interp.send("APPROVE")
interp.send("OUT_OF_STOCK")
print(interp.active_state_ids)
interp.stop()

# The shipping service raises: onError -> shipFailed -> ... -> refunded
failing = from_dict(config, logic=OrderLogic(seed=7, carrier_down=True))
interp = XStateSession(failing).start()
for event in ("APPROVE", "PICKED", "PACKED"):
    interp.send(event)
print(interp.active_state_ids, interp.context["reason"])
interp.stop()
