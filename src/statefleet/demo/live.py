"""``make demo-inspect``: the demo's order fleet kept running behind the live inspector.

``python -m statefleet.demo.live [--orders N] [--rate R] [--db PATH] [--host H] [--port P]``

Serves the HTTP API and the inspector (``statefleet.http.create_app``) over the demo's order
actors (:func:`statefleet.demo.fleet.order_chart`) on a SQLite file, places ``--orders``
orders at ``--rate`` a second so there is something to watch, and stays up (actors, timers
and server) until Ctrl-C. Run again on the same file, it recovers the fleet and places only
the orders not placed yet.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import signal
import sys
from collections.abc import Iterator
from typing import Any

import anyio

from statefleet.actors import ActorSystem
from statefleet.demo.fleet import order_chart
from statefleet.persistence import SQLiteStore


def _server(config: Any) -> Any:
    """A uvicorn server that leaves SIGINT and SIGTERM to us (uvicorn's own handlers re-raise
    the signal once it stopped, killing the process before the store is closed)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


async def serve(db: str, host: str, port: int, orders: int, rate: float) -> None:
    """Run the fleet and the server until SIGINT or SIGTERM."""
    import uvicorn

    from statefleet.http import JournalRecords, create_app

    chart = order_chart()
    async with (
        SQLiteStore(db) as store,
        ActorSystem(store=store, charts=[chart], listeners=[JournalRecords()]) as system,
    ):
        app = create_app(system)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        server = _server(config)

        async def place() -> None:
            started = await store.count_actors()
            for i in range(started, orders):
                oid = f"o{i:05d}"
                amount = random.Random(oid).randint(5, 500)
                await system.ref(chart, oid).send("PLACE", order=oid, amount=amount)
                await anyio.sleep(1 / rate)

        async with anyio.create_task_group() as tg:

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        server.should_exit = True  # then the actors and the store close
                        return

            async def run_server() -> None:
                await server.serve()
                tg.cancel_scope.cancel()

            tg.start_soon(stop_on_signal)
            tg.start_soon(run_server)
            while not server.started:
                await anyio.sleep(0.05)  # uvicorn has no "started" event to wait on
            bound = server.servers[0].sockets[0].getsockname()[1]  # --port 0: the one given
            print(
                f"statefleet inspector: http://{host}:{bound}/ (the demo fleet on {db};"
                " Ctrl-C stops it)",
                flush=True,
            )
            tg.start_soon(place)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m statefleet.demo.live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="orders placed per second")
    parser.add_argument("--db", default="demo-inspect.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.orders < 0:
        parser.error("--rate must be > 0 and --orders >= 0")
    # the supervisor logs every crash of the demo's injected transient bug; the page shows them
    logging.getLogger("statefleet").setLevel(logging.CRITICAL)
    anyio.run(serve, args.db, args.host, args.port, args.orders, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
