"""The live inspector in a real browser: Debian's headless Chromium driven by Playwright
against a real ``statefleet serve`` on 127.0.0.1 while a fleet runs.

Screenshots go to ``test-artifacts/inspector/`` (git-ignored; ``STATEFLEET_ARTIFACTS``
moves it). Skipped, saying why, only where Playwright or Chromium cannot start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

SERVE = [sys.executable, "-m", "statefleet.cli", "serve"]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(
    os.environ.get("STATEFLEET_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)
TIMEOUT = 20_000  # ms a browser expectation waits before it fails

SHIPMENT = """\
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="shipment" initial="ordered">
  <state id="ordered">
    <transition event="pay" target="fulfilment"/>
    <transition event="cancel" target="cancelled"/>
  </state>
  <parallel id="fulfilment">
    <state id="packing" initial="picking">
      <state id="picking"><transition event="picked" target="packed"/></state>
      <state id="packed"/>
    </state>
    <state id="billing" initial="invoicing">
      <state id="invoicing">
        <onentry><send event="reminder" delay="3600s" id="remind"/></onentry>
        <transition event="settle" target="settled"/>
      </state>
      <state id="settled"/>
    </state>
    <transition event="ship" target="shipped"/>
  </parallel>
  <final id="shipped"/>
  <final id="cancelled"/>
</scxml>
"""


#: the visible text (outside the drawing) whose contrast with its background is below WCAG
#: AA's 4.5:1
LOW_CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || !el.checkVisibility()) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const [hi, lo] = [lum(parse(getComputedStyle(el).color)), lum(bg(el))].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName} ${el.textContent.trim().slice(0, 30)}: ${ratio}`);
  }
  return bad;
}"""


class Served:
    """A ``statefleet serve`` subprocess and an HTTP client for it."""

    def __init__(self, proc: subprocess.Popen[str], url: str, token: str | None) -> None:
        self.proc = proc
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, timeout=30, headers=headers)

    def send(self, actor: str, event: str) -> None:
        r = self.http.post(
            f"/api/v1/actors/{actor}/ask", json={"event": event, "chart": "shipment"}
        )
        assert r.status_code == 200, r.text


@pytest.fixture
def serve_token() -> str | None:
    return None


@pytest.fixture
def served(tmp_path: Path, serve_token: str | None) -> Iterator[Served]:
    chart = tmp_path / "shipment.scxml"
    chart.write_text(SHIPMENT)
    proc = subprocess.Popen(
        [*SERVE, "--store", str(tmp_path / "s.db"), "--charts", str(chart), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "STATEFLEET_TOKEN": serve_token or ""},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the server listens
    if not line.startswith("statefleet serve: http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"serve did not start: {line!r} {proc.communicate()[1]!r}")
    s = Served(proc, line.split()[2], serve_token)
    # the fleet: 12 shipments paid (picking + invoicing, a reminder timer each), 3 cancelled,
    # one still ordered
    for i in range(12):
        s.send(f"ship-{i:03d}", "pay")
    for i in range(12, 15):
        s.send(f"ship-{i:03d}", "cancel")
    s.http.post("/api/v1/actors/ship-015/events", json={"event": "noop", "chart": "shipment"})
    yield s
    s.http.close()
    proc.kill()
    proc.communicate()


@pytest.fixture
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # pragma: no cover - dev extra installs it
        pytest.skip(f"playwright is not installed ({e}): pip install -e '.[dev]'")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make installs Debian's chromium as root)")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as e:  # chromium exists but cannot start here
            pytest.skip(f"chromium cannot start: {str(e).splitlines()[0]}")
        yield b
        b.close()


def _shot(page: Page, name: str) -> None:
    out = ARTIFACTS / "inspector"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)


def _page(browser: Browser, served: Served, errors: list[str], *, live: bool = True) -> Page:
    """A laptop-sized page on the inspector, live; uncaught errors and console errors go
    to ``errors``."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(TIMEOUT)
    expect.set_options(timeout=TIMEOUT)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(served.url + "/")
    if live:
        expect(page.locator("#live-state")).to_have_text("live")
    return page


def test_overview_to_actor_to_timeline_with_a_live_update(browser: Browser, served: Served) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = _page(browser, served, errors)
    # the overview counts actors per chart and state, from the server
    expect(page.locator("#totals")).to_have_text("16 actors, 13 active")
    card = page.get_by_role("region", name="chart shipment")
    expect(card.get_by_role("row", name="picking 12")).to_be_visible()
    expect(card.get_by_role("row", name="ordered 1")).to_be_visible()
    _shot(page, "1-overview")
    assert page.evaluate(LOW_CONTRAST) == []

    # a state's count filters the actor list (server-side: chart and state in the query)
    card.get_by_role("button", name="cancelled").click()
    rows = page.locator("#actor-rows tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("ship-012")

    # paging by the server's cursor: 10 per page of the 16
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Per page").select_option("10")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(10)
    expect(page.locator("#page-note")).to_have_text("Page 1: 10 actors, more on the next page.")
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("ship-010")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="First page").click()
    expect(rows.first).to_contain_text("ship-000")

    # the actor: chart drawn with its active configuration, timers, enabled events, history
    page.get_by_role("link", name="ship-003", exact=True).click()
    expect(page.get_by_role("heading", name="Actor ship-003")).to_be_focused()
    drawing = page.locator("#chart-svg svg")
    expect(drawing.locator("g.state.active")).to_have_count(5)
    expect(drawing.locator("g.state.active.atomic text")).to_have_text(["picking", "invoicing"])
    expect(page.locator("#timer-rows")).to_contain_text("reminder")
    expect(page.locator("#enabled .chip")).to_have_text(["ship", "picked", "settle"])
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.first).to_contain_text("pay")
    expect(timeline.first).to_contain_text("ordered → fulfilment, packing, picking")
    _shot(page, "2-actor")
    assert page.evaluate(LOW_CONTRAST) == []

    # a live update: an event sent by someone else shows up without a reload
    served.send("ship-003", "picked")
    expect(drawing.locator("g.state.active.atomic text")).to_have_text(["packed", "invoicing"])
    expect(timeline).to_have_count(3)
    expect(timeline.first).to_contain_text("picked")
    expect(page.locator("#enabled .chip")).to_have_text(["ship", "settle"])
    _shot(page, "3-actor-live")

    # back on the overview, the counts and the activity feed follow the fleet
    page.get_by_role("link", name="← Fleet").click()
    expect(card.get_by_role("row", name="picking 11")).to_be_visible()
    served.send("ship-004", "ship")
    expect(page.locator("#feed li").first).to_contain_text("ship-004")
    expect(card.get_by_role("row", name="shipped 1")).to_be_visible()
    _shot(page, "4-overview-live")
    assert errors == []


def test_the_keyboard_path(browser: Browser, served: Served) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = _page(browser, served, errors)
    focused = page.locator(":focus")
    page.keyboard.press("Tab")
    expect(focused).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    expect(focused).to_have_text("statefleet inspector")
    page.keyboard.press("Tab")
    expect(focused).to_have_attribute("id", "goto-id")
    # the focused control is visibly outlined
    outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.type("ship-007")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Actor ship-007")).to_be_focused()
    expect(page.locator("#chart-svg g.state.active.atomic text")).to_have_text(
        ["picking", "invoicing"]
    )
    # the timeline entries are reachable by keyboard
    entries = page.locator("#timeline li")
    entries.first.focus()
    expect(entries.first).to_be_focused()
    expect(entries.first).to_have_accessible_name("version 1: pay")
    page.keyboard.press("Tab")
    expect(entries.nth(1)).to_be_focused()
    _shot(page, "5-keyboard")
    assert errors == []
    # an unknown actor is a clear message, not a blank page
    page.locator("#goto-id").fill("no-such-actor")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("no actor 'no-such-actor'")


@pytest.mark.parametrize("serve_token", ["browser-token-1"])
def test_a_server_with_a_token_asks_for_it_once(browser: Browser, served: Served) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = _page(browser, served, errors, live=False)
    form = page.locator("#auth")
    expect(form).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("bearer token")
    page.get_by_label("This server needs a bearer token").fill("browser-token-1")
    page.keyboard.press("Enter")
    expect(form).to_be_hidden()
    expect(page.locator("#totals")).to_have_text("16 actors, 13 active")
    # the stream, read with fetch, carries the token too
    expect(page.locator("#live-state")).to_have_text("live")
    served.send("ship-005", "ship")
    expect(page.locator("#feed li").first).to_contain_text("ship-005")
    page.reload()  # kept for the tab
    expect(page.locator("#live-state")).to_have_text("live")
    expect(form).to_be_hidden()
    _shot(page, "6-token")
