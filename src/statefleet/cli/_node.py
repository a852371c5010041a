"""``statefleet node --store postgresql://... --charts mod:attr [--node NAME]``: run a
cluster node.

Opens a :class:`~statefleet.persistence.PostgresStore` as node NAME (default: the host name
and process id) and runs an :class:`~statefleet.actors.ActorSystem` on it with the charts of
``--charts``: the node joins the members, takes its share of the shards and runs their
actors and timers until interrupted (Ctrl-C or SIGTERM stop the actors and hand every shard
over at once). Prints one line once it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from typing import Any

from statefleet.cli._common import fail, load_chart
from statefleet.core import Chart

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the ``node`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "node",
        help="run a cluster node on PostgreSQL (its share of the shards)",
        description=(
            "Run the actors of this node's shards of the fleet in --store (a postgresql://"
            " connection string) with the charts of --charts, until interrupted."
        ),
        epilog=(
            "example:\n"
            "  statefleet node --store postgresql://fleet@db/app --charts myapp:order_chart"
            " --node web-1"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--store", required=True, help="a postgresql:// connection string")
    p.add_argument(
        "--charts",
        action="append",
        required=True,
        metavar="CHART",
        help="a chart file or module:attribute (repeat for several charts)",
    )
    p.add_argument("--node", help="the node's name (default: HOST-PID)")
    p.add_argument("--schema", default="statefleet", help="the PostgreSQL schema (statefleet)")
    p.add_argument(
        "--lease-time", type=float, default=10.0, help="seconds a shard lease lasts (10)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run until interrupted; exit 0, 1 when the store or a chart cannot be used (one line,
    no traceback)."""
    if not args.store.startswith(("postgresql://", "postgres://")):
        fail("node", f"--store must be a postgresql:// connection string, not {args.store!r}")
        return 1
    charts: list[Chart] = [load_chart(ref) for ref in args.charts]
    name = args.node or f"{socket.gethostname()}-{os.getpid()}"
    asyncio.run(_node(args, name, charts))
    return 0


async def _node(args: argparse.Namespace, name: str, charts: list[Chart]) -> None:
    from statefleet.actors import ActorSystem
    from statefleet.persistence import PostgresStore

    store = PostgresStore(args.store, schema=args.schema, node=name, lease_time=args.lease_time)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with store, ActorSystem(store=store, charts=charts):
        print(f"statefleet node {name}: running ({store.where})", flush=True)
        await stop.wait()
    print(f"statefleet node {name}: stopped, shards handed over", flush=True)
