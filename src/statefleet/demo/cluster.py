"""``make demo-cluster``: the order fleet of ``make demo`` on three node processes sharing a
throwaway PostgreSQL; one node is killed with SIGKILL mid-run and its shards move.

``python -m statefleet.demo.cluster [--orders N] [--seed S] [--kill-at FRACTION]
[--lease-time SECONDS] [--shards N] [--no-restart]``

1. starts a PostgreSQL server of its own in a temporary folder (the system's ``initdb`` and
   ``pg_ctl``; :class:`~statefleet.persistence._pgserver.TempPostgres`);
2. starts three node processes (:mod:`statefleet.demo.cluster_node`): each runs the order
   chart on ``PostgresStore(dsn, node=...)`` and places a third of the orders, most of them
   to orders whose shard another node owns;
3. once ``--kill-at`` of the orders are acknowledged, kills ``node-2`` with SIGKILL and shows
   the shard owners (with their lease ages) before the kill and after the survivors took its
   shards over, when its leases ran out;
4. restarts ``node-2`` (with ``--no-restart``: a survivor places its remaining orders), waits
   until every order has ended, stops the nodes cleanly, and checks the ledger in the
   database: every order stored once and counted exactly once (``placed == 1``), in a final
   state, every timer fired exactly once (the chart notes each ``after`` transition taken:
   one backoff per retry, one settlement per paid order, no timer noted twice), nothing left
   in an inbox, no dead letters.

Exits 0 when the ledger holds, 1 on any violation (printed), 2 when PostgreSQL cannot start.
PostgreSQL and the node processes are stopped, and the temporary folders removed, on every
exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from anyio.from_thread import BlockingPortal, start_blocking_portal
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from statefleet.core import PersistenceError
from statefleet.demo.cluster_node import TIMER_KINDS, slice_orders
from statefleet.demo.fleet import FINAL, MAX_ATTEMPTS
from statefleet.persistence import PostgresStore, shard_of
from statefleet.persistence._pgserver import TempPostgres

__all__ = ["check_order", "main"]

console = Console(highlight=False)
NODES = ("node-1", "node-2", "node-3")
VICTIM = "node-2"
SCHEMA = "demo"


class Node:
    """A node process and the JSON lines it printed (read by a thread as they come)."""

    def __init__(self, name: str, args: list[str], slices: list[int], errlog: Path) -> None:
        self.name = name
        self.err = errlog.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "statefleet.demo.cluster_node", *args, *map(str, slices)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
        )
        self.messages: list[dict[str, Any]] = []
        self.killed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.messages.append(json.loads(line))

    def said(self, key: str) -> list[Any]:
        """The values of ``key`` in the lines printed so far."""
        return [m[key] for m in list(self.messages) if key in m]

    def tell(self, line: str) -> None:
        """Write a command line to its stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL (no chance to hand anything over)."""
        self.killed = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.close()

    def stop(self, timeout: float = 60.0) -> int:
        """Stop cleanly (end of stdin: it hands its shards over); its exit status."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        finally:
            self.close()

    def close(self) -> None:
        """Once it exited: read what is left of its output, close the pipes."""
        self.reader.join(timeout=30)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None and not f.closed:
                with contextlib.suppress(OSError):
                    f.close()
        self.err.close()


def wait_until(
    cond: Callable[[], bool], what: str, timeout: float, check: Callable[[], None] = lambda: None
) -> None:
    """Poll ``cond`` until it holds (``check`` raises to stop early). Raises
    ``TimeoutError``."""
    start = time.monotonic()
    while not cond():
        check()
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def check_order(oid: str, snapshot: Any) -> list[str]:
    """What is wrong with a stored order at the end (nothing: ``[]``): counted exactly once,
    in a final state, each timer fired once (a backoff per retry, a settlement when paid)."""
    if snapshot is None:
        return [f"{oid}: acknowledged but never stored"]
    ctx, problems = snapshot.context, []
    final = FINAL.get(snapshot.configuration[-1]) if snapshot.configuration else None
    if ctx.get("placed") != 1:
        problems.append(f"{oid}: counted {ctx.get('placed')} times")
    if snapshot.status != "done" or final is None:
        return [*problems, f"{oid}: not ended (in {list(snapshot.configuration)})"]
    timers: list[str] = ctx.get("timers", [])
    kinds = Counter(t.split("#")[0] for t in timers)
    attempts = int(ctx.get("attempts", 0))
    if len(set(timers)) != len(timers):
        problems.append(f"{oid}: a timer fired twice: {timers}")
    if kinds["BACKOFF"] != attempts - 1:
        problems.append(f"{oid}: {kinds['BACKOFF']} backoffs for {attempts} attempts: {timers}")
    if kinds["SETTLE"] != (1 if final == "paid" else 0):
        problems.append(f"{oid}: ended {final} with {kinds['SETTLE']} settlements: {timers}")
    if final == "cancelled" and attempts != MAX_ATTEMPTS:
        problems.append(f"{oid}: cancelled after {attempts} attempts")
    return problems


class Demo:
    """The driver: the server, the nodes, the kill, the checks."""

    def __init__(
        self, args: argparse.Namespace, pg: TempPostgres, work: Path, portal: BlockingPortal
    ) -> None:
        self.args = args
        self.pg = pg
        self.work = work
        self.nodes: dict[str, Node] = {}
        #: orders that did not end in time: what the database said of each, nodes running
        self.stuck: dict[str, str] = {}
        #: the nodes killed (and replaced by a restart)
        self.gone: list[Node] = []
        self.violations: list[str] = []
        self.portal = portal
        #: a store of no node: the driver only reads (it also creates the schema first)
        self.store = PostgresStore(pg.dsn, schema=SCHEMA, shards=args.shards)

    # -- the database, through the store (its event loop runs in the portal's thread) -------
    def _db(self, fn: Callable[[PostgresStore], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            return await fn(self.store)

        return self.portal.call(go)

    def owners(self) -> dict[int, str | None]:
        """Each shard's live owner (``None``: released or expired)."""

        async def read(store: PostgresStore) -> dict[int, str | None]:
            return {le.shard: None if le.expired else le.owner for le in await store.leases()}

        result: dict[int, str | None] = self._db(read)
        return result

    def show_owners(self, title: str) -> None:
        """A table of the nodes: heartbeat age, shards held, their lease ages."""

        async def read(store: PostgresStore) -> tuple[list[Any], list[Any]]:
            return await store.members(), await store.leases()

        members, leases = self._db(read)
        table = Table(title=title, title_justify="left", header_style="bold")
        for col in ("node", "heartbeat age", "shards", "lease ages (min-max)"):
            table.add_column(col, justify="left" if col == "node" else "right")
        beats = {m.node: m.heartbeat_age for m in members}
        held: dict[str | None, list[Any]] = {}
        for le in leases:
            held.setdefault(None if le.expired else le.owner, []).append(le)
        for name in sorted({*beats, *(n for n in held if n is not None)}):
            mine = held.get(name, [])
            ages = (
                f"{min(le.age for le in mine):.1f}-{max(le.age for le in mine):.1f} s"
                if mine
                else "-"
            )
            gone = self.nodes.get(name) is None or self.nodes[name].proc.poll() is not None
            label = f"{name} [red](killed)[/]" if gone else name
            beat = f"{beats[name]:.1f} s" if name in beats else "-"
            table.add_row(label, beat, str(len(mine)), ages)
        if None in held:
            expired = held[None]
            table.add_row("[yellow](expired or free)[/]", "-", str(len(expired)), "-")
        console.print(table)

    def acked(self) -> set[str]:
        """Every order acknowledged so far (the senders' ack files)."""
        out: set[str] = set()
        for f in self.work.glob("slice-*.acked"):
            out |= set(f.read_text().split())
        return out

    def ended(self) -> int:
        """How many orders are in a final state (the database's count)."""
        n: int = self._db(lambda store: store.count_actors(status="done"))
        return n

    def wait(self, cond: Callable[[], bool], what: str, timeout: float) -> None:
        """:func:`wait_until`, stopping with ``RuntimeError`` if a node not killed on purpose
        exited."""

        def alive() -> None:
            for name, node in self.nodes.items():
                if node.proc.poll() is not None and not node.killed:
                    raise RuntimeError(f"{name} exited unexpectedly: {self.stderr(name)}")

        wait_until(cond, what, timeout, alive)

    # -- the run ------------------------------------------------------------------------------
    def start(self, name: str, slices: list[int]) -> Node:
        a = self.args
        argv = [self.pg.dsn, SCHEMA, name, str(self.work), str(a.orders), str(len(NODES))]
        argv += [str(a.seed), str(a.shards), str(a.lease_time)]
        node = self.nodes[name] = Node(name, argv, slices, self.work / f"{name}.stderr")
        self.wait(lambda: bool(node.said("ready")), f"{name} to start", 60)
        return node

    def stderr(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.work / f"{name}.stderr").read_text()[-2000:]
        return ""

    def run(self) -> dict[str, Any]:
        """The whole demo; the numbers for the summary."""
        a = self.args
        started = time.monotonic()
        for k, name in enumerate(NODES):
            self.start(name, [k])

        def spread() -> bool:  # rendezvous hashing over the live members: about a third each
            held = Counter(self.owners().values())
            return all(held[name] >= a.shards // len(NODES) // 2 for name in NODES)

        self.wait(spread, "the shards to spread over the three nodes", 60)
        self.show_owners("shard owners, three nodes")
        for node in self.nodes.values():
            node.tell("go")
        console.print(f"[green]3 nodes sending[/], each placing {a.orders // 3:,} orders")
        kill_at = max(1, int(a.orders * a.kill_at))
        self.wait(lambda: len(self.acked()) >= kill_at, f"{kill_at} acknowledged orders", 300)
        self.show_owners("shard owners just before the kill")
        victim = self.nodes[VICTIM]
        victim.kill()
        self.gone.append(victim)
        killed_at = time.monotonic()
        acked_at_kill = len(self.acked())
        console.print(
            f"[red]{VICTIM} killed with SIGKILL[/] after {acked_at_kill:,} orders acknowledged;"
            f" its leases run out within {a.lease_time:g} s"
        )

        def taken_over() -> bool:
            owners = self.owners()
            return len(owners) == a.shards and all(
                o is not None and o != VICTIM for o in owners.values()
            )

        self.wait(taken_over, "the survivors to take the killed node's shards", 60)
        failover = time.monotonic() - killed_at
        self.show_owners(f"shard owners {failover:.1f} s after the kill")
        k = NODES.index(VICTIM)
        if a.no_restart:
            self.nodes["node-1"].tell(f"adopt {k}")
            console.print(f"{VICTIM} stays down; node-1 places the rest of its orders")
        else:
            self.start(VICTIM, [k]).tell("go")
            console.print(f"{VICTIM} restarted: it places the rest of its orders, and rejoins")

        def slices_done() -> set[int]:
            return {s for n in self.nodes.values() for s in n.said("slice_done")}

        try:  # on a time-out, the check below names what is missing
            every = set(range(len(NODES)))
            self.wait(lambda: slices_done() == every, "every order placed", a.timeout)
            self.wait(lambda: self.ended() >= a.orders, "every order to end", a.timeout)
        except TimeoutError as exc:
            per_slice = {f.stem: len(f.read_text().split()) for f in self.work.glob("*.acked")}
            self.violations.append(f"{exc} (acknowledged: {dict(sorted(per_slice.items()))})")
            # while the nodes still run: what holds the orders that did not end
            running = self._db(lambda store: store.actor_ids(status="active", limit=50))
            self.stuck = {oid: self.why_stuck(oid) for oid in running}
        found = sum(x for n in self.nodes.values() for x in n.said("found_accepted"))
        wall = time.monotonic() - started
        self.show_owners("shard owners at the end")
        for name, node in self.nodes.items():
            if node.proc.poll() is not None:  # the killed node, left down
                continue
            status = node.stop()
            if status != 0:
                self.violations.append(f"{name} exited with status {status}: {self.stderr(name)}")
        said = [m for n in self.nodes.values() for m in n.messages]
        said += [m for n in self.gone for m in n.messages]
        return {
            "refused": Counter(m["refused"].split(":")[0] for m in said if "refused" in m),
            "restarts": sum(m.get("restarts", 0) for m in said),
            "macrosteps": sum(m.get("macrosteps", 0) for m in said),
            "acked_at_kill": acked_at_kill,
            "found_accepted": found,
            "failover": failover,
            "wall": wall,
            **self.check(),
        }

    def why_stuck(self, oid: str) -> str:
        """What the database says about an order that did not end: its shard's owner, its
        inbox, its timers (overdue or not)."""

        async def read(store: PostgresStore) -> tuple[list[Any], list[Any], list[Any]]:
            leases = await store.leases()
            timers = [t for t in await store.due_timers(float("inf"), 100_000) if t.actor_id == oid]
            return leases, timers, await store.inbox(oid)

        leases, timers, inbox = self._db(read)
        shard = shard_of(oid, self.args.shards)
        owner = next((le for le in leases if le.shard == shard), None)
        who = "nobody" if owner is None or owner.expired else f"{owner.owner} (epoch {owner.epoch})"
        now = time.time()
        due = ", ".join(
            f"{t.event.name} " + (f"overdue by {now - t.due:.1f} s" if now > t.due else "pending")
            for t in timers
        )
        return f"; shard {shard} held by {who}; {len(inbox)} inbox events; timers: {due or 'none'}"

    def check(self) -> dict[str, Any]:
        """The ledger, read from the database once every node stopped."""
        a = self.args
        acked = self.acked()
        ids = [o for k in range(len(NODES)) for o in slice_orders(a.orders, len(NODES), k)]
        if acked != set(ids):
            self.violations.append(f"{len(set(ids) - acked)} orders never acknowledged")

        async def read(store: PostgresStore) -> tuple[dict[str, Any], list[str], list[Any], int]:
            loaded: dict[str, Any] = {}
            for i in range(0, len(ids), 500):
                for oid, got in (await store.load_many(ids[i : i + 500])).items():
                    loaded[oid] = got if isinstance(got, Exception) else got.record
            return (
                loaded,
                await store.pending_actors(),
                await store.dead_letters(),
                (await store.count_actors()),
            )

        loaded, pending, dead, stored = self._db(read)
        finals: Counter[str] = Counter()
        timers: Counter[str] = Counter()
        once = 0
        for oid in ids:
            rec = loaded.get(oid)
            if isinstance(rec, Exception):
                self.violations.append(f"{oid}: cannot be loaded: {rec}")
                continue
            snap = None if rec is None else rec.snapshot
            problems = check_order(oid, snap)
            if problems and oid in self.stuck:
                problems[-1] += self.stuck[oid]
            self.violations += problems
            if snap is not None and not problems:
                once += 1
                finals[FINAL[snap.configuration[-1]]] += 1
                timers.update(t.split("#")[0] for t in snap.context["timers"])
        if stored != len(ids):
            self.violations.append(f"{stored} actors stored for {len(ids)} orders")
        if pending:
            self.violations.append(f"events left in the inboxes of {pending[:5]}")
        if dead:
            self.violations.append(f"{len(dead)} dead letters: {dead[:3]}")
        return {"acked": len(acked), "once": once, "finals": finals, "timers": timers}


def summary(result: dict[str, Any], args: argparse.Namespace, violations: list[str]) -> None:
    """Print the summary table and the verdict."""
    table = Table(title="cluster summary", header_style="bold")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("orders acknowledged (3 nodes sending)", f"{result['acked']:,}")
    table.add_row(f"  of which before {VICTIM} was killed", f"{result['acked_at_kill']:,}")
    table.add_row("  in flight at the kill, found accepted", f"{result['found_accepted']:,}")
    refused = result["refused"]
    table.add_row(
        "  sends refused (not acknowledged), sent again",
        f"{sum(refused.values()):,}" + "".join(f"\n{n:,} {e}" for e, n in refused.items()),
    )
    lease = args.lease_time
    table.add_row(f"failover (lease {lease:g} s)", f"{result['failover']:.1f} s")
    for name, style in (("paid", "green"), ("cancelled", "yellow"), ("refunded", "blue")):
        table.add_row(f"ended [{style}]{name}[/]", f"{result['finals'].get(name, 0):,}")
    ok = not violations
    table.add_row(
        "every order counted exactly once, ended",
        f"[green]{result['once']:,}, each once[/]" if ok else "[red]VIOLATED[/]",
    )
    fired = result["timers"]
    detail = ", ".join(f"{fired.get(k, 0):,} {k.lower()}" for k in TIMER_KINDS)
    table.add_row(
        "timers fired, each exactly once",
        f"{sum(fired.values()):,}: {detail}" if ok else "[red]VIOLATED[/]",
    )
    # the killed node's own counts died with it
    table.add_row("restarts after an injected bug (*)", f"{result['restarts']:,}")
    table.add_row("macrosteps committed (*)", f"{result['macrosteps']:,}")
    table.add_row("wall time", f"{result['wall']:.1f} s")
    console.print(table)
    console.print("(*) by the nodes that stopped cleanly")
    for v in violations[:20]:
        console.print(f"[red]violation:[/] {v}")
    if len(violations) > 20:
        console.print(f"[red]... and {len(violations) - 20} more violations[/]")
    verdict = "[green]ledger checked: every order and every timer exactly once[/]"
    console.print(verdict if ok else f"[red]{len(violations)} violation(s)[/]")


@contextlib.contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C (so the clean-up below runs)."""

    def on_term(signum: int, frame: Any) -> NoReturn:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; exit status 0 when the ledger holds."""
    parser = argparse.ArgumentParser(
        prog="python -m statefleet.demo.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction placed before SIGKILL")
    parser.add_argument("--lease-time", type=float, default=2.0, help="seconds")
    parser.add_argument("--shards", type=int, default=24)
    parser.add_argument("--no-restart", action="store_true", help="leave the killed node down")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for every order to be placed, and then to end",
    )
    args = parser.parse_args(argv)
    if args.orders < len(NODES) or not 0 < args.kill_at < 1 or args.lease_time <= 0:
        parser.error("need --orders >= 3, 0 < --kill-at < 1 and --lease-time > 0")
    console.print(
        Panel.fit(
            f"[bold]statefleet demo-cluster[/]: {args.orders:,} order actors on three node"
            " processes\nsharing one PostgreSQL (a throwaway server in a temporary folder)."
            f"\nEntities map to {args.shards} shards; each shard has one owner node at a time,"
            f" by a\nlease of {args.lease_time:g} s with a fencing epoch checked in every commit."
            f"\nEvery node also sends orders, wherever their owner is. Part-way\nthrough,"
            f" {VICTIM} is killed with SIGKILL: its shards move once its leases run out.",
            border_style="cyan",
        )
    )
    pg = TempPostgres(fsync=False)  # the demo kills nodes, never the server
    try:
        pg.start()
    except PersistenceError as exc:
        console.print(f"[red]PostgreSQL cannot start here:[/] {exc}")
        return 2
    demo: Demo | None = None
    try:
        with (
            tempfile.TemporaryDirectory(prefix="sf-demo-cluster-") as work,
            _terminated_as_interrupt(),
            start_blocking_portal() as portal,
        ):
            demo = Demo(args, pg, Path(work), portal)
            try:
                with portal.wrap_async_context_manager(demo.store):
                    result = demo.run()
            except (TimeoutError, RuntimeError) as exc:  # a node did not start
                demo.violations.append(str(exc))
                for name in demo.nodes:
                    if err := demo.stderr(name).strip():
                        console.print(f"[dim]{name} stderr:[/] {err}")
                console.print(f"[red]violation:[/] {exc}")
                return 1
            summary(result, args, demo.violations)
            return 1 if demo.violations else 0
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: stopping the nodes and PostgreSQL[/]")
        return 130
    finally:
        if demo is not None:
            for node in demo.nodes.values():
                if node.proc.poll() is None:
                    node.kill()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
