"""``make demo``: a fleet of order actors on a SQLite file, killed mid-run and recovered.

``python -m statefleet.demo [--orders N] [--db PATH] [--seed S] [--kill-at FRACTION]``

1. starts the fleet (:mod:`statefleet.demo.fleet`) in a child process: each order invokes a
   payment service that sometimes declines or hangs (an ``after`` timer gives up on it),
   retries, and ends paid, cancelled or refunded; a few orders hit a transient runtime bug and
   the supervisor restarts them from their last committed snapshot;
2. kills that process with SIGKILL part-way through;
3. restarts it on the same file: it recovers every actor, its timers and its inbox, places
   the orders that were never acknowledged, and waits until every order has ended;
4. checks the ledger: every acknowledged order was applied exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(highlight=False)


def _fleet(db: Path, ack: Path, orders: int, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "statefleet.demo.fleet", str(db), str(ack), str(orders), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def _watch(
    proc: subprocess.Popen[str], progress: Progress, task: Any, kill_at: int | None
) -> tuple[dict[str, Any] | None, int]:
    """Follow the child's JSON lines; SIGKILL it once ``kill_at`` orders are acknowledged."""
    assert proc.stdout is not None
    placed = 0
    for line in proc.stdout:
        msg = json.loads(line)
        if "summary" in msg:
            proc.wait()
            return msg["summary"], placed
        if "waiting" in msg and kill_at is None:
            progress.update(
                task, description="run 2: all placed, waiting for hung payments' timeouts"
            )
        if "placed" in msg:
            placed = msg["placed"]
            progress.update(task, completed=msg["ended"], placed=placed)
            if kill_at is not None and placed >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return None, placed
    proc.wait()
    raise SystemExit(f"the fleet process exited with status {proc.returncode}")


def main(argv: list[str] | None = None) -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m statefleet.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--db", default="demo.db")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction placed before SIGKILL")
    args = parser.parse_args(argv)
    db = Path(args.db)
    ack = db.with_suffix(".acked")
    ended_log = Path(f"{ack}.ended")
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), ack, ended_log):
        p.unlink(missing_ok=True)

    console.print(
        Panel.fit(
            f"[bold]statefleet demo[/]: {args.orders:,} order actors on [cyan]{db}[/]\n"
            "each order invokes a payment service that sometimes declines or hangs;\n"
            "an [italic]after[/] timer gives up on a hung payment, the order retries (3 tries),\n"
            "and ends [green]paid[/], [yellow]cancelled[/] or [blue]refunded[/]."
            " Every macrostep is committed\nto SQLite before its effects run."
            " Part-way through, the fleet process is\nkilled with SIGKILL and started again."
            "\nSome orders hit a runtime bug injected on purpose (a transient crash)\nfor the"
            " supervisor to restart; hung payments end only when their timeout\nfires.",
            border_style="cyan",
        )
    )
    started = time.perf_counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ended, {task.fields[placed]:,} placed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("run 1 (will be killed)", total=args.orders, placed=0)
        proc = _fleet(db, ack, args.orders, args.seed)
        _watch(proc, progress, task, int(args.orders * args.kill_at))
        acked_before = len(ack.read_text().split()) if ack.exists() else 0
        progress.update(task, description="run 1 [red]killed (SIGKILL)[/]")
        progress.stop_task(task)  # its clock stops with the process
        task2 = progress.add_task("run 2 (recovering)", total=args.orders, placed=acked_before)
        proc = _fleet(db, ack, args.orders, args.seed)
        summary, _ = _watch(proc, progress, task2, None)
        progress.update(task2, completed=args.orders, description="run 2 recovered")
    assert summary is not None
    wall = time.perf_counter() - started

    table = Table(title="fleet summary", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("value", justify="right")
    final = summary["final"]
    for name, style in (("paid", "green"), ("cancelled", "yellow"), ("refunded", "blue")):
        table.add_row(f"ended [{style}]{name}[/]", f"{final.get(name, 0):,}")
    table.add_row("orders acknowledged before the kill", f"{acked_before:,}")
    table.add_row("acknowledged in all", f"{summary['acknowledged']:,}")
    ok = summary["applied_once"] == summary["acknowledged"] and not summary["not_exactly_once"]
    verdict = "[green]every one, exactly once[/]" if ok else "[red]MISMATCH[/]"
    table.add_row("applied after recovery", verdict)
    # the listeners' view: each run reports the orders it saw end; a step is published only
    # once it is committed, so an order reported before the kill is never reported again
    reported = Counter(ended_log.read_text().split()) if ended_log.exists() else Counter()
    twice = sum(1 for n in reported.values() if n > 1)
    ok = ok and not twice
    table.add_row(
        "orders reported ended, both runs (listeners, recovery)",
        f"{sum(reported.values()):,} ({'each once' if not twice else f'[red]{twice} twice[/]'})",
    )
    table.add_row("payment declines handled (error.invoke)", f"{summary['declined']:,}")
    table.add_row("hung payments timed out (after)", f"{summary['timeouts']:,}")
    table.add_row("supervisor restarts (transient runtime bug)", f"{summary['restarts']:,}")
    table.add_row("run 2: macrosteps committed to SQLite", f"{summary['macrosteps']:,}")
    rate = summary["orders"] / wall if wall else 0.0
    table.add_row("orders / s, both runs (real payment timers)", f"{rate:,.0f}")
    table.add_row("wall time, both runs", f"{wall:.1f} s")
    console.print(table)
    console.print()
    console.print(
        "look further:\n"
        f"  [cyan].venv/bin/statefleet inspect {db}[/]            stored actors, states, timers\n"
        f"  [cyan].venv/bin/statefleet inspect {db} --actor o00042[/]\n"
        "  [cyan].venv/bin/statefleet diagram statefleet.demo.fleet:order_chart[/]   the chart"
        " (Mermaid)\n",
        soft_wrap=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
