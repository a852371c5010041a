"""Seed 004's counter, unchanged but for the import line."""

import asyncio

from statefleet import hsm


class Counter(hsm.Instance):
    def __init__(self):
        super().__init__()
        self.value = 0

    @staticmethod
    async def increment(ctx, self, event):
        self.value += 1
        print(f"Count: {self.value}")

    model = hsm.define(
        "Counter",
        hsm.initial(hsm.target("counting")),
        hsm.state(
            "counting",
            hsm.transition(
                hsm.on("inc"),
                hsm.target("."),  # Self-transition
                hsm.effect(increment),
            ),
        ),
    )


async def main():
    instance = Counter()
    ctx = hsm.Context()

    # Start the state machine
    sm = await hsm.start(ctx, instance, Counter.model)
    print(f"Initial state: {sm.state()}")

    # Dispatch events
    await sm.dispatch(hsm.Event("inc"))
    await sm.dispatch(hsm.Event("inc"))

    print(f"Final count: {instance.value}")

    # Clean shutdown
    await hsm.stop(sm)


if __name__ == "__main__":
    asyncio.run(main())
