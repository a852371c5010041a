"""The crash test on PostgreSQL: the fleet of ``test_crash`` (``_fleet.py``, through
``_pg_fleet.py``) runs on a PostgresStore, is killed with SIGKILL at random points in several
rounds and restarted; every acknowledged event must be applied exactly once, every timer
must fire (never early), and nothing may be left in the inbox or the timers.

The seed is printed (``-s`` shows it); set ``STATEFLEET_CRASH_SEED`` to replay a run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import asyncpg
import pytest

from statefleet.persistence._pgserver import TempPostgres

FLEET = Path(__file__).with_name("_pg_fleet.py")
ROUNDS = 6


def _start(dsn: str, schema: str, log: Path, mode: str, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(FLEET), dsn, schema, str(log), mode, str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_repeats_nothing(
    tmp_path: Path, pg_server: TempPostgres, pg_schema: str
) -> None:
    seed = int(os.environ.get("STATEFLEET_CRASH_SEED", random.randrange(1_000_000)))
    print(f"crash test seed {seed} (STATEFLEET_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    log = tmp_path / "acks.log"
    for round_no in range(ROUNDS):
        proc = _start(pg_server.dsn, pg_schema, log, str(round_no), seed)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.communicate()[1]
        for _ in range(rng.randrange(20, 600)):  # acknowledgements before the kill
            line = proc.stdout.readline()
            assert line == "ack\n", (line, proc.communicate()[1])
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    proc = _start(pg_server.dsn, pg_schema, log, "verify", seed)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    state = json.loads(out)

    acked: dict[str, list[str]] = {a: [] for a in state}
    arms: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        actor, kind, eid, *rest = line.split()
        if kind == "arm":
            arms[actor] += 1
        else:  # inc, or relay: applied by its target
            acked[rest[0] if kind == "relay" else actor].append(eid)
    assert sum(map(len, acked.values())) > ROUNDS * 10
    for actor, s in state.items():
        seen = Counter(s["seen"])
        assert not [e for e, n in seen.items() if n > 1], f"{actor}: applied twice (seed {seed})"
        assert not [e for e in acked[actor] if e not in seen], f"{actor}: lost (seed {seed})"
        assert s["rings"] == s["arms"] and s["early"] == 0, (actor, s, seed)
        assert s["arms"] <= arms[actor] + ROUNDS * 8

    async def leftovers() -> tuple[int, int]:
        conn = await asyncpg.connect(pg_server.dsn)
        try:
            inbox = await conn.fetchval(f"SELECT count(*) FROM {pg_schema}.inbox")
            timers = await conn.fetchval(f"SELECT count(*) FROM {pg_schema}.timers")
        finally:
            await conn.close()
        return inbox, timers

    assert anyio.run(leftovers) == (0, 0)
