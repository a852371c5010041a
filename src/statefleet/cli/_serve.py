"""``statefleet serve --store DB --charts mod:attr``: the HTTP API over a stored fleet.

Opens the store (a SQLite file, or a ``postgresql://`` DSN), registers the charts, recovers
the fleet and serves :func:`statefleet.http.create_app` with uvicorn until interrupted
(Ctrl-C or SIGTERM stop every actor and close the store cleanly). Prints one line with the
URL once it listens (``--port 0`` picks a free port and says which).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

from statefleet.cli._common import fail, load_chart
from statefleet.core import Chart

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the ``serve`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="serve the HTTP API (pystator-compatible and actor routes) over a stored fleet",
        description=(
            "Run the actors stored in --store with the charts of --charts, and serve the HTTP"
            " API (OpenAPI docs at /docs). Needs the http extra: pip install 'statefleet[http]'."
        ),
        epilog=(
            "examples:\n"
            "  statefleet serve --store orders.db --charts myapp.charts:order_chart\n"
            "  STATEFLEET_TOKEN=s3cret-token statefleet serve --store orders.db \\\n"
            "      --charts order.yaml --port 8080 --read-only"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--store",
        required=True,
        help="a SQLite file (created if missing) or a postgresql:// connection string",
    )
    p.add_argument(
        "--charts",
        action="append",
        required=True,
        metavar="CHART",
        help="a chart file or module:attribute (repeat for several charts)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (8000; 0: any free port)")
    p.add_argument(
        "--token",
        help="require 'Authorization: Bearer TOKEN' on /api (default: $STATEFLEET_TOKEN)",
    )
    p.add_argument("--read-only", action="store_true", help="refuse every write (403)")
    p.add_argument(
        "--max-body", type=int, default=1 << 20, help="largest request body in bytes (1 MiB)"
    )
    p.add_argument(
        "--cors",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow this origin cross-origin (repeatable; CORS is off by default)",
    )
    p.set_defaults(run=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0..65535, got {text!r}")
    return value


def _store(where: str) -> Any:
    if where.startswith(("postgresql://", "postgres://")):
        from statefleet.persistence import PostgresStore

        return PostgresStore(where)
    from statefleet.persistence import SQLiteStore

    return SQLiteStore(where)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 0, 1 when the store or a chart cannot be used (one
    line, no traceback), 2 when the http extra is missing."""
    try:
        import uvicorn  # noqa: F401

        import statefleet.http  # noqa: F401
    except ImportError as exc:
        fail("serve", f"needs the http extra: pip install 'statefleet[http]' ({exc})")
        return 2
    charts: list[Chart] = [load_chart(ref) for ref in args.charts]
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args, charts))
    except SystemExit:  # uvicorn could not start (it logged why); the store was closed
        fail("serve", f"cannot serve on {args.host}:{args.port} (see the error above)")
        return 1
    return 0


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopped by our signal handlers: uvicorn's own re-raise the
        signal once it has stopped, which would kill the process before the actor system
        and the store are closed."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def stop(self) -> None:
            if self.should_exit:
                self.force_exit = True  # a second Ctrl-C: stop waiting for connections
            self.should_exit = True

    return Server


async def _serve(args: argparse.Namespace, charts: list[Chart]) -> None:
    """Open the store and the system (their errors reach ``main`` as one line), then serve
    until uvicorn is told to stop (SIGINT, SIGTERM)."""
    import uvicorn

    from statefleet.actors import ActorSystem
    from statefleet.http import JournalRecords, create_app, token_from_env

    _Server = _server_class()
    store = _store(args.store)
    async with (
        store,
        ActorSystem(store=store, charts=charts, listeners=[JournalRecords()]) as system,
    ):
        app = create_app(
            system,
            token=args.token or token_from_env(),
            read_only=args.read_only,
            max_body=args.max_body,
            cors_origins=args.cors,
        )
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        server = _Server(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.01)  # uvicorn has no "started" event to wait on
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            shown = f"[{args.host}]" if ":" in args.host else args.host
            print(f"statefleet serve: http://{shown}:{port} (OpenAPI docs at /docs)", flush=True)
        await task
