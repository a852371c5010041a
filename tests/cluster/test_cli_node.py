"""``statefleet node`` runs a cluster node until SIGTERM (then hands its shards over), and
``statefleet inspect postgresql://...`` shows the nodes and who owns which shards."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from statefleet.persistence._pgserver import TempPostgres


def inspect(dsn: str, schema: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "statefleet.cli", "inspect", dsn, "--schema", schema, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, object] = json.loads(out.stdout)
    return data


def test_node_command_runs_a_node_and_inspect_shows_its_shards(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "statefleet.cli",
            "node",
            "--store",
            pg_server.dsn,
            "--schema",
            pg_schema,
            "--charts",
            "tests.cluster._ledger:LEDGER",
            "--node",
            "web-1",
            "--lease-time",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        assert "statefleet node web-1: running" in node.stdout.readline()
        deadline = time.monotonic() + 30
        while True:  # wait until it took the shards (its first rounds)
            data = inspect(pg_server.dsn, pg_schema)
            owners = {o["owner"]: o for o in data["owners"]}  # type: ignore[attr-defined]
            if "web-1" in owners and len(owners["web-1"]["shards"]) == 256:
                break
            assert time.monotonic() < deadline, data
        assert [n["node"] for n in data["nodes"]] == ["web-1"]  # type: ignore[attr-defined]
        node.send_signal(signal.SIGTERM)
        out, err = node.communicate(timeout=60)
        assert node.returncode == 0, err
        assert "shards handed over" in out
        data = inspect(pg_server.dsn, pg_schema)
        assert data["nodes"] == []
        assert [o["owner"] for o in data["owners"]] == ["(none)"]  # type: ignore[index]
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
