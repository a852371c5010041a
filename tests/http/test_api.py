"""The HTTP API in process (httpx over ASGI) on a real SQLite fleet: the pystator-compatible
routes, the actor routes, errors as problem+json, the token, read-only mode, request-size
limits and trace propagation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import ActorError
from statefleet.http import _api, create_app
from statefleet.persistence import MemoryStore

from .conftest import ORDER_CONFIG

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _problem(r: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["error"] == error and body["detail"]
    return body


# -- pystator-compatible ------------------------------------------------------------------
async def test_validate_answers_valid_and_the_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/validate", json={"config": ORDER_CONFIG})
    assert r.json() == {"valid": True, "errors": []}
    broken = {**ORDER_CONFIG, "states": [{"name": "Pending", "type": "initial"}]}
    r = await client.post("/api/v1/validate", json={"config": broken})
    assert r.status_code == 200
    assert r.json()["valid"] is False and "Pending" in r.json()["errors"][0]


async def test_process_is_stateless_and_a_refusal_is_200(client: httpx.AsyncClient) -> None:
    body = {"config": ORDER_CONFIG, "current_state": "open", "trigger": "fill"}
    r = await client.post("/api/v1/process", json=body)
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "source_state": "open",
        "target_state": "filled",
        "trigger": "fill",
        "actions": ["notify"],
        "error": None,
        "metadata": {},
    }
    r = await client.post("/api/v1/process", json={**body, "current_state": "pending"})
    assert r.status_code == 200
    out = r.json()
    assert out["success"] is False and out["error"] == "invalid_transition"
    assert out["metadata"]["current_state"] == "pending"
    assert (await client.get("/api/v1/actors")).json()["items"] == []  # nothing stored


async def test_a_guard_refusal_is_a_structured_error(client: httpx.AsyncClient) -> None:
    config = {
        **ORDER_CONFIG,
        "transitions": [
            {
                "trigger": "fill",
                "source": "open",
                "dest": "filled",
                "guards": [{"expr": "qty >= 100"}],
            }
        ],
    }
    body = {"config": config, "current_state": "open", "trigger": "fill", "context": {"qty": 5}}
    out = (await client.post("/api/v1/process", json=body)).json()
    assert out["success"] is False and out["error"] == "guard_rejected"
    body["context"] = {"qty": 100}
    assert (await client.post("/api/v1/process", json=body)).json()["success"] is True


async def test_machines_are_listed_and_registered(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = (await client.get("/api/v1/machines")).json()
    assert listed["total"] == 1
    assert listed["machines"][0] == {
        "name": "order_management",
        "version": "1.0.0",
        "states": ["pending", "open", "filled", "cancelled"],
        "triggers": ["cancel", "exchange_ack", "fill"],
    }
    new = {**ORDER_CONFIG, "meta": {"machine_name": "refund", "version": "2"}}
    r = await client.post("/api/v1/machines", json={"config": new})
    assert r.status_code == 201 and r.json()["name"] == "refund"
    _problem(await client.post("/api/v1/machines", json={"config": new}), 409, "MachineExists")
    assert (await client.get("/api/v1/machines")).json()["total"] == 2
    monkeypatch.setattr(_api, "MAX_MACHINES", 1)
    other = {**ORDER_CONFIG, "meta": {"machine_name": "other", "version": "1"}}
    r = await client.post("/api/v1/machines", json={"config": other})
    _problem(r, 409, "TooManyMachines")
    r = await client.post(
        "/api/v1/entities/r1/events", json={"trigger": "cancel", "machine_name": "refund"}
    )
    assert r.json()["target_state"] == "cancelled"


async def test_entity_events_persist_state_and_history(client: httpx.AsyncClient) -> None:
    url = "/api/v1/entities/o1/events"
    _problem(await client.post(url, json={"trigger": "exchange_ack"}), 404, "UnknownActor")
    r = await client.post(
        url,
        json={"trigger": "exchange_ack", "machine_name": "order_management", "context": {"q": 1}},
    )
    assert r.status_code == 200
    assert r.json() == {
        "entity_id": "o1",
        "machine_name": "order_management",
        "machine_version": "1.0.0",
        "trigger": "exchange_ack",
        "success": True,
        "source_state": "pending",
        "target_state": "open",
        "error": None,
        "context": {"q": 1},  # the machine keeps the trigger's context
    }
    r = await client.post(url, json={"trigger": "exchange_ack"})
    assert r.json()["success"] is False and r.json()["error"] == "invalid_transition"
    _problem(
        await client.post(url, json={"trigger": "fill", "machine_name": "other"}),
        409,
        "ChartMismatch",
    )
    assert (await client.post(url, json={"trigger": "fill"})).json()["target_state"] == "filled"
    r = await client.post(url, json={"trigger": "cancel"})
    assert r.json()["success"] is False and r.json()["error"] == "terminal_state"
    history = (await client.get("/api/v1/actors/o1/history")).json()["items"]
    assert [e["event"] for e in history] == [None, "exchange_ack", "fill"]
    assert history[1]["data"] == '{"q":1}'


# -- actors -------------------------------------------------------------------------------
async def test_reads_of_an_unknown_actor_are_404_and_create_nothing(
    client: httpx.AsyncClient, system: ActorSystem
) -> None:
    for path in ("/api/v1/actors/ghost", "/api/v1/actors/ghost/history"):
        _problem(await client.get(path), 404, "UnknownActor")
    _problem(
        await client.post("/api/v1/actors/ghost/events", json={"event": "cancel"}),
        404,
        "UnknownActor",
    )
    assert not await system.exists("ghost")
    assert (await client.get("/api/v1/actors")).json() == {"items": [], "next_cursor": None}


async def test_send_ask_and_read_an_actor(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/actors/a1/events", json={"event": "exchange_ack", "chart": "order_management"}
    )
    assert r.status_code == 202 and r.json() == {
        "actor_id": "a1",
        "event": "exchange_ack",
        "accepted": True,
    }
    r = await client.post("/api/v1/actors/a1/ask", json={"event": "exchange_ack"})
    body = _problem(r, 409, "EventNotEnabled")  # a1 is open now: the send was processed
    assert body["extra"]["enabled_events"] == ["fill", "cancel"]
    detail = (await client.get("/api/v1/actors/a1")).json()
    assert detail["configuration"] == ["open"] and detail["status"] == "active"
    assert detail["enabled_events"] == ["fill", "cancel"]
    assert detail["snapshot"]["chart_id"] == "order_management"
    r = await client.post("/api/v1/actors/a1/ask", json={"event": "fill", "data": {"n": 2}})
    assert r.status_code == 200
    assert r.json()["handled"] is True and r.json()["configuration"] == ["filled"]
    _problem(
        await client.post("/api/v1/actors/a1/ask", json={"event": "cancel"}), 409, "ActorFinished"
    )
    _problem(
        await client.post("/api/v1/actors/a1/ask", json={"event": "fill", "chart": "nope"}),
        409,
        "ChartMismatch",
    )
    _problem(
        await client.post("/api/v1/actors/a2/ask", json={"event": "fill", "chart": "nope"}),
        404,
        "UnknownChart",
    )


async def test_listing_filters_and_pages(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await client.post(
            f"/api/v1/actors/o{i}/ask",
            json={"event": "exchange_ack" if i % 2 else "cancel", "chart": "order_management"},
        )
    page = (await client.get("/api/v1/actors", params={"limit": 2})).json()
    assert [a["id"] for a in page["items"]] == ["o0", "o1"]
    rest = (await client.get("/api/v1/actors", params={"cursor": page["next_cursor"]})).json()
    assert [a["id"] for a in rest["items"]] == ["o2", "o3", "o4"] and rest["next_cursor"] is None
    open_ = (await client.get("/api/v1/actors", params={"state": "open"})).json()
    assert [a["id"] for a in open_["items"]] == ["o1", "o3"]
    done = (await client.get("/api/v1/actors", params={"status": "done"})).json()
    assert [a["id"] for a in done["items"]] == ["o0", "o2", "o4"]
    none = (await client.get("/api/v1/actors", params={"chart": "other"})).json()
    assert none["items"] == []
    r = await client.get("/api/v1/actors", params={"limit": 0})
    _problem(r, 400, "InvalidRequest")


async def test_history_pages_back(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/actors/h/ask", json={"event": "exchange_ack", "chart": "order_management"}
    )
    await client.post("/api/v1/actors/h/ask", json={"event": "fill"})
    last = (await client.get("/api/v1/actors/h/history", params={"limit": 1})).json()["items"]
    assert [e["event"] for e in last] == ["fill"]
    before = last[0]["version"]
    older = (await client.get("/api/v1/actors/h/history", params={"before": before})).json()
    assert [e["event"] for e in older["items"]] == [None, "exchange_ack"]
    assert older["items"][1]["transitions"]  # the served system builds macrostep records


async def test_a_traceparent_header_becomes_the_events_trace(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/actors/t/ask",
        json={"event": "exchange_ack", "chart": "order_management"},
        headers={"traceparent": TRACEPARENT},
    )
    await client.post(
        "/api/v1/actors/t/ask", json={"event": "fill"}, headers={"traceparent": "garbage"}
    )
    history = (await client.get("/api/v1/actors/t/history")).json()["items"]
    assert history[1]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert history[2]["trace_id"] is None  # a malformed header is ignored


# -- errors, limits, auth, read-only ------------------------------------------------------
async def test_bad_requests_are_problems_not_500(client: httpx.AsyncClient) -> None:
    _problem(await client.post("/api/v1/process", content=b"{nope"), 400, "BadRequest")
    _problem(await client.post("/api/v1/process", json={"config": {}}), 400, "InvalidRequest")
    body = {"config": {"x": 1}, "current_state": "a", "trigger": "b"}
    _problem(await client.post("/api/v1/process", json=body), 422, "ChartDefinitionError")
    r = await client.post("/api/v1/actors/a/events", json={"event": "", "chart": "x"})
    _problem(r, 400, "InvalidRequest")
    _problem(await client.get("/api/v1/nothing"), 404, "NotFound")


@pytest.mark.parametrize("app_options", [{"max_body": 2048}])
async def test_a_request_over_the_size_limit_is_413(client: httpx.AsyncClient) -> None:
    big = {"config": ORDER_CONFIG, "pad": "x" * 4096}
    _problem(await client.post("/api/v1/validate", json=big), 413, "ContentTooLarge")


@pytest.mark.parametrize("app_options", [{"token": "s3cret-token"}])
async def test_the_token_guards_the_api(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/actors")
    _problem(r, 401, "Unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.get("/api/v1/actors", headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200


@pytest.mark.parametrize("app_options", [{"read_only": True}])
async def test_read_only_refuses_every_write(client: httpx.AsyncClient) -> None:
    writes = [
        ("/api/v1/actors/a/events", {"event": "x", "chart": "order_management"}),
        ("/api/v1/actors/a/ask", {"event": "x", "chart": "order_management"}),
        ("/api/v1/entities/a/events", {"trigger": "x", "machine_name": "order_management"}),
        ("/api/v1/machines", {"config": ORDER_CONFIG}),
    ]
    for url, body in writes:
        _problem(await client.post(url, json=body), 403, "ReadOnly")
    assert (await client.post("/api/v1/validate", json={"config": ORDER_CONFIG})).status_code == 200
    assert (await client.get("/api/v1/actors")).json()["items"] == []


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/actors", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_create_app_refuses_what_it_cannot_serve() -> None:
    async with ActorSystem() as plain:
        with pytest.raises(ActorError, match="durable store"):
            create_app(plain)
    async with MemoryStore() as store, ActorSystem(store=store) as system:
        with pytest.raises(ActorError, match="at least 8"):
            create_app(system, token="short")
        with pytest.raises(ActorError, match="max_body"):
            create_app(system, max_body=10)
