"""The Fleet lifespan in any ASGI app, and request-to-actor trace propagation into the
actor's OpenTelemetry spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from statefleet.core import ActorError, EventData
from statefleet.http import Fleet, create_app, trace_context
from statefleet.persistence import SQLiteStore
from statefleet.telemetry import OpenTelemetry

from .conftest import ORDER

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def test_a_starlette_app_runs_the_fleet_and_mounts_the_api(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    fleet = Fleet(lambda: SQLiteStore(db), charts=[ORDER])

    async def ack(request: Request) -> JSONResponse:
        ref = fleet.system.ref(ORDER, request.path_params["id"])
        reply = await ref.try_ask("exchange_ack")
        return JSONResponse({"state": list(reply.snapshot.configuration)})

    app = Starlette(
        routes=[Route("/ack/{id}", ack, methods=["POST"]), Mount("/fleet", create_app(fleet))],
        lifespan=fleet,
    )
    with pytest.raises(ActorError, match="not running"):
        fleet.system
    async with app.router.lifespan_context(app):
        assert fleet.running
        async with _client(app) as c:
            assert (await c.post("/ack/o1")).json() == {"state": ["open"]}
            r = await c.get("/fleet/api/v1/actors/o1")
            assert r.json()["configuration"] == ["open"]
    assert not fleet.running
    assert not Path(f"{db}.lock").exists()  # the store was closed
    async with app.router.lifespan_context(app), _client(app) as c:  # a restart recovers it
        assert (await c.get("/fleet/api/v1/actors/o1")).json()["version"] == 1


async def test_a_litestar_app_runs_the_fleet(tmp_path: Path) -> None:
    fleet = Fleet(lambda: SQLiteStore(tmp_path / "orders.db"), charts=[ORDER])

    @get("/count")
    async def count() -> dict[str, int]:
        return {"actors": len(await fleet.system.query())}

    app = Litestar(route_handlers=[count], lifespan=[fleet])
    async with app.lifespan(), _client(app) as c:
        assert (await c.get("/count")).json() == {"actors": 0}
    assert not fleet.running


async def test_the_api_app_started_by_itself(tmp_path: Path) -> None:
    fleet = Fleet(lambda: SQLiteStore(tmp_path / "orders.db"), charts=[ORDER])
    app = create_app(fleet)
    async with _client(app) as c:
        r = await c.get("/api/v1/actors")
        assert r.status_code == 503 and r.json()["error"] == "NotRunning"
    async with app.lifespan(), _client(app) as c:
        assert (await c.get("/api/v1/actors")).json()["items"] == []


async def test_the_callers_trace_continues_in_the_actors_spans(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    fleet = Fleet(
        lambda: SQLiteStore(tmp_path / "orders.db"),
        charts=[ORDER],
        listeners=[OpenTelemetry(tracer_provider=provider)],
    )
    app = create_app(fleet)
    async with app.lifespan(), _client(app) as c:
        r = await c.post(
            "/api/v1/actors/o1/ask",
            json={"event": "exchange_ack", "chart": "order_management"},
            headers={"traceparent": TRACEPARENT},
        )
        assert r.status_code == 200
    steps = [s for s in exporter.get_finished_spans() if s.name.startswith("statefleet.macro")]
    traced = [s for s in steps if format(s.context.trace_id, "032x") == TRACE_ID]
    assert traced, [s.name for s in steps]
    assert traced[0].parent is not None and format(traced[0].parent.span_id, "016x") == (
        "00f067aa0ba902b7"
    )


def test_trace_context_takes_only_well_formed_headers() -> None:
    assert trace_context({"traceparent": TRACEPARENT, "tracestate": "a=1"}) == {
        "traceparent": TRACEPARENT,
        "tracestate": "a=1",
    }
    for bad in (
        "garbage",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01",
        TRACEPARENT + "-extra",
    ):
        assert trace_context({"traceparent": bad}) is None
    assert trace_context({}) is None
    assert EventData("x", trace=trace_context({"traceparent": TRACEPARENT})).trace


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
