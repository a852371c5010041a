"""``statefleet inspect DB --actor ID --history``: the journal from the command line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.persistence import SQLiteStore

from .conftest import COUNTER


def _fleet(db: Path) -> None:
    async def go() -> None:
        async with SQLiteStore(db) as store, ActorSystem(store=store, charts=[COUNTER]) as s:
            ref = s.ref(COUNTER, "a")
            await ref.ask("inc", note="first")
            await ref.ask("arm")

    anyio.run(go)


def test_history_as_json_and_as_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fleet.db"
    _fleet(db)
    assert main(["inspect", str(db), "--actor", "a", "--history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert [e["event"] for e in history] == [None, "inc", "arm"]
    assert history[1]["data"] == '{"note":"first"}'
    assert history[2]["configuration_after"] == ["armed"]
    assert main(["inspect", str(db), "--actor", "a", "--history", "--limit", "1"]) == 0
    table = capsys.readouterr().out
    assert "arm" in table and "armed" in table and "first" not in table


def test_history_needs_an_actor_and_reports_a_damaged_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fleet.db"
    _fleet(db)
    assert main(["inspect", str(db), "--history"]) == 1
    assert "--history needs --actor" in capsys.readouterr().err
    with sqlite3.connect(db) as con:
        con.execute("UPDATE journal SET entry = x'c1'")
    assert main(["inspect", str(db), "--actor", "a", "--history"]) == 1
    err = capsys.readouterr().err
    assert "journal entry of version" in err and "Traceback" not in err
