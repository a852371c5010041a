"""A cluster node process for the tests: ``python _node_proc.py DSN SCHEMA NODE ENTITIES
[arm PREFIX]``. It runs the ledger chart as node NODE and, as a sender, adds keys
``NODE.PID.i`` to entities ``e0..e{ENTITIES-1}`` in turn, printing ``ack KEY`` once each send
is acknowledged (durable). With ``arm PREFIX`` it first arms the timers of ``PREFIX0`` ..
``PREFIX9`` (``arm ID`` once acknowledged, then ``armed``). A line ``quiet`` on stdin
stops the sending (``quiet``); end of stdin stops the node cleanly.

Its connections carry the setting ``sftest.proc = NODE.PID`` (a DSN parameter), so audit
triggers in the test's database can tell which process wrote each row."""

from __future__ import annotations

import os
import sys

import anyio

from statefleet.actors import ActorSystem
from statefleet.core import StatefleetError
from statefleet.persistence import PostgresStore

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.cluster._ledger import LEDGER, SHARDS

LEASE = 1.0


def say(line: str) -> None:
    print(line, flush=True)


def proc_label(node: str, pid: int) -> str:
    """The ``sftest.proc`` setting of a node process's connections."""
    return f"{node}.{pid}"


def node_of(label: str | None) -> str | None:
    """The node name in a :func:`proc_label` (``None`` for a connection without one)."""
    return None if label is None else label.rsplit(".", 1)[0]


async def main(dsn: str, schema: str, node: str, entities: int, arm: str | None) -> None:
    dsn += ("&" if "?" in dsn else "?") + f"sftest.proc={proc_label(node, os.getpid())}"
    store = PostgresStore(dsn, schema=schema, node=node, shards=SHARDS, lease_time=LEASE)
    async with ActorSystem(store=store, charts=[LEDGER]) as system:
        say("ready")
        if arm is not None:
            for t in range(10):
                try:
                    await system.ref(LEDGER, f"{arm}{t}").send("arm")
                except StatefleetError as exc:  # not acknowledged: may or may not apply
                    say(f"error {arm}{t} {type(exc).__name__}")
                else:
                    say(f"arm {arm}{t}")
            say("armed")
        async with anyio.create_task_group() as tg:

            async def send() -> None:
                i = 0
                while True:
                    key = f"{node}.{os.getpid()}.{i}"
                    try:
                        await system.ref(LEDGER, f"e{i % entities}").send("add", k=key)
                    except StatefleetError as exc:  # not acknowledged: may or may not apply
                        say(f"error {key} {type(exc).__name__}")
                    else:
                        say(f"ack {key}")
                    i += 1

            tg.start_soon(send)
            while True:
                line = await anyio.to_thread.run_sync(sys.stdin.readline)
                if line.strip() == "quiet" or not line:
                    tg.cancel_scope.cancel()
                    say("quiet")
                    if not line:
                        return
                    break
        while await anyio.to_thread.run_sync(sys.stdin.readline):
            pass


if __name__ == "__main__":
    arm = sys.argv[6] if sys.argv[5:6] == ["arm"] else None
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), arm)
