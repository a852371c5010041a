"""Seed 004's error handling: a behaviour that raises dispatches ``hsm_error``.

In statefleet the event is ``error.execution``; ``on("hsm_error")`` is an alias of
``on("error")``, which matches it. The seed's listing puts ``effect(risky_action)`` directly
in a state, which ``define`` rejects (an effect belongs to a transition), so this example
shows that error and then the corrected machine.
"""

import asyncio

from statefleet import hsm


class RobustMachine(hsm.Instance):
    def __init__(self, fail):
        super().__init__()
        self.fail = fail

    @staticmethod
    async def risky_action(ctx, self, event):
        if self.fail:
            raise ValueError("Something went wrong!")
        print("Work done")

    @staticmethod
    async def handle_error(ctx, self, event):
        print(f"Error occurred: {event.data}")
        # Recovery logic here


try:  # the seed's listing, as written
    hsm.define(
        "RobustMachine",
        hsm.state(
            "working",
            hsm.effect(RobustMachine.risky_action),
            hsm.transition(hsm.on("hsm_error"), hsm.target("error_state")),
        ),
        hsm.state("error_state", hsm.entry(RobustMachine.handle_error)),
    )
except hsm.ValidationError as exc:
    print(f"ValidationError: {exc}")

model = hsm.define(
    "RobustMachine",
    hsm.initial(hsm.target("working")),
    hsm.state(
        "working",
        hsm.transition(hsm.on("work"), hsm.effect(RobustMachine.risky_action)),
        hsm.transition(hsm.on("hsm_error"), hsm.target("../error_state")),
    ),
    hsm.state("error_state", hsm.entry(RobustMachine.handle_error)),
)


async def main():
    for fail in (False, True):
        sm = await hsm.start(hsm.Context(), RobustMachine(fail), model)
        await sm.dispatch(hsm.Event("work"))
        print(f"fail={fail}: {sm.state()}")
        await hsm.stop(sm)


if __name__ == "__main__":
    asyncio.run(main())
