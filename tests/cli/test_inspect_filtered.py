"""``statefleet inspect`` with filters: the header counts the actors that match, not all."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from statefleet import VirtualClock, from_dict
from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.persistence import SQLiteStore

ORDER = from_dict(
    {
        "id": "order",
        "initial": "cart",
        "states": {"cart": {"on": {"CHECKOUT": "paying"}}, "paying": {}},
    }
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"

    async def scenario() -> None:
        store = SQLiteStore(str(path))
        async with ActorSystem(store=store, charts=[ORDER], clock=VirtualClock()) as system:
            for n in range(5):
                system.spawn(ORDER, id=f"o{n}")
            for n in (0, 1, 2):
                await system.get(f"o{n}").ask("CHECKOUT")

    anyio.run(scenario)
    return path


def test_the_header_counts_the_filtered_actors(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(db), "--state", "order.paying"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{db}: 3 of 5 actors (showing 3)"
    assert main(["inspect", str(db), "--state", "order.paying", "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{db}: 3 of 5 actors (showing 2)"
    assert main(["inspect", str(db), "--status", "active", "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{db}: 5 of 5 actors (showing 1)"
    assert main(["inspect", str(db), "--limit", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{db}: 5 actors (showing 4)"


def test_json_gives_the_matched_count_beside_the_total(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(db), "--state", "order.cart", "--limit", "1", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listing["actors"]] == ["o3"]
    assert listing["matched"] == 2 and listing["total"] == 5
