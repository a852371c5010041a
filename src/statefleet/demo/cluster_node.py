"""One node of ``make demo-cluster`` (run as a child process by :mod:`statefleet.demo.cluster`).

``python -m statefleet.demo.cluster_node DSN SCHEMA NODE ACKDIR ORDERS SLICES SEED SHARDS
LEASE K [K ...]`` runs the order fleet of ``make demo`` as cluster node NODE on PostgreSQL and,
as a sender, places the orders of slices ``K`` (order ``i`` is in slice ``i % SLICES``) that
are not acknowledged yet in ``ACKDIR/slice-K.acked``, appending each order there once its
``send`` returned (durably in the inbox, wherever its owner is). Resuming a slice (after a
crash), it first asks the database which unacknowledged orders were accepted anyway (the
sender died between the acknowledgement and writing it down) and does not send those again.
It prints JSON lines: ``{"ready": NODE}``, ``{"found_accepted": N}`` when resuming a slice,
``{"slice_done": K}`` once a slice is placed, ``{"refused": ERROR}`` for a send that raised
(not acknowledged: it is sent again unless the database shows it was taken), and what it
did when it stopped cleanly (``{"restarts": N, "macrosteps": M}``). Lines on stdin:
``go`` starts placing (the driver waits until the shards are spread over the nodes),
``adopt K`` places slice ``K`` too (a node that was killed and not restarted); end of stdin
stops the node cleanly (it hands its shards over).

The chart is the demo's order chart with a ledger of its timers: every ``after`` transition
taken appends ``KIND#attempt`` to the order's ``timers`` list (:func:`cluster_chart`), so the
driver can check that every timer fired once.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import sys
import traceback
from pathlib import Path
from typing import Any

import anyio

from statefleet import from_dict
from statefleet.actors import ActorSystem
from statefleet.core import Chart, StatefleetError
from statefleet.demo.fleet import ORDER, Logic, Tally
from statefleet.persistence import PostgresStore

__all__ = ["SENDERS", "TIMER_KINDS", "cluster_chart", "main", "slice_orders"]

#: the order chart's delays, each noted in the order's ``timers`` when its transition is taken
TIMER_KINDS = ("PAYMENT_TIMEOUT", "BACKOFF", "SETTLE")
#: concurrent senders per slice a node places
SENDERS = 8


class TimerLedgerLogic(Logic):
    """The demo's order logic, plus the actions that note each timer firing."""

    def _note(self, kind: str, context: Any) -> None:
        context["timers"] = [*context.get("timers", []), f"{kind}#{context['attempts']}"]

    def notePAYMENT_TIMEOUT(self, interpreter: Any, context: Any, event: Any, a: Any) -> None:
        self._note("PAYMENT_TIMEOUT", context)

    def noteBACKOFF(self, interpreter: Any, context: Any, event: Any, a: Any) -> None:
        self._note("BACKOFF", context)

    def noteSETTLE(self, interpreter: Any, context: Any, event: Any, a: Any) -> None:
        self._note("SETTLE", context)


def _noted(transitions: Any, kind: str) -> list[dict[str, Any]]:
    out = []
    for t in transitions if isinstance(transitions, list) else [transitions]:
        t = {"target": t} if isinstance(t, str) else dict(t)
        actions = t.get("actions", [])
        t["actions"] = [*([actions] if isinstance(actions, str) else actions), f"note{kind}"]
        out.append(t)
    return out


def cluster_chart(seed: int = 2026) -> Chart:
    """The order chart of ``make demo`` whose every ``after`` transition also notes the timer
    in the order's ``timers`` list (``KIND#attempt``)."""
    spec = copy.deepcopy(ORDER)
    spec["context"]["timers"] = []  # type: ignore[index]
    for state in spec["states"].values():  # type: ignore[attr-defined]
        after = state.get("after")
        if after:
            state["after"] = {kind: _noted(t, kind) for kind, t in after.items()}
    return from_dict(spec, logic=TimerLedgerLogic(seed))


def slice_orders(orders: int, slices: int, k: int) -> list[str]:
    """The order ids of slice ``k``."""
    return [f"o{i:05d}" for i in range(k, orders, slices)]


def _say(msg: dict[str, Any]) -> None:
    print(json.dumps(msg), flush=True)


def _acked(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except FileNotFoundError:
        return set()


async def run(
    dsn: str,
    schema: str,
    node: str,
    ackdir: Path,
    orders: int,
    slices: int,
    seed: int,
    shards: int,
    lease: float,
    mine: list[int],
) -> None:
    """Run the node until stdin ends, placing its slices' orders."""
    chart = cluster_chart(seed)
    store = PostgresStore(dsn, schema=schema, node=node, shards=shards, lease_time=lease)
    # the demo's listener: it also ends an order's injected bug once the supervisor restarted
    # the order (the bug is transient), as in ``make demo``
    tally = Tally()
    async with ActorSystem(store=store, charts=[chart], listeners=[tally]) as system:
        _say({"ready": node})

        async def accepted(oids: list[str]) -> list[str]:
            """The orders whose PLACE was durably accepted: waiting in their inbox, or taken
            (an order is stored as soon as it is created, before it took its first event:
            being stored is not enough)."""
            found = set(await store.inboxes(oids))
            for oid, got in (await store.load_many(oids)).items():
                if isinstance(got, Exception):
                    continue  # cannot tell: send it again (a second PLACE is ignored)
                if got.record is not None and got.record.snapshot.context.get("placed", 0):
                    found.add(oid)
            return [o for o in oids if o in found]

        async def place(k: int) -> None:
            path = ackdir / f"slice-{k}.acked"
            acked = _acked(path)
            todo = [o for o in slice_orders(orders, slices, k) if o not in acked]
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if acked:  # resumed after a crash: a PLACE in flight then may have been taken
                    # (sending it again would leave a second PLACE no state takes)
                    found = await accepted(todo)
                    for oid in found:
                        os.write(fd, f"{oid}\n".encode())
                        todo.remove(oid)
                    _say({"found_accepted": len(found)})

                async def sender(chunk: list[str]) -> None:
                    for oid in chunk:
                        amount = random.Random(oid).randint(5, 500)
                        while True:
                            try:
                                await system.ref(chart, oid).send("PLACE", order=oid, amount=amount)
                                break
                            except StatefleetError as exc:  # not acknowledged: try again
                                _say({"refused": f"{type(exc).__name__}: {exc}"})
                                if await accepted([oid]):  # it was taken all the same
                                    break
                                await anyio.sleep(0.05)
                        os.write(fd, f"{oid}\n".encode())  # acknowledged: durably accepted

                async with anyio.create_task_group() as tg:
                    for j in range(SENDERS):
                        tg.start_soon(sender, todo[j::SENDERS])
            finally:
                os.close(fd)
            _say({"slice_done": k})

        async with anyio.create_task_group() as tg:
            # abandoned on cancel: a failing sender ends the node instead of hanging it
            read = sys.stdin.readline
            while line := await anyio.to_thread.run_sync(read, abandon_on_cancel=True):
                words = line.split()
                if words == ["go"]:
                    for k in mine:
                        tg.start_soon(place, k)
                elif words[:1] == ["adopt"] and len(words) == 2 and words[1].isdigit():
                    tg.start_soon(place, int(words[1]))
            tg.cancel_scope.cancel()  # stdin ended: stop cleanly, handing the shards over
    _say({"restarts": tally.restarts, "macrosteps": tally.macrosteps})


def main(argv: list[str]) -> int:
    """Entry point of the node process."""
    # the supervisor logs each injected crash with its traceback; the driver checks outcomes
    logging.getLogger("statefleet").setLevel(logging.CRITICAL)
    dsn, schema, node, ackdir = argv[0], argv[1], argv[2], Path(argv[3])
    orders, slices, seed, shards = (int(x) for x in argv[4:8])
    lease, mine = float(argv[8]), [int(k) for k in argv[9:]]
    try:
        anyio.run(run, dsn, schema, node, ackdir, orders, slices, seed, shards, lease, mine)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the driver cleans up
        return 130
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)  # at once: the thread reading stdin would hold the interpreter's exit
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
