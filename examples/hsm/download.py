"""A choice and an activity: seed 004's ``choice`` and ``activity`` on statefleet.

``start`` goes through the choice ``check``: its first branch whose guard holds is taken, the
last (guardless) branch is the else. ``downloading`` runs the ``fetch`` activity while it is
active: leaving the state cancels it, and an exception from it dispatches ``hsm_error``.
"""

import asyncio

from statefleet import hsm


class Download(hsm.Instance):
    def __init__(self, size):
        super().__init__()
        self.size = size

    @staticmethod
    def too_big(ctx, self, event):
        return self.size > 100

    @staticmethod
    def empty(ctx, self, event):
        return self.size == 0

    @staticmethod
    async def fetch(ctx, self, event):
        print(f"  fetching {self.size} MB")
        try:
            await ctx.wait_done()  # a real download would await the network here
        except asyncio.CancelledError:
            print(f"  fetch cancelled (context done: {ctx.is_done()})")
            raise

    @staticmethod
    async def verify(ctx, self, event):
        raise OSError("checksum mismatch")

    @staticmethod
    def report(ctx, self, event):
        print(f"  failed: {event.data}")


model = hsm.define(
    "Download",
    hsm.initial(hsm.target("idle")),
    hsm.state("idle", hsm.transition(hsm.on("start"), hsm.target("../check"))),
    hsm.choice(
        "check",
        hsm.transition(hsm.guard(Download.too_big), hsm.target("rejected")),
        hsm.transition(hsm.guard(Download.empty), hsm.target("done")),
        hsm.transition(hsm.target("downloading")),
    ),
    hsm.state(
        "downloading",
        hsm.activity(Download.fetch),
        hsm.transition(hsm.on("cancel"), hsm.target("../idle")),
        hsm.transition(hsm.on("received"), hsm.target("../verifying")),
    ),
    hsm.state(
        "verifying",
        hsm.activity(Download.verify),
        hsm.transition(hsm.on("hsm_error"), hsm.target("../failed"), hsm.effect(Download.report)),
    ),
    hsm.state("rejected"),
    hsm.state("failed"),
    hsm.final("done"),
)


async def run(size, *events):
    print(f"size {size}:")
    sm = await hsm.start(hsm.Context(), Download(size), model)
    await sm.dispatch("start")  # returns once new activities reached their first await
    print(f"  {sm.state()} (activities running: {sm.activities})")
    for name in events:
        await sm.dispatch(name)
        print(f"  {name} -> {sm.state()} (activities running: {sm.activities})")
    await hsm.stop(sm)


async def main():
    await run(500)
    await run(0)
    await run(20, "cancel")
    await run(20, "received")


if __name__ == "__main__":
    asyncio.run(main())
