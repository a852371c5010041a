"""A FastAPI service around a durable fleet: statefleet's lifespan runs the actors, a route
of the app drives them (its request's trace context goes with the event), and the
statefleet API is mounted beside it at /fleet.

Serve it for real with: uvicorn fastapi_service:app   (pip install 'statefleet[http]' fastapi)
Run as a script, it calls itself in process and prints what it got.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from statefleet.core import EventData
from statefleet.formats.pystator import StateMachine
from statefleet.http import Fleet, create_app, trace_context
from statefleet.persistence import SQLiteStore

ORDER = StateMachine.from_dict(
    {
        "meta": {"machine_name": "order", "version": "1"},
        "states": [
            {"name": "cart", "type": "initial"},
            {"name": "paid", "type": "stable"},
            {"name": "shipped", "type": "terminal"},
        ],
        "transitions": [
            {"trigger": "pay", "source": "cart", "dest": "paid"},
            {"trigger": "ship", "source": "paid", "dest": "shipped"},
        ],
    }
).chart

DB = Path(tempfile.mkdtemp()) / "orders.db"

# the lifespan opens the store, starts the actor system (recovering stored orders) and stops
# both when the app shuts down
fleet = Fleet(lambda: SQLiteStore(DB), charts=[ORDER])
app = FastAPI(lifespan=fleet)
app.mount("/fleet", create_app(fleet))  # the statefleet API: /fleet/api/v1/actors, ...


@app.post("/orders/{order_id}/{action}")
async def order_action(order_id: str, action: str, request: Request) -> dict[str, object]:
    """Send ``action`` to the order; the caller's W3C traceparent becomes the event's trace
    context, so the order's macrostep span joins the caller's trace."""
    ref = fleet.system.ref(ORDER, order_id)
    reply = await ref.try_ask(EventData(action, trace=trace_context(request.headers)))
    return {"order": order_id, "handled": reply.handled, "state": reply.snapshot.configuration}


async def main() -> None:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            for action in ("pay", "pay", "ship"):
                r = await client.post(f"/orders/o-1/{action}")
                print(action, r.status_code, r.json())
            r = await client.get("/fleet/api/v1/actors/o-1/history")
            print("history:", [e["event"] for e in r.json()["items"]])
            r = await client.get("/fleet/api/v1/actors/o-2")
            print("unknown order:", r.status_code, r.json()["error"])


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(DB.parent)
