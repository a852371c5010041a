"""``statefleet inspect``: a real SQLite file, read while a system runs on it, bad inputs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.core import AfterSpec, ChartSpec, StateSpec, TransitionSpec, compile_chart
from statefleet.persistence import SQLiteStore

CHART = compile_chart(
    ChartSpec(
        "ticket",
        states=[
            StateSpec(
                "open",
                transitions=[TransitionSpec(event=("close",), target=("closed",))],
                after=[AfterSpec(3600.0, TransitionSpec(target=("closed",)))],
            ),
            StateSpec("closed", kind="final"),
        ],
    )
)


def test_inspect_lists_and_details_while_the_system_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"

    async def scenario() -> None:
        async with ActorSystem(store=SQLiteStore(str(db)), charts=[CHART]) as system:
            await system.ref(CHART, "t1").ask("noop")
            await system.ref(CHART, "t2").ask("close")  # ask: returns once committed
            # the system is running: inspect reads the file read-only meanwhile
            assert main(["inspect", str(db), "--json"]) == 0
            listing = json.loads(capsys.readouterr().out)
            assert listing["total"] == 2
            by_id = {r["id"]: r for r in listing["actors"]}
            assert by_id["t1"]["state"] == ["open"] and by_id["t1"]["timers"] == 1
            assert by_id["t2"]["status"] == "done" and by_id["t2"]["timers"] == 0

    anyio.run(scenario)
    assert main(["inspect", str(db), "--status", "done"]) == 0
    text = capsys.readouterr().out
    assert "t2" in text and "t1" not in text
    assert main(["inspect", str(db), "--state", "open", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["actors"]] == ["t1"]
    assert main(["inspect", str(db), "--actor", "t1", "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["snapshot"]["configuration"] == ["open"]
    assert len(detail["timers"]) == 1 and detail["timers"][0]["due"] > 3000
    assert main(["inspect", str(db), "--actor", "t1"]) == 0
    assert "ticket v1" in capsys.readouterr().out


def test_inspect_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.db")]) == 2
    assert "no such database file" in capsys.readouterr().err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    assert main(["inspect", str(junk)]) == 2
    assert "not a SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.commit()
    assert main(["inspect", str(other)]) == 2
    assert "not a statefleet database" in capsys.readouterr().err

    db = tmp_path / "t.db"

    async def make() -> None:
        async with ActorSystem(store=SQLiteStore(str(db)), charts=[CHART]) as system:
            await system.ref(CHART, "t1").send("noop")

    anyio.run(make)
    assert main(["inspect", str(db), "--actor", "nobody"]) == 1
    assert "no actor 'nobody'" in capsys.readouterr().err
    newer = tmp_path / "newer.db"
    shutil.copy(db, newer)
    con = sqlite3.connect(newer)
    con.execute("UPDATE statefleet_meta SET value = '999' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    assert main(["inspect", str(newer)]) == 2
    assert "newer than this statefleet" in capsys.readouterr().err
