"""Run by ``test_written_at_once`` in a subprocess of its own: ``python _queued_batches.py
DB N``. Commits N new actors with ``SQLiteStore(durability="normal", max_batch=1)`` while
another connection holds the database's write lock: the first batch goes to the writer
thread (the loop's connection finds the database locked) and the N others queue behind it,
each a batch of its own. Once the lock is released, each of them is written on the loop
and finished before its write call returns. Prints ``ok <batches>`` when every commit was
acknowledged. A queue that recursed or stopped writing makes it fail or hang: the test
runs it with a timeout, so a broken queue fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from statefleet.core import ChartSpec, StateSpec, compile_chart
from statefleet.persistence import CommitResult, SQLiteStore, make_commit

SNAPSHOT = (
    compile_chart(ChartSpec(id="c", version="1", states=[StateSpec(id="s")]))
    .initial(session_id="x")
    .snapshot
)


async def main(db: str, n: int) -> None:
    async with SQLiteStore(db, durability="normal", max_batch=1, busy_timeout=30) as store:
        await store.commit(make_commit("warm", SNAPSHOT, previous=None))
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
        first = asyncio.ensure_future(store.commit(make_commit("b", SNAPSHOT, previous=None)))
        await asyncio.sleep(0)  # it runs: its batch goes to the thread, which waits
        assert not first.done()
        rest = [
            asyncio.ensure_future(store.commit(make_commit(f"a{i}", SNAPSHOT, previous=None)))
            for i in range(n)
        ]
        await asyncio.sleep(0)  # every one queued behind the locked batch
        other.execute("ROLLBACK")
        other.close()
        out = await asyncio.gather(first, *rest, return_exceptions=True)
        bad = [r for r in out if not isinstance(r, CommitResult)]
        assert not bad, bad[:3]
        print("ok", store.stats["batches"], flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
