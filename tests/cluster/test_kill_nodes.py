"""Three real node processes on a throwaway PostgreSQL, each also sending to entities owned
by all three; in each of ten rounds one node is SIGKILLed at a random point and restarted
(every other round only after the others have taken its shards over, when its leases
expired); in two more rounds a node is SIGSTOPped until the others have taken its shards
over, then resumed (its late commits are refused); once, PostgreSQL itself is restarted
under this load. Each restarted node arms ten more durable timers, so timers are in flight
across later kills. Afterwards every acknowledged event was applied exactly once, nothing was
applied twice, and every durable timer fired exactly once.

Audit triggers in the test's own schema log, as the database saw them, every lease change,
every committed actor row and every timer row (with the process that wrote it: the node
processes name themselves in a connection setting). From that history the test also checks
that no shard was ever owned by two nodes at once (a node takes a shard only once the
previous owner released it or its lease ran out), that every step was committed by the
process holding its shard at the epoch it read, and that no durable timer fired before its
due time (database clock, in the firing step's transaction)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import asyncpg
import msgspec
import pytest

from statefleet.persistence import PostgresStore
from statefleet.persistence._pgserver import TempPostgres

from ._ledger import SHARDS
from ._node_proc import node_of

pytestmark = pytest.mark.anyio

PROGRAM = Path(__file__).with_name("_node_proc.py")
ENTITIES = 24

_NOW = "extract(epoch from clock_timestamp())"
_PROC = "current_setting('sftest.proc', true)"
#: the audit: tables and row triggers logging what the nodes wrote, in the test's schema
AUDIT = (
    """CREATE TABLE audit_leases (id BIGSERIAL PRIMARY KEY, shard INT, owner TEXT,
       epoch BIGINT, expires_at FLOAT8, proc TEXT, at FLOAT8)""",
    f"""CREATE FUNCTION audit_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       INSERT INTO audit_leases (shard, owner, epoch, expires_at, proc, at)
       VALUES (NEW.shard, NEW.owner, NEW.epoch, NEW.expires_at, {_PROC}, {_NOW});
       RETURN NULL; END $$""",
    """CREATE TRIGGER audit_lease AFTER INSERT OR UPDATE ON shard_leases
       FOR EACH ROW EXECUTE FUNCTION audit_lease()""",
    # the lease row as the committing transaction sees it: locked (FOR SHARE) by its fence
    """CREATE TABLE audit_steps (id BIGSERIAL PRIMARY KEY, actor_id TEXT, version BIGINT,
       shard INT, owner TEXT, epoch BIGINT, proc TEXT, tx BIGINT, at FLOAT8)""",
    f"""CREATE FUNCTION audit_step() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       INSERT INTO audit_steps (actor_id, version, shard, owner, epoch, proc, tx, at)
       SELECT NEW.id, NEW.version, NEW.shard, l.owner, l.epoch, {_PROC}, txid_current(), {_NOW}
       FROM (SELECT NULL) x LEFT JOIN shard_leases l ON l.shard = NEW.shard;
       RETURN NULL; END $$""",
    """CREATE TRIGGER audit_step AFTER INSERT OR UPDATE ON actors
       FOR EACH ROW EXECUTE FUNCTION audit_step()""",
    """CREATE TABLE audit_timers (id BIGSERIAL PRIMARY KEY, op TEXT, actor_id TEXT, key TEXT,
       due FLOAT8, proc TEXT, tx BIGINT, at FLOAT8)""",
    f"""CREATE FUNCTION audit_timer() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE r timers; BEGIN
       IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
       INSERT INTO audit_timers (op, actor_id, key, due, proc, tx, at)
       VALUES (TG_OP, r.actor_id, r.key, r.due, {_PROC}, txid_current(), {_NOW});
       RETURN NULL; END $$""",
    """CREATE TRIGGER audit_timer AFTER INSERT OR UPDATE OR DELETE ON timers
       FOR EACH ROW EXECUTE FUNCTION audit_timer()""",
)


class LeaseRow(msgspec.Struct, frozen=True):
    shard: int
    owner: str | None
    epoch: int
    expires_at: float
    proc: str | None
    at: float


class StepRow(msgspec.Struct, frozen=True):
    actor_id: str
    version: int
    shard: int
    owner: str | None
    epoch: int | None
    proc: str | None
    tx: int
    at: float


class TimerRow(msgspec.Struct, frozen=True):
    op: str
    actor_id: str
    key: str
    due: float
    proc: str | None
    tx: int
    at: float


class Tenure(msgspec.Struct):
    """One epoch of a shard: the process that acquired it, from when (the database's
    clock, once the lease row was locked), its lease's end as last written, and when the
    next epoch began (``inf``: never)."""

    proc: str | None
    owner: str | None
    start: float
    lease_end: float
    next_start: float = float("inf")


def check_tenures(leases: list[LeaseRow]) -> dict[tuple[int, int], Tenure]:
    """Every shard's epochs from the lease history, asserting that no node took a shard
    while another node's lease on it still ran (it was neither released nor expired)."""
    tenures: dict[tuple[int, int], Tenure] = {}
    current: dict[int, tuple[int, Tenure]] = {}
    for r in leases:
        cur = current.get(r.shard)
        if cur is not None and r.epoch == cur[0]:  # a renewal or a release, same epoch
            t = cur[1]
            assert r.proc == t.proc, f"{r.proc} changed shard {r.shard} held by {t.proc}: {r}"
            t.lease_end = r.expires_at
            if r.owner is None:
                t.owner = None  # released: free from now on
            continue
        assert r.owner is not None and node_of(r.proc) == r.owner, f"taken by another: {r}"
        if cur is not None:
            epoch, t = cur
            assert r.epoch > epoch, f"shard {r.shard}: epoch {r.epoch} after {epoch}"
            if t.owner is not None and t.owner != r.owner:
                assert r.at >= t.lease_end, (
                    f"shard {r.shard}: {r.owner} took it at {r.at:.3f} while {t.proc}'s lease"
                    f" (epoch {epoch}) ran until {t.lease_end:.3f}"
                )
            t.next_start = r.at
        tenure = Tenure(r.proc, r.owner, r.at, r.expires_at)
        tenures[(r.shard, r.epoch)] = tenure
        current[r.shard] = (r.epoch, tenure)
    return tenures


def check_steps(steps: list[StepRow], tenures: dict[tuple[int, int], Tenure]) -> None:
    """Every committed actor row was written by the process holding its shard, at the epoch
    its transaction read, within that epoch; no actor version was committed twice."""
    assert steps
    versions = [(s.actor_id, s.version) for s in steps]
    assert len(versions) == len(set(versions)), "an actor version committed twice"
    for s in steps:
        assert s.epoch is not None and s.proc is not None, f"a step outside any lease: {s}"
        t = tenures[(s.shard, s.epoch)]
        assert s.proc == t.proc and s.owner == node_of(s.proc), (
            f"{s.actor_id} v{s.version} committed by {s.proc} while the lease of shard"
            f" {s.shard} was {s.owner!r}'s at epoch {s.epoch} (acquired by {t.proc})"
        )
        assert t.start <= s.at < t.next_start, f"{s} outside its epoch {t}"


def check_timers(timers: list[TimerRow], steps: list[StepRow], ids: list[str]) -> None:
    """Each timer of ``ids`` was armed once, kept its due time, and was deleted once (it
    fired: nothing else ends it in the ledger chart), in a step of its actor committed no
    earlier than the due time."""
    by_actor: dict[str, list[TimerRow]] = {}
    for r in timers:
        by_actor.setdefault(r.actor_id, []).append(r)
    step_tx = {(s.actor_id, s.tx) for s in steps}
    for aid in ids:
        ops = by_actor.get(aid, [])
        assert [r.op for r in ops if r.op != "UPDATE"] == ["INSERT", "DELETE"], (aid, ops)
        armed, fired = ops[0], ops[-1]
        assert all(r.due == armed.due for r in ops), f"{aid}: its due time changed: {ops}"
        assert (aid, fired.tx) in step_tx, f"{aid}: timer deleted outside a step of its own"
        assert fired.at >= armed.due, (
            f"{aid}: fired {armed.due - fired.at:.3f} s early, by {fired.proc} ({ops})"
        )


R = TypeVar("R", LeaseRow, StepRow, TimerRow)


async def read_log(conn: Any, table: str, row: type[R]) -> list[R]:
    """An audit table's rows in the order they were written."""
    cols = ", ".join(row.__struct_fields__)
    return [row(*r) for r in await conn.fetch(f"SELECT {cols} FROM {table} ORDER BY id")]


async def read_audit(dsn: str, schema: str) -> tuple[list[LeaseRow], list[StepRow], list[TimerRow]]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return (
            await read_log(conn, "audit_leases", LeaseRow),
            await read_log(conn, "audit_steps", StepRow),
            await read_log(conn, "audit_timers", TimerRow),
        )
    finally:
        await conn.close()


async def install_audit(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        for statement in AUDIT:
            await conn.execute(statement)
    finally:
        await conn.close()


class NodeProc:
    """A node process and the lines it printed (read by a thread as they come)."""

    def __init__(self, dsn: str, schema: str, name: str, *extra: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), dsn, schema, name, str(ENTITIES), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.err: list[str] = []
        self.threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def acks(self) -> list[str]:
        return [x[4:] for x in list(self.lines) if x.startswith("ack ")]

    def arms(self) -> list[str]:
        """The timers it armed (acknowledged)."""
        return [x[4:] for x in list(self.lines) if x.startswith("arm ")]

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.close()

    def stop(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        status = self.proc.wait(timeout=60)
        self.close()
        return status

    def close(self) -> None:
        """Once it exited: read what is left of its output, close the pipes."""
        for t in self.threads:
            t.join(timeout=30)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None and not f.closed:
                f.close()


def wait(cond: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    """Wait on ``cond`` (polled), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def test_kill_a_node_in_each_of_ten_rounds(pg_server: TempPostgres, pg_schema: str) -> None:
    rng = random.Random(14)
    dsn = pg_server.dsn
    acked: list[str] = []
    timer_ids: list[str] = []  # the timers whose arming was acknowledged
    async with PostgresStore(dsn, schema=pg_schema, shards=SHARDS) as plain:
        await install_audit(dsn, pg_schema)  # the schema exists once a store opened it
        nodes = {n: NodeProc(dsn, pg_schema, n, *(["arm", "t"] if n == "a" else [])) for n in "abc"}

        async def owners() -> dict[int, str | None]:
            return {le.shard: (None if le.expired else le.owner) for le in await plain.leases()}

        def owners_now() -> dict[int, str | None]:
            return anyio.from_thread.run(owners)

        try:
            for p in nodes.values():
                await anyio.to_thread.run_sync(wait, lambda p=p: "ready" in p.lines, "ready")
            await anyio.to_thread.run_sync(wait, lambda: "armed" in nodes["a"].lines, "armed")
            timer_ids += nodes["a"].arms()
            for rnd in range(12):
                victim = nodes[rng.choice("abc")]
                start = len(victim.acks())
                more = rng.randint(1, 40)
                await anyio.to_thread.run_sync(
                    wait, lambda v=victim, s=start, m=more: len(v.acks()) >= s + m, "acks"
                )

                def moved(name: str = victim.name) -> bool:
                    o = owners_now()
                    return len(o) == SHARDS and all(x not in (None, name) for x in o.values())

                if rnd in (4, 9):  # paused past its lease: the others take its shards over
                    victim.signal(signal.SIGSTOP)
                    await anyio.to_thread.run_sync(wait, moved, "takeover from a paused node")
                    victim.signal(signal.SIGCONT)
                    continue
                if rnd == 6:  # the database restarts under load, nodes running
                    await anyio.to_thread.run_sync(pg_server.restart)
                victim.kill()
                acked += victim.acks()
                if rnd % 2 == 0:  # failover: the others take its shards once its leases expire
                    await anyio.to_thread.run_sync(wait, moved, "failover")
                # restarted, it arms timers of its own: in flight across the next kills
                nodes[victim.name] = node = NodeProc(dsn, pg_schema, victim.name, "arm", f"r{rnd}t")
                await anyio.to_thread.run_sync(
                    wait, lambda n=node: "armed" in n.lines, "restarted and armed"
                )
                timer_ids += node.arms()
            for p in nodes.values():
                p.tell("quiet")
            for p in nodes.values():
                await anyio.to_thread.run_sync(wait, lambda p=p: "quiet" in p.lines, "quiet")
                acked += p.acks()

            async def drained() -> bool:
                return not await plain.pending_actors()

            with anyio.fail_after(30):
                while not await drained():
                    await anyio.sleep(0.05)

            async def fired(aid: str) -> int:
                rec = (await plain.load(aid)).record
                return 0 if rec is None else int(rec.snapshot.context["fired"])

            with anyio.fail_after(30):  # the timers are due 1 s after they were armed
                while (counts := [await fired(t) for t in timer_ids]) != [1] * len(timer_ids):
                    assert all(n <= 1 for n in counts), dict(zip(timer_ids, counts, strict=True))
                    await anyio.sleep(0.05)
            applied: list[str] = []
            for e in range(ENTITIES):
                rec = (await plain.load(f"e{e}")).record
                if rec is not None:
                    applied += rec.snapshot.context["keys"]
            assert len(applied) == len(set(applied)), "a key applied twice"
            missing = set(acked) - set(applied)
            dead = [(d.actor_id, d.reason) for d in await plain.dead_letters()]
            assert not missing, f"{len(missing)} acknowledged events lost {missing} {dead[:5]}"
            assert len(acked) > 100 and len(timer_ids) > 50
            assert {p.stop() for p in nodes.values()} == {0}, [p.err for p in nodes.values()]
            # the database's own history of the run
            leases, steps, timers = await read_audit(dsn, pg_schema)
            tenures = check_tenures(leases)
            check_steps(steps, tenures)
            check_timers(timers, steps, timer_ids)
        finally:
            for p in nodes.values():
                if p.proc.poll() is None:
                    p.proc.kill()
                    p.proc.wait()
                p.close()
