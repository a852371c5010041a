"""Three real node processes on a throwaway PostgreSQL, each also sending to entities owned
by all three; in each of ten rounds one node is SIGKILLed at a random point and restarted
(every other round only after the others have taken its shards over, when its leases
expired); in two more rounds a node is SIGSTOPped until the others have taken its shards
over, then resumed (its late commits are refused); once, PostgreSQL itself is restarted
under this load. Afterwards every acknowledged event was applied exactly once, nothing was
applied twice, and every durable timer fired exactly once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from statefleet.persistence import PostgresStore
from statefleet.persistence._pgserver import TempPostgres

from ._ledger import SHARDS

pytestmark = pytest.mark.anyio

PROGRAM = Path(__file__).with_name("_node_proc.py")
ENTITIES = 24


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
    nodes = {n: NodeProc(dsn, pg_schema, n, *(["arm"] if n == "a" else [])) for n in "abc"}
    acked: list[str] = []
    async with PostgresStore(dsn, schema=pg_schema, shards=SHARDS) as plain:

        async def owners() -> dict[int, str | None]:
            return {le.shard: (None if le.expired else le.owner) for le in await plain.leases()}

        def owners_now() -> dict[int, str | None]:
            return anyio.from_thread.run(owners)

        try:
            for p in nodes.values():
                await anyio.to_thread.run_sync(wait, lambda p=p: "ready" in p.lines, "ready")
            await anyio.to_thread.run_sync(wait, lambda: "armed" in nodes["a"].lines, "armed")
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
                nodes[victim.name] = NodeProc(dsn, pg_schema, victim.name)
                await anyio.to_thread.run_sync(
                    wait, lambda n=nodes[victim.name]: "ready" in n.lines, "restart"
                )
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

            async def fired(t: int) -> int:
                rec = (await plain.load(f"t{t}")).record
                return 0 if rec is None else int(rec.snapshot.context["fired"])

            with anyio.fail_after(30):  # the timers are due 1 s after they were armed
                while [await fired(t) for t in range(10)] != [1] * 10:
                    assert all(await fired(t) <= 1 for t in range(10))
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
            assert len(acked) > 100
            assert {p.stop() for p in nodes.values()} == {0}, [p.err for p in nodes.values()]
        finally:
            for p in nodes.values():
                if p.proc.poll() is None:
                    p.proc.kill()
                    p.proc.wait()
                p.close()
