"""Eventless transitions to a fixed point, internal queue priority, the microstep bound."""

from __future__ import annotations

import pytest

from statefleet import InfiniteLoopError
from tests.core._build import S, T, Trace, chart


def test_eventless_transitions_run_to_a_fixed_point() -> None:
    c = chart(
        S("a", on=[T("go", "b")]),
        S("b", on=[T(None, "c")]),
        S("c", on=[T(None, "d", cond=lambda ctx: ctx.context["n"] > 2)]),
        S("d"),
        data=[],
    )
    s = c.start(context={"n": 3})
    s.send("go")
    assert s.configuration == {"d"}


def test_guarded_eventless_waits_for_context_change() -> None:
    def inc(ctx: object) -> None:
        ctx.context["n"] += 1  # type: ignore[attr-defined]

    c = chart(
        S(
            "count",
            on=[
                T("tick", None, actions=(inc,)),
                T(None, "done", cond=lambda ctx: ctx.context["n"] >= 3),
            ],
        ),
        S("done"),
    )
    s = c.start(context={"n": 0})
    s.send("tick")
    s.send("tick")
    assert s.configuration == {"count"}
    s.send("tick")
    assert s.configuration == {"done"}


def test_internal_events_are_processed_before_the_next_external_one() -> None:
    tr = Trace()
    c = chart(
        S(
            "a",
            on=[
                T("go", "b", actions=(lambda ctx: ctx.raise_("inner"),)),
            ],
        ),
        S("b", on=[T("inner", "c", actions=(tr.add("inner"),)), T("outer", "x")]),
        S("c", on=[T("outer", "d", actions=(tr.add("outer"),))]),
        S("d"),
        S("x"),
    )
    s = c.start()
    s.send("go")
    s.send("outer")
    assert tr.take() == ["inner", "outer"]
    assert s.configuration == {"d"}


def test_events_sent_from_actions_are_queued_after_the_current_macrostep() -> None:
    c = chart(
        S("a", on=[T("go", "b", actions=(lambda ctx: ctx.send("later"),))]),
        S("b", on=[T(None, "c")]),
        S("c", on=[T("later", "d")]),
        S("d"),
    )
    s = c.start()
    s.send("go")
    assert s.configuration == {"d"}


def test_runaway_eventless_loop_raises_infinite_loop_error() -> None:
    c = chart(
        S("a", on=[T(None, "b")]),
        S("b", on=[T(None, "a")]),
        max_microsteps=100,
    )
    with pytest.raises(InfiniteLoopError, match="more than 100 microsteps"):
        c.start()


def test_runaway_raise_loop_raises_infinite_loop_error() -> None:
    c = chart(
        S("a", on=[T("ping", None, actions=(lambda ctx: ctx.raise_("ping"),))]),
        max_microsteps=50,
    )
    s = c.start()
    with pytest.raises(InfiniteLoopError):
        s.send("ping")
    assert s.status == "error"


@pytest.mark.parametrize("guarded", [False, True])
def test_a_plain_move_into_a_state_with_eventless_transitions_follows_them_every_time(
    guarded: bool,
) -> None:
    # a -> b is a bare configuration swap (no content, entries or exits), planned once and
    # taken from the plan afterwards; b's eventless transition must follow it each time
    c = chart(
        S("a", on=[T("go", "b")]),
        S("b", on=[T(None, "c", cond=(lambda ctx: True) if guarded else None)]),
        S("c", on=[T("back", "a")]),
    )
    s = c.start()
    for _ in range(3):
        s.send("go")
        assert s.configuration == {"c"}
        s.send("back")
        assert s.configuration == {"a"}
