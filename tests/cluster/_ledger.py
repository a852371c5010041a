"""The chart the cluster tests run: a ledger of keys (each ``add`` appends its key, so a key
applied twice shows twice) with a durable timer (``arm`` -> ``fired`` after ``DELAY``)."""

from __future__ import annotations

from typing import Any

from statefleet.core import (
    AfterSpec,
    ChartSpec,
    DataSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

SHARDS = 16
DELAY = 1.0


def _add(ctx: Any) -> None:
    ctx.context["keys"] = [*ctx.context.get("keys", []), ctx.event.data["k"]]


def _fired(ctx: Any) -> None:
    ctx.context["fired"] = ctx.context.get("fired", 0) + 1


LEDGER = compile_chart(
    ChartSpec(
        id="ledger",
        version="1",
        data=[DataSpec("keys", []), DataSpec("fired", 0)],
        states=[
            StateSpec(
                id="open",
                transitions=[
                    TransitionSpec(event=("add",), actions=(_add,), type="internal"),
                    TransitionSpec(event=("arm",), target=("armed",)),
                ],
            ),
            StateSpec(
                id="armed",
                after=[
                    AfterSpec(
                        delay=DELAY, transition=TransitionSpec(target=("open",), actions=(_fired,))
                    ),
                ],
                transitions=[TransitionSpec(event=("add",), actions=(_add,), type="internal")],
            ),
        ],
    )
)
