"""The traffic light again, cycling on its own with ``after`` timers, on a virtual clock.

A machine-level ``every(1)`` transition counts the seconds (a repeating targetless timer), and
green's duration comes from a seed 004-style duration function returning a ``timedelta``.
``sm.advance(seconds)`` moves the virtual clock: no test or example waits for real time.
"""

import asyncio
from datetime import timedelta

from statefleet import VirtualClock, hsm


class TimedLight(hsm.Instance):
    def __init__(self):
        super().__init__()
        self.cycles = 0
        self.seconds = 0

    @staticmethod
    async def change_to_red(ctx, self, event):
        print("🔴 Red light")

    @staticmethod
    async def change_to_green(ctx, self, event):
        print("🟢 Green light")
        self.cycles += 1

    @staticmethod
    async def change_to_yellow(ctx, self, event):
        print("🟡 Yellow light")

    @staticmethod
    async def green_time(ctx, self, event):
        return timedelta(seconds=2)

    @staticmethod
    def tick(ctx, self, event):
        self.seconds += 1

    model = hsm.define(
        "TrafficLight",
        hsm.initial(hsm.target("red")),
        hsm.state(
            "red",
            hsm.entry(change_to_red),
            hsm.transition(hsm.after(3), hsm.target("../green")),
        ),
        hsm.state(
            "green",
            hsm.entry(change_to_green),
            hsm.transition(hsm.after(green_time), hsm.target("../yellow")),
        ),
        hsm.state(
            "yellow",
            hsm.entry(change_to_yellow),
            hsm.transition(hsm.after(timedelta(seconds=1)), hsm.target("../red")),
        ),
        # declared on the machine: a repeating timer that stays in place and counts seconds
        hsm.transition(hsm.every(1), hsm.effect(tick)),
    )


async def main():
    light = TimedLight()
    sm = await hsm.start(hsm.Context(), light, TimedLight.model, clock=VirtualClock())
    print(f"t={sm.now:g}s {sm.state()}")
    shown = sm.state()
    for _ in range(13):
        await sm.advance(1)
        if sm.state() != shown:
            shown = sm.state()
            print(f"t={sm.now:g}s {shown}")
    print(f"Cycles: {light.cycles}, seconds counted by every(1): {light.seconds}")
    await hsm.stop(sm)


if __name__ == "__main__":
    asyncio.run(main())
