"""The HTTP API over an actor system you already run: create_app(system), called in process
with httpx (serve the same app with uvicorn for real: uvicorn.run(app)).

Run: python examples/http/embed_system.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import httpx

from statefleet.actors import ActorSystem
from statefleet.formats.pystator import StateMachine
from statefleet.http import JournalRecords, create_app
from statefleet.persistence import SQLiteStore

DOOR = StateMachine.from_dict(
    {
        "meta": {"machine_name": "door", "version": "1"},
        "states": [
            {"name": "closed", "type": "initial"},
            {"name": "open", "type": "stable"},
        ],
        "transitions": [
            {"trigger": "open", "source": "closed", "dest": "open"},
            {"trigger": "close", "source": "open", "dest": "closed"},
        ],
    }
).chart


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            SQLiteStore(Path(tmp) / "doors.db") as store,
            # JournalRecords: the journal keeps each step's transitions too
            ActorSystem(store=store, charts=[DOOR], listeners=[JournalRecords()]) as system,
        ):
            app = create_app(system, token="a-long-secret")
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": "Bearer a-long-secret"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://api", headers=headers
            ) as api:
                r = await api.post(
                    "/api/v1/actors/front/ask", json={"event": "open", "chart": "door"}
                )
                print(r.status_code, r.json()["configuration"])
                r = await api.post("/api/v1/actors/front/ask", json={"event": "open"})
                print(r.status_code, r.json()["error"], r.json()["extra"])
                r = await api.post("/api/v1/actors/front/events", json={"event": "close"})
                print(r.status_code, r.json())
                await system.wait_idle()
                r = await api.get("/api/v1/actors/front/history")
                for entry in r.json()["items"]:
                    print(entry["version"], entry["event"], entry["transitions"])
                r = await api.get("/api/v1/actors", params={"state": "closed"})
                print(json.dumps(r.json()))


if __name__ == "__main__":
    asyncio.run(main())
