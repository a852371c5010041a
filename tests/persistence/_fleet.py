"""A fleet for the crash test: ``python _fleet.py DB LOG ROUND SEED`` runs until killed,
``python _fleet.py DB LOG verify SEED`` recovers, lets every timer fire and prints the state.

Every acknowledged send is appended to LOG (``<actor> <kind> <id> [<to>]``) right after its
``send`` returned, and ``ack`` is printed to stdout, so the test can kill the process at a
random number of acknowledgements.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from typing import Any

import anyio

from statefleet.actors import ActorSystem
from statefleet.core import (
    AfterSpec,
    ChartSpec,
    DataSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.persistence import SQLiteStore

DELAY = 0.3
ACTORS = [f"e{i}" for i in range(12)]


def _record(ctx: Any) -> None:
    ctx.context["seen"].append(ctx.event.data["id"])


def _relay(ctx: Any) -> None:
    ctx.send("inc", {"id": ctx.event.data["id"]}, target=ctx.event.data["to"])


def _arm(ctx: Any) -> None:
    ctx.context["arms"] += 1
    ctx.context["armed_at"] = ctx.now


def _ring(ctx: Any) -> None:
    ctx.context["rings"] += 1
    if ctx.now < ctx.context["armed_at"] + DELAY - 1e-6:
        ctx.context["early"] += 1


def _common() -> list[TransitionSpec]:
    return [
        TransitionSpec(event=("inc",), actions=(_record,), type="internal"),
        TransitionSpec(event=("relay",), actions=(_relay,), type="internal"),
    ]


CHART = compile_chart(
    ChartSpec(
        id="crashy",
        version="1",
        data=[
            DataSpec("seen", expr=lambda ctx: []),
            DataSpec("arms", 0),
            DataSpec("rings", 0),
            DataSpec("early", 0),
            DataSpec("armed_at", 0.0),
        ],
        states=[
            StateSpec(
                id="idle",
                transitions=[
                    *_common(),
                    TransitionSpec(event=("arm",), target=("armed",), actions=(_arm,)),
                ],
            ),
            StateSpec(
                id="armed",
                transitions=_common(),
                after=[
                    AfterSpec(
                        delay=DELAY,
                        transition=TransitionSpec(target=("idle",), actions=(_ring,)),
                    )
                ],
            ),
        ],
    )
)


async def run(db: str, log_path: str, round_no: int, seed: int) -> None:
    rng = random.Random(seed * 1000 + round_no)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    async with ActorSystem(store=SQLiteStore(db, durability="normal"), charts=[CHART]) as system:
        refs = {a: system.ref(CHART, a) for a in ACTORS}
        print("ready", flush=True)

        async def sender(task: int) -> None:
            n = 0
            while True:
                n += 1
                actor = rng.choice(ACTORS)
                eid = f"{round_no}-{task}-{n}"
                roll = rng.random()
                if roll < 0.1:
                    await refs[actor].send("arm")
                    line = f"{actor} arm {eid}\n"
                elif roll < 0.3:
                    to = rng.choice(ACTORS)
                    await refs[actor].send("relay", id=eid, to=to)
                    line = f"{actor} relay {eid} {to}\n"
                else:
                    await refs[actor].send("inc", id=eid)
                    line = f"{actor} inc {eid}\n"
                os.write(fd, line.encode())
                print("ack", flush=True)

        async with anyio.create_task_group() as tg:
            for t in range(8):
                tg.start_soon(sender, t)


async def verify(db: str) -> None:
    async with ActorSystem(store=SQLiteStore(db, durability="normal"), charts=[CHART]) as system:
        await system.wait_idle()
        out: dict[str, Any] = {}
        for a in ACTORS:
            ref = system.ref(CHART, a)
            snap = await ref.wait_for("idle", timeout=30)  # every armed timer fires
            out[a] = {k: snap.context[k] for k in ("seen", "arms", "rings", "early")}
        await system.wait_idle()
    print(json.dumps(out))


if __name__ == "__main__":
    db, log_path, mode, seed = sys.argv[1:5]
    if mode == "verify":
        asyncio.run(verify(db))
    else:
        asyncio.run(run(db, log_path, int(mode), int(seed)))
