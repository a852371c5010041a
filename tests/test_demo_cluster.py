"""``make demo-cluster`` in small: three real node processes on a real (throwaway)
PostgreSQL, one SIGKILLed mid-run; the demo checks the ledger in the database and exits 0
only when every order and every timer counted exactly once. Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from statefleet.core import Snapshot
from statefleet.demo.cluster import check_order
from statefleet.demo.cluster_node import cluster_chart


@pytest.fixture
def tmp_open() -> Iterator[Path]:
    """A temporary folder PostgreSQL's own user can reach (pytest's is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="sf-test-demo-cluster-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def demo(tmp: Path, *args: str) -> subprocess.Popen[str]:
    """The demo in a process group of its own (as a terminal runs it: Ctrl-C reaches every
    process of the group), its temporary folders in ``tmp``."""
    env = {**os.environ, "COLUMNS": "140", "TERM": "dumb", "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "statefleet.demo.cluster", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def skip_without_postgres(status: int | None, out: str) -> None:
    if status == 2 and "PostgreSQL cannot start here" in out:
        reason = f"PostgreSQL cannot start here, skipping the cluster demo: {out.strip()[-400:]}"
        print(f"\n{'!' * 78}\n{reason}\n{'!' * 78}", file=sys.stderr)
        pytest.skip(reason)


def left_behind(tmp: Path) -> list[str]:
    """Processes still running with a path under ``tmp`` on their command line (nodes and
    the PostgreSQL server of a demo whose TMPDIR is ``tmp``), and files left there."""
    procs = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(tmp) in cmd:
                procs.append(cmd)
    return procs + [str(f) for f in tmp.iterdir()]


@pytest.mark.parametrize("mode", ["restart", "no-restart"])
def test_demo_cluster_kills_a_node_and_counts_every_order_and_timer_once(
    tmp_open: Path, mode: str
) -> None:
    args = ["--orders", "300"] + (["--no-restart"] if mode == "no-restart" else [])
    proc = demo(tmp_open, *args)
    out, _ = proc.communicate(timeout=600)
    skip_without_postgres(proc.returncode, out)
    assert proc.returncode == 0, out
    assert "node-2 killed with SIGKILL" in out
    assert "node-2 (killed)" in out  # the owners table after the failover
    assert "every order counted exactly once, ended" in out and "300, each once" in out
    assert "ledger checked: every order and every timer exactly once" in out
    assert "violation" not in out
    assert left_behind(tmp_open) == []


def test_ctrl_c_stops_the_nodes_and_postgresql(tmp_open: Path) -> None:
    proc = demo(tmp_open, "--orders", "100000")
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # until the nodes run and send
        seen.append(line)
        if "3 nodes sending" in line:
            break
    else:
        proc.wait()
        skip_without_postgres(proc.returncode, "".join(seen))
        raise AssertionError("".join(seen))
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the demo, its nodes, its PostgreSQL
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + out
    assert "interrupted: stopping the nodes and PostgreSQL" in out
    deadline = time.monotonic() + 30  # a killed process disappears once reaped by init
    while (rest := left_behind(tmp_open)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rest == []


def _ended(final: str, **context: object) -> Snapshot:
    """An order's stored snapshot at the end, as the demo's check reads it."""
    start = cluster_chart().initial().snapshot
    ctx = {**start.context, "placed": 1, "attempts": 1, **context}
    return msgspec.structs.replace(
        start, status="done", configuration=(f"order.{final}",), context=ctx
    )


def test_check_order_names_each_violation() -> None:
    assert check_order("o1", _ended("paid", timers=["SETTLE#1"])) == []
    assert check_order("o1", None) == ["o1: acknowledged but never stored"]
    running = cluster_chart().initial().snapshot
    assert check_order("o2", running) == [
        "o2: counted 0 times",
        "o2: not ended (in ['order.placing'])",
    ]
    twice = check_order("o3", _ended("paid", placed=2, timers=["SETTLE#1", "SETTLE#1"]))
    assert twice == [
        "o3: counted 2 times",
        "o3: a timer fired twice: ['SETTLE#1', 'SETTLE#1']",
        "o3: ended paid with 2 settlements: ['SETTLE#1', 'SETTLE#1']",
    ]
    lost = check_order("o4", _ended("cancelled", attempts=3, timers=["BACKOFF#1"]))
    assert lost == ["o4: 1 backoffs for 3 attempts: ['BACKOFF#1']"]
    assert check_order("o5", _ended("refunded", timers=["SETTLE#1"])) == [
        "o5: ended refunded with 1 settlements: ['SETTLE#1']"
    ]
