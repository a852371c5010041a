"""Fixtures of the HTTP API tests: a fleet on a real SQLite file, served in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from statefleet.actors import ActorSystem
from statefleet.compat.pystator import StateMachine
from statefleet.core import Chart
from statefleet.http import JournalRecords, create_app
from statefleet.persistence import SQLiteStore

ORDER_CONFIG: dict[str, Any] = {
    "meta": {"machine_name": "order_management", "version": "1.0.0"},
    "states": [
        {"name": "pending", "type": "initial"},
        {"name": "open", "type": "stable"},
        {"name": "filled", "type": "terminal"},
        {"name": "cancelled", "type": "terminal"},
    ],
    "transitions": [
        {"trigger": "exchange_ack", "source": "pending", "dest": "open"},
        {"trigger": "fill", "source": "open", "dest": "filled", "actions": ["notify"]},
        {"trigger": "cancel", "source": ["pending", "open"], "dest": "cancelled"},
    ],
}

ORDER: Chart = StateMachine.from_dict(ORDER_CONFIG).chart


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore is asyncio-only


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[ActorSystem]:
    async with (
        SQLiteStore(tmp_path / "orders.db") as store,
        ActorSystem(store=store, charts=[ORDER], listeners=[JournalRecords()]) as s,
    ):
        yield s


@pytest.fixture
def app_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(
    system: ActorSystem, app_options: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(system, **app_options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
