"""Seed 004's traffic light (its recommended class pattern), driven by ``timer`` events.

The seed's model is unchanged but for the import line: ``target("green")`` from ``red`` finds
the sibling state (a plain name is looked up in the source state first, then outwards).
"""

import asyncio

from statefleet import hsm


class TrafficLight(hsm.Instance):
    def __init__(self):
        super().__init__()
        self.cycles = 0

    @staticmethod
    async def change_to_green(ctx, self, event):
        print("🟢 Green light")
        self.cycles += 1

    model = hsm.define(
        "TrafficLight",
        hsm.initial(hsm.target("red")),
        hsm.state("red", hsm.transition(hsm.on("timer"), hsm.target("green"))),
        hsm.state(
            "green",
            hsm.entry(change_to_green),
            hsm.transition(hsm.on("timer"), hsm.target("yellow")),
        ),
        hsm.state("yellow", hsm.transition(hsm.on("timer"), hsm.target("red"))),
    )


async def main():
    light = TrafficLight()
    sm = await hsm.start(hsm.Context(), light, TrafficLight.model)
    print(f"Initial state: {sm.state()}")
    for _ in range(6):
        await sm.dispatch(hsm.Event("timer"))
        print(f"timer -> {sm.state()}")
    print(f"Cycles: {light.cycles}")
    await hsm.stop(sm)
    print(f"Stopped: {sm.state()!r}")


if __name__ == "__main__":
    asyncio.run(main())
