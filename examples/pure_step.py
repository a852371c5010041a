"""The pure step: state in, event in, new state and effects out. No I/O, no clock.

This is the load -> decide -> commit -> act loop with statefleet's core: the snapshot is plain
data you can keep in any database, and the effects tell you what to do after committing.

Run: python examples/pure_step.py
"""

from __future__ import annotations

from typing import Any

from statefleet import decode_snapshot, encode_snapshot, from_dict

order = from_dict(
    {
        "id": "order",
        "initial": "pending",
        "context": {"reminders": 0},
        "states": {
            "pending": {
                "on": {"PAY": "paid"},
                "after": {"3600000": {"target": "expired"}},
            },
            "paid": {"type": "final"},
            "expired": {"type": "final"},
        },
    }
)

db: dict[str, bytes] = {}  # any key-value store

# create: the initial step, committed before anything else happens
first = order.initial(now=1_000.0)
db["order-42"] = encode_snapshot(first.snapshot)
print("created:", first.snapshot.configuration, "timer due at", first.snapshot.pending[0].due)

# later, in another request: load, decide, commit, act
snapshot = decode_snapshot(db["order-42"])
step = order.transition(snapshot, "PAY", now=1_900.0)
db["order-42"] = encode_snapshot(step.snapshot)
for micro in step.microsteps:
    print("exited", micro.exited, "entered", micro.entered)
effects: list[Any] = list(step.effects)
print("effects to carry out:", [type(e).__name__ for e in effects])
print("status:", step.snapshot.status, "pending timers:", len(step.snapshot.pending))
