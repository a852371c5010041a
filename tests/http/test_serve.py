"""``statefleet serve`` as a real subprocess on 127.0.0.1: the API over a SQLite file,
the record stream (SSE) over a real socket, the token, a clean stop (SIGTERM) that keeps
everything, and a restart that serves it again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import ORDER_CONFIG

TOKEN = "test-token-123"
SERVE = [sys.executable, "-m", "statefleet.cli", "serve"]


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _start(db: Path, chart: Path, *extra: str) -> Server:
    proc = subprocess.Popen(
        [*SERVE, "--store", str(db), "--charts", str(chart), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "STATEFLEET_TOKEN": TOKEN},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server says where it listens once it does
    if not line.startswith("statefleet serve: http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"serve did not start: {line!r} {proc.stderr.read()!r}")
    return Server(proc, line.split()[2])


def _stop(server: Server) -> str:
    server.proc.send_signal(signal.SIGTERM)
    _, err = server.proc.communicate(timeout=60)
    assert server.proc.returncode == 0, err
    return err


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "order.yaml"
    path.write_text(yaml.safe_dump(ORDER_CONFIG))
    return path


@pytest.fixture
def server(tmp_path: Path, chart: Path) -> Iterator[Server]:
    s = _start(tmp_path / "orders.db", chart)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.communicate()


def test_serve_runs_entities_durably_across_a_restart(
    server: Server, tmp_path: Path, chart: Path
) -> None:
    with server.client() as c:
        r = c.post(
            "/api/v1/entities/o1/events",
            json={"trigger": "exchange_ack", "machine_name": "order_management"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["target_state"] == "open"
        assert c.get("/api/v1/actors/o1").json()["enabled_events"] == ["fill", "cancel"]
        for token in (None, "wrong-token"):
            with server.client(token=token) as other:
                assert other.get("/api/v1/actors").status_code == 401
        assert c.get("/docs/openapi.json").status_code == 200
    err = _stop(server)
    assert "Traceback" not in err
    assert not (tmp_path / "orders.db.lock").exists()  # the store was closed cleanly
    again = _start(tmp_path / "orders.db", chart, "--read-only")
    try:
        with again.client() as c:
            assert c.get("/api/v1/actors/o1").json()["configuration"] == ["open"]
            history = c.get("/api/v1/actors/o1/history").json()["items"]
            assert [e["event"] for e in history] == [None, "exchange_ack"]
            r = c.post("/api/v1/actors/o1/ask", json={"event": "fill"})
            assert r.status_code == 403
            assert r.headers["content-type"].startswith("application/problem+json")
    finally:
        _stop(again)


def test_the_stream_carries_records_over_a_real_socket(server: Server) -> None:
    with server.client() as c:
        c.post("/api/v1/actors/o2/events", json={"event": "cancel", "chart": "order_management"})
        with c.stream("GET", "/api/v1/stream", params={"actor": "o3", "limit": 50}) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: ready"
            assert next(lines) == "data: {}"
            r = c.post(
                "/api/v1/actors/o3/ask", json={"event": "exchange_ack", "chart": "order_management"}
            )
            assert r.status_code == 200, r.text
            kind = ""
            seen: list[dict[str, Any]] = []
            for line in lines:
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    record = json.loads(line[6:])
                    seen.append(record)
                    if (
                        kind == "MacrostepRecord"
                        and (record["event"] or {}).get("name") == "exchange_ack"
                    ):
                        break  # the step of our event: close the stream
        assert seen and all(d["actor"] == "o3" for d in seen)
        assert seen[-1]["configuration_after"] == ["open"]


def test_serve_reports_a_bad_chart_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("states: [")
    proc = subprocess.run(
        [*SERVE, "--store", str(tmp_path / "x.db"), "--charts", str(bad), "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("statefleet serve: ")
    assert "Traceback" not in proc.stderr


def test_serve_on_a_port_in_use_fails_cleanly(tmp_path: Path, chart: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        proc = subprocess.run(
            [*SERVE, "--store", str(tmp_path / "x.db"), "--charts", str(chart), "--port", port],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"statefleet serve: cannot serve on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db.lock").exists()
