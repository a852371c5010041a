"""What the loop-iteration tests of the durable send share: an event loop that counts its
iterations, and the version a crash would leave on disk."""

from __future__ import annotations

import asyncio
import selectors
import sqlite3
from pathlib import Path
from typing import Any


class CountingSelector(selectors.DefaultSelector):
    """Counts the event loop's iterations (one ``select`` each)."""

    selects = 0

    def select(self, timeout: float | None = None) -> Any:
        type(self).selects += 1
        return super().select(timeout)


def run_counting(main: Any) -> Any:
    """``main()`` on an event loop whose iterations ``CountingSelector.selects`` counts."""
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(CountingSelector())) as r:
        return r.run(main())


def stored_version(db: Path, actor: str) -> int | None:
    """The version on disk, read by a connection of its own (what a crash would leave)."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT version FROM actors WHERE id = ?", (actor,)).fetchone()
    finally:
        conn.close()
    return None if row is None else int(row[0])
