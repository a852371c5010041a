"""``statefleet diagram``: what a reader of the drawing needs (short names, delays,
invocations, no invented guards, compact finals) and the live state of a stored actor."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from statefleet import VirtualClock, hsm, load
from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.persistence import SQLiteStore

SHOP: dict[str, Any] = {
    "id": "shop",
    "initial": "browsing",
    "states": {
        "browsing": {"on": {"ADD": "cart"}},
        "cart": {
            "initial": "editing",
            "states": {
                "editing": {"on": {"CHECKOUT": "reviewing"}},
                "reviewing": {"on": {"BACK": "editing", "CONFIRM": "#shop.payment"}},
            },
        },
        "payment": {
            "initial": "charging",
            "states": {
                "charging": {
                    "invoke": {
                        "id": "charge",
                        "src": "chargeCard",
                        "onDone": "charged",
                        "onError": "declined",
                    }
                },
                "declined": {
                    "after": {"5000": "charging"},
                    "on": {"GIVE_UP": "#shop.cancelled"},
                },
                "charged": {"type": "final"},
            },
            "onDone": "fulfilment",
        },
        "fulfilment": {
            "type": "parallel",
            "states": {
                "packing": {
                    "initial": "picking",
                    "states": {
                        "picking": {"on": {"PICKED": "packed"}},
                        "packed": {"type": "final"},
                    },
                },
                "billing": {
                    "initial": "invoicing",
                    "states": {
                        "invoicing": {"after": {"60000": "billed"}},
                        "billed": {"type": "final"},
                    },
                },
            },
            "onDone": "shipped",
        },
        "shipped": {"type": "final"},
        "cancelled": {"type": "final"},
    },
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(SHOP))
    return path


def _draw(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["diagram", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_states_are_labelled_by_their_own_name(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dot = _draw(capsys, str(shop), "--format", "dot")
    assert 'label="editing"' in dot and 'label="invoicing"' in dot
    assert 'label="fulfilment (parallel)"' in dot
    assert "shop.cart.editing" not in re.findall(r'label="([^"]*)"', dot)
    mermaid = _draw(capsys, str(shop))
    assert 'state "editing" as s_shop_cart_editing_3' in mermaid


def test_timers_show_their_delay_and_invocations_are_listed(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mermaid = _draw(capsys, str(shop))
    assert "s_shop_payment_declined_7 --> s_shop_payment_charging_6 : after 5s" in mermaid
    assert ": after 1min" in mermaid
    assert "s_shop_payment_charging_6 : invoke chargeCard" in mermaid
    dot = _draw(capsys, str(shop), "--format", "dot")
    assert 's_shop_payment_charging_6 [label="charging\\ninvoke chargeCard"];' in dot


def test_every_timer_and_an_unnamed_guard_of_the_builder() -> None:
    from statefleet.formats._diagram import to_mermaid

    def ready(ctx: Any, instance: Any, event: Any) -> bool:
        return True

    model = hsm.define(
        "M",
        hsm.initial(hsm.target("a")),
        hsm.state(
            "a",
            hsm.transition(hsm.every(1.5), hsm.target("b")),
            hsm.transition(hsm.on("go"), hsm.guard(ready), hsm.target("b")),
        ),
        hsm.state("b"),
    )
    text = to_mermaid(model)
    assert ": every 1.5s" in text
    assert ": go [ready]" in text


def test_an_on_done_nobody_guarded_shows_no_guard(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mermaid = _draw(capsys, str(shop))
    assert "s_shop_fulfilment_9 --> s_shop_shipped_16 : done\n" in mermaid
    assert "[guard]" not in mermaid


def test_final_states_are_compact_boxes(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dot = _draw(capsys, str(shop), "--format", "dot")
    assert 's_shop_shipped_16 [label="shipped", peripheries=2];' in dot
    assert "doublecircle" not in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed here")
def test_a_fifteen_state_chart_fits_a_page(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = _draw(capsys, str(shop), "--format", "svg")
    found = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', svg)
    assert found is not None
    width, height = int(found.group(1)), int(found.group(2))
    assert width <= 800 and height <= 600, (width, height)  # was 1948x1268 pt


def _store_two_orders(db: Path, shop: Path) -> None:
    chart = load(shop, resolve=False)

    async def scenario() -> None:
        store = SQLiteStore(str(db))
        async with ActorSystem(store=store, charts=[chart], clock=VirtualClock()) as system:
            system.spawn(chart, id="o1")
            system.spawn(chart, id="o2")
            await system.get("o1").ask("ADD")
            await system.get("o1").ask("CHECKOUT")

    anyio.run(scenario)


def test_the_live_configuration_of_a_stored_actor_is_highlighted(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    _store_two_orders(db, shop)
    before = db.read_bytes()
    text = _draw(capsys, str(shop), "--db", str(db), "--actor", "o1")
    assert "class s_shop_cart_reviewing_4 active" in text
    assert "class s_shop_browsing_1 active" not in text
    text = _draw(capsys, str(shop), "--db", str(db), "--actor", "o2", "--format", "dot")
    assert 's_shop_browsing_1 [label="browsing", fillcolor="#ffd966"];' in text
    assert db.read_bytes() == before  # opened read-only


def test_bad_live_diagram_requests_are_one_line_errors(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    _store_two_orders(db, shop)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"id": "other", "initial": "x", "states": {"x": {}}}))
    cases = [
        ([str(shop), "--db", str(db), "--actor", "o9"], "no actor 'o9' in"),
        ([str(other), "--db", str(db), "--actor", "o1"], "actor 'o1' runs chart 'shop', not"),
        ([str(shop), "--db", str(tmp_path / "none.db"), "--actor", "o1"], "no such database"),
        ([str(shop), "--db", str(shop), "--actor", "o1"], "not a SQLite database"),
        ([str(shop), "--actor", "o1"], "--actor needs --db"),
        ([str(shop), "--db", str(db)], "--db needs --actor"),
    ]
    for argv, message in cases:
        assert main(["diagram", *argv]) == 1, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)


def test_snapshot_and_actor_cannot_be_combined(shop: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "statefleet.cli",
            "diagram",
            str(shop),
            "--snapshot",
            "s.json",
            "--actor",
            "o1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr


def test_a_mermaid_statement_stays_on_one_line_whatever_the_names() -> None:
    from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart
    from statefleet.formats._diagram import to_mermaid

    go = TransitionSpec(event=("go",), target=("b",), cond=lambda ctx: 1, cond_label="x >\n 1")
    chart = compile_chart(
        ChartSpec("c", states=[StateSpec("a\n%% injected", transitions=[go]), StateSpec("b")])
    )
    lines = to_mermaid(chart).splitlines()
    assert '    state "a %% injected" as s_a____injected_1' in lines
    assert "    s_a____injected_1 --> s_b_2 : go [x > 1]" in lines


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed here")
def test_an_active_compound_state_renders_as_svg(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    _store_two_orders(db, shop)  # o1 is in cart.reviewing: the cart cluster is active
    svg = _draw(capsys, str(shop), "--db", str(db), "--actor", "o1", "--format", "svg")
    assert "<svg" in svg and 'stroke="#b45f06"' in svg


def test_a_database_given_as_the_chart_says_how_to_ask(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    _store_two_orders(db, shop)
    assert main(["diagram", str(db), "--actor", "o1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is a database, not a chart: name the chart as FILE and the database with --db" in err
    assert f"statefleet diagram CHART --db {db} --actor o1" in err
