"""Seed 001, "Multiple Final States: Success/Failure Patterns": an invoked service's return
value is the ``done.invoke`` event (-> ``onDone``), an exception goes to ``onError``.

In a sync session the service runs when its state is entered, here during ``start()``.
"""

from statefleet import from_dict
from statefleet.formats.xstate import MachineLogic, XStateSession

config = {
    "id": "payment",
    "initial": "processing",
    "states": {
        "processing": {
            "invoke": {
                "src": "chargeCard",
                "onDone": "success",
                "onError": "failed",
            }
        },
        "success": {"type": "final"},
        "failed": {"type": "final"},
    },
}


class PaymentLogic(MachineLogic):
    def chargeCard(self, interpreter, context, event):
        # Simulate successful payment
        return {"transactionId": "TXN-9876"}


class DeclinedPaymentLogic(MachineLogic):
    def chargeCard(self, interpreter, context, event):
        # Simulate a declined card
        raise RuntimeError("card declined")


def report(interp: XStateSession) -> None:
    # Determine which final state we ended in
    if "payment.success" in interp.active_state_ids:
        print("Payment succeeded!")
    elif "payment.failed" in interp.active_state_ids:
        print("Payment failed!")


machine = from_dict(config, logic=PaymentLogic())
interp = XStateSession(machine).start()
print(interp.active_state_ids)
# {'payment.success'}
report(interp)
# Payment succeeded!
interp.stop()

# The failure path: the exception becomes error.invoke.payment.processing -> onError
machine = from_dict(config, logic=DeclinedPaymentLogic())
interp = XStateSession(machine).start()
print(interp.active_state_ids)
# {'payment.failed'}
report(interp)
# Payment failed!
interp.stop()

# A parent distinguishes the outcomes with onDone on the compound state (the seed's fragment
# places "confirmation" next to "paying"; as a sibling of "paying" it is a valid target)
nested = {
    "id": "shop",
    "initial": "checkout",
    "states": {
        "checkout": {
            "initial": "paying",
            "states": {
                "paying": {
                    "initial": "processing",
                    "states": {
                        "processing": {
                            "invoke": {
                                "src": "chargeCard",
                                "onDone": "success",
                                "onError": "failed",
                            }
                        },
                        "success": {"type": "final"},
                        "failed": {"type": "final"},
                    },
                    "onDone": "confirmation",
                },
                "confirmation": {},
            },
        },
    },
}
interp = XStateSession(from_dict(nested, logic=PaymentLogic())).start()
print(interp.active_state_ids)
# {'shop.checkout.confirmation'}
interp.stop()
