"""An ``ask`` reply is the actor's snapshot right after its step, complete and frozen.

The reply is built straight from the engine (issue 16: no intermediate checkpoint when the
usually-empty fields are empty); it must carry every field a sync
:class:`~statefleet.Session` fed the same events has, and no later step may reach into it.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1
    ctx.context["seen"].append(ctx.context["n"])
    ctx.context["last"]["n"] = ctx.context["n"]


def _chart() -> ChartSpec:
    """``inc`` counts (in a flat int, a list and a nested dict); ``go``/``out``/``back``
    move through a compound state with a history state (a non-empty ``history``)."""
    inc = TransitionSpec(event=("inc",), actions=(_inc,))
    return ChartSpec(
        "asked",
        states=[
            StateSpec(
                "p",
                initial=("a",),
                children=[
                    StateSpec("h", kind="history"),
                    StateSpec("a", transitions=[TransitionSpec(event=("go",), target=("b",))]),
                    StateSpec("b"),
                ],
                transitions=[inc, TransitionSpec(event=("out",), target=("q",))],
            ),
            StateSpec("q", transitions=[inc, TransitionSpec(event=("back",), target=("h",))]),
        ],
    )


def _context() -> dict[str, Any]:
    return {"n": 0, "seen": [], "last": {"n": 0}}


@pytest.mark.anyio
async def test_an_ask_reply_keeps_its_values_after_later_steps() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(compile_chart(_chart()), context=_context())
        first = await ref.ask("inc")
        for _ in range(3):
            await ref.ask("inc")
        ref.send_nowait("inc")
        await system.wait_idle()
        assert ref.context["n"] == 5
        assert first.context == {"n": 1, "seen": [1], "last": {"n": 1}}
        assert first.version == 1  # one macrostep after the start
        assert first.configuration == ("p", "a")


@pytest.mark.anyio
async def test_an_ask_reply_is_the_snapshot_a_session_has_after_the_same_events() -> None:
    chart = compile_chart(_chart())
    events = ["inc", "go", "inc", "out", "inc", "back", "inc", "inc"]
    session = chart.start(context=_context())
    expected = []
    for name in events:
        session.send(name)
        expected.append(session.snapshot())
    async with ActorSystem() as system:
        ref = system.spawn(chart, context=_context())
        replies = [await ref.ask(name) for name in events]
    for got, want in zip(replies, expected, strict=True):
        assert msgspec.structs.replace(got, session_id=want.session_id) == want
    # and what the events did, field by field (the session's snapshot is built the same way)
    assert [r.version for r in replies] == list(range(1, 9))
    assert [r.configuration for r in replies] == [
        ("p", "a"),
        ("p", "b"),
        ("p", "b"),
        ("q",),
        ("q",),
        ("p", "b"),
        ("p", "b"),
        ("p", "b"),
    ]
    assert [r.context["n"] for r in replies] == [1, 1, 2, 2, 3, 3, 4, 5]
    assert [r.history for r in replies[:3]] == [{}, {}, {}]
    assert all(r.history == {"h": ("b",)} for r in replies[3:])
    assert {(r.status, r.chart_id, r.chart_version) for r in replies} == {
        ("active", "asked", chart.version)
    }
    assert len({r.session_id for r in replies}) == 1
    assert replies[0].session_id
