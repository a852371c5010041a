"""What a web front end needs from durable actors (issue 12, item 7): ask whether an entity
exists without creating it, read a snapshot with one spelling on live and virtual refs
(without activating), learn whether an event was handled (an ignored one commits nothing
and keeps the version), the enabled events, queries by chart, state and status, and a
README quick start that runs twice in a row."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from statefleet.actors import ActorSystem, Reply
from statefleet.core import (
    ActorError,
    ChartSpec,
    DataSpec,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)

pytestmark = pytest.mark.anyio


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


ORDER = compile_chart(
    ChartSpec(
        id="order",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                id="cart",
                transitions=[
                    TransitionSpec(event=("add",), actions=(_inc,), type="internal"),
                    TransitionSpec(event=("checkout",), target=("paying",)),
                ],
            ),
            StateSpec(id="paying", transitions=[TransitionSpec(event=("paid",), target=("done",))]),
            StateSpec(id="done", kind="final"),
        ],
    )
)

OTHER = compile_chart(ChartSpec(id="other", states=[StateSpec(id="cart")]))


async def test_exists_and_read_create_nothing(make_store: Any) -> None:
    store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[ORDER]) as system:
        ref = system.ref(ORDER, "o-1")
        assert not await ref.exists()
        assert not await system.exists("o-1")
        with pytest.raises(ActorError, match="no entity 'o-1'"):
            await ref.read()
        assert not ref.is_active
        assert (await store.load("o-1")).record is None  # nothing was created
        await ref.ask("add")
        assert await ref.exists() and await system.exists("o-1")
        live = await ref.activate()
        # one spelling on live and virtual refs
        assert (await live.read()).context["n"] == 1
        assert (await ref.read()).context["n"] == 1
    async with ActorSystem(clock=VirtualClock(), store=make_store(), charts=[ORDER]) as system:
        ref = system.ref(ORDER, "o-1")
        snap = await ref.read()  # the stored snapshot, not activated
        assert snap.context["n"] == 1 and snap.configuration == ("cart",)
        assert not ref.is_active
        assert await ref.enabled_events() == ["add", "checkout"]
        assert not ref.is_active


async def test_an_ignored_event_is_reported_and_commits_nothing(make_store: Any) -> None:
    store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[ORDER]) as system:
        ref = system.ref(ORDER, "o-2")
        reply = await ref.try_ask("add")
        assert isinstance(reply, Reply) and reply.handled and reply.snapshot.version == 1
        ignored = await ref.try_ask("paid")  # nothing takes "paid" in "cart"
        assert not ignored.handled
        assert ignored.snapshot.version == 1  # the version stays
        assert (await store.load("o-2")).record.version == 1  # nothing was committed
        live = await ref.activate()
        assert live.enabled_events() == ["add", "checkout"]
        assert (await live.try_ask("checkout")).handled
        assert live.enabled_events() == ["paid"]


async def test_an_ignored_event_keeps_the_version_without_a_store() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(ORDER)
        assert (await ref.try_ask("add")).snapshot.version == 1
        reply = await ref.try_ask("nothing-takes-this")
        assert not reply.handled and reply.snapshot.version == 1


async def test_query_by_chart_state_and_status(make_store: Any) -> None:
    async with ActorSystem(clock=VirtualClock(), store=make_store(), charts=[ORDER, OTHER]) as s:
        for i in range(5):
            await s.ref(ORDER, f"o-{i}").ask("add")
        await s.ref(ORDER, "o-3").ask("checkout")
        await s.ref(ORDER, "o-4").ask("checkout")
        await s.ref(ORDER, "o-4").ask("paid")
        await s.ref(OTHER, "x-1").send("poke")
        await s.wait_idle()
        assert [snap.context["n"] for snap in await s.query(chart="order")] == [1] * 5
        paying = await s.query(chart="order", state="paying")
        assert [snap.configuration for snap in paying] == [("paying",)]
        done = await s.query(status="done")
        assert [(snap.chart_id, snap.configuration) for snap in done] == [("order", ("done",))]
        assert len(await s.query(chart="other")) == 1
        first = await s.query(chart="order", limit=2)
        rest = await s.query(chart="order", after="o-1")
        assert len(first) == 2 and len(rest) == 3


def test_the_readme_quick_start_runs_twice_in_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "orders.db" in b]
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {"__name__": "readme"})  # our README
        assert "('order.paid',)" in out.getvalue()
