"""The inspector's server side in process (httpx over ASGI, a real SQLite fleet): the page
and its assets (all shipped, none from elsewhere, a strict content security policy), the
fleet counts per chart and state, a chart's structure, and the token over its JSON routes.
The page itself is driven in a real browser in test_inspector_browser.py."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from statefleet.actors import ActorSystem
from statefleet.persistence import SQLiteStore

pytestmark = pytest.mark.anyio
DEMO = [sys.executable, "-m", "statefleet.demo.live"]


async def _order(client: httpx.AsyncClient, actor: str, *events: str) -> None:
    for e in events:
        r = await client.post(
            f"/api/v1/actors/{actor}/ask", json={"event": e, "chart": "order_management"}
        )
        assert r.status_code == 200, r.text


async def test_the_page_and_every_asset_it_loads_come_from_this_server(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    refs = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
    assert sorted(refs) == [
        "inspector/favicon.svg",
        "inspector/inspector.css",
        "inspector/inspector.js",
    ]
    for ref in refs:
        asset = await client.get("/" + ref)
        assert asset.status_code == 200, ref
        assert asset.headers["x-content-type-options"] == "nosniff"
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"')]*", asset.text)
        assert all(u.startswith("http://www.w3.org/") for u in urls), (ref, urls)


@pytest.mark.parametrize(
    "name", ["index.html", "..%2F_routes.py", "..%2F..%2F_app.py", "nothing.js", "%2Fetc%2Fpasswd"]
)
async def test_only_the_listed_assets_are_served(client: httpx.AsyncClient, name: str) -> None:
    r = await client.get(f"/inspector/{name}")
    assert r.status_code == 404
    assert r.json()["error"] == "NotFound"


async def test_the_overview_counts_actors_per_chart_status_and_state(
    client: httpx.AsyncClient,
) -> None:
    await _order(client, "o1", "exchange_ack")
    await _order(client, "o2", "exchange_ack")
    await _order(client, "o3", "cancel")
    r = await client.get("/api/v1/inspector/overview")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["active"], body["scanned"]) == (3, 2, 3)
    assert body["complete"] is True
    [chart] = body["charts"]
    assert chart["chart_id"] == "order_management"
    assert chart["statuses"] == {"active": 2, "done": 1}
    assert chart["states"] == {"open": 2, "cancelled": 1}


async def test_a_count_stops_at_its_budget_and_says_so(tmp_path: Path) -> None:
    from statefleet.http.inspector._views import count_fleet

    from .conftest import ORDER

    async with (
        SQLiteStore(tmp_path / "many.db") as store,
        ActorSystem(store=store, charts=[ORDER]) as system,
    ):
        for i in range(5):
            await system.ref(ORDER, f"o{i}").ask("exchange_ack")
        ov = await count_fleet(store, budget=2)
        assert (ov.total, ov.scanned, ov.complete) == (5, 2, False)
        assert ov.charts[0].states == {"open": 2}
        full = await count_fleet(store, budget=5)
        assert (full.scanned, full.complete) == (5, True)


async def test_a_chart_structure_is_nested_states_and_transitions(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/v1/inspector/charts/order_management")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["id"] for s in body["states"]] == ["pending", "open", "filled", "cancelled"]
    assert [s["kind"] for s in body["states"]] == ["state", "state", "final", "final"]
    assert {"source": "open", "events": ["fill"], "targets": ["filled"], "guard": None} in body[
        "transitions"
    ]
    r = await client.get("/api/v1/inspector/charts/nope")
    assert r.status_code == 404
    assert r.json()["error"] == "UnknownChart"


@pytest.mark.parametrize("app_options", [{"token": "s3cret-token"}])
async def test_the_token_guards_the_inspector_data_not_the_page(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/inspector/inspector.js")).status_code == 200
    for url in ("/api/v1/inspector/overview", "/api/v1/inspector/charts/order_management"):
        assert (await client.get(url)).status_code == 401
        ok = await client.get(url, headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200


def test_demo_inspect_serves_the_demo_fleet_until_interrupted(tmp_path: Path) -> None:
    """``make demo-inspect``: the demo's orders run behind the inspector; Ctrl-C (SIGINT)
    stops the server, the actors and the store cleanly."""
    db = tmp_path / "demo.db"
    proc = subprocess.Popen(
        [*DEMO, "--db", str(db), "--port", "0", "--orders", "5", "--rate", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("statefleet inspector: http://127.0.0.1:"):
            proc.kill()
            raise AssertionError(f"demo did not start: {line!r} {proc.communicate()[1]!r}")
        url = line.split()[2]
        with httpx.Client(base_url=url, timeout=30) as c:
            assert "statefleet inspector" in c.get("/").text
            # wait for the fleet through the record stream, not by sleeping
            with c.stream("GET", "/api/v1/stream", params={"limit": 3}) as s:
                assert sum(1 for ln in s.iter_lines() if ln.startswith("event:")) == 4
            body = c.get("/api/v1/inspector/overview").json()
            assert body["total"] >= 1
            assert [ch["chart_id"] for ch in body["charts"]] == ["order"]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert not Path(f"{db}.lock").exists()  # the store was closed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
