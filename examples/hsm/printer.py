"""Defer, attributes and When: stateforward hsm's newer elements on statefleet.

A printer takes print jobs. While it warms up it defers them (``hsm.Defer``); its
``temperature`` is an attribute (``hsm.Attribute``, read with ``hsm.Get``, written with
``hsm.Set``, each change seen by an ``hsm.OnSet`` transition); the warm-up ends when the
condition ``hot`` holds (``hsm.When``, asked again on every change). Leaving ``warming_up``
hands the deferred jobs to ``ready``, in order. The same program runs on asyncio and on trio.
"""

import anyio

from statefleet import VirtualClock, hsm


class Printer(hsm.Instance):
    def __init__(self):
        super().__init__()
        self.printed = []


def hot(ctx, self, event):
    temperature, _ = hsm.Get(ctx, self, "temperature")
    return temperature >= 180


def report(ctx, self, event):
    change = event.data  # an hsm.AttributeChange
    print(f"  temperature {change.old_value} -> {change.value}")


def print_job(ctx, self, event):
    self.printed.append(event.data)
    print(f"  printing {event.data}")


model = hsm.Define(
    "Printer",
    hsm.Attribute("temperature", 20),
    hsm.Initial(hsm.Target("warming_up")),
    hsm.State(
        "warming_up",
        hsm.Defer("print"),
        hsm.Transition(hsm.OnSet("temperature"), hsm.Effect(report)),
        hsm.Transition(hsm.When(hot), hsm.Target("../ready")),
    ),
    hsm.State("ready", hsm.Transition(hsm.On("print"), hsm.Effect(print_job))),
)


async def main():
    ctx, printer = hsm.Context(), Printer()
    await hsm.Started(ctx, printer, model, hsm.Config(clock=VirtualClock()))
    for job in ("report.pdf", "photo.png"):
        await hsm.Dispatch(ctx, printer, hsm.Event("print").WithData(job))
    print(f"  {printer.state()}: {hsm.TakeSnapshot(ctx, printer).QueueLen} jobs deferred")
    await hsm.Set(ctx, printer, "temperature", 120)
    ready = hsm.AfterEntry(ctx, printer, "/Printer/ready")
    await hsm.Set(ctx, printer, "temperature", 185)
    await ready
    print(f"  {printer.state()}: printed {printer.printed}")
    await hsm.Stop(printer)


for backend in ("asyncio", "trio"):
    print(f"{backend}:")
    anyio.run(main, backend=backend)
