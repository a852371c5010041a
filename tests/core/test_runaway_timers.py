"""A timer or send that re-arms itself at the same instant raises instead of hanging forever."""

from __future__ import annotations

import pytest

from statefleet import InfiniteLoopError, VirtualClock, hsm
from statefleet.core import AfterSpec, TransitionSpec
from statefleet.formats import from_dict
from tests.core._build import S, T, chart


def test_a_repeating_timer_too_small_for_time_to_pass_raises_naming_it() -> None:
    model = hsm.define(
        "M", hsm.initial(hsm.target("a")), hsm.state("a", hsm.transition(hsm.every(1e-300)))
    )
    session = model.start(clock=VirtualClock())
    with pytest.raises(InfiniteLoopError) as info:
        session.advance(1)
    message = str(info.value)
    assert "more than 100000 delayed events" in message  # the bound
    assert "/M/a" in message  # the timer's send id names its state
    assert session.clock.now() < 1  # time did not jump past the runaway instant
    assert session.next_due is not None  # the timer is still pending, not lost


def test_a_zero_delay_after_back_into_its_own_state_raises() -> None:
    c = chart(S("a", after=[AfterSpec(0.0, TransitionSpec(target=("a",)))]))
    session = c.start(clock=VirtualClock())
    with pytest.raises(InfiniteLoopError, match="delayed events fell due at t=0"):
        session.advance(1)


def test_a_json_zero_after_looping_on_its_state_raises_when_time_runs() -> None:
    loop = from_dict({"id": "loop", "initial": "a", "states": {"a": {"after": {"0": "a"}}}})
    session = loop.start(clock=VirtualClock())  # an XState timer is a core timer
    assert session.configuration == {"loop.a"}
    with pytest.raises(InfiniteLoopError, match=r"'loop': more than .* fell due at t=0"):
        session.advance(1)


def test_many_timers_due_at_once_below_the_bound_all_fire() -> None:
    seen: list[str] = []
    c = chart(
        S(
            "a",
            entry=[lambda ctx: [ctx.send(f"t{i}", delay=1.0) for i in range(500)]],
            on=[T("*", None, actions=[lambda ctx: seen.append(ctx.event.name)])],
        )
    )
    session = c.start(clock=VirtualClock())
    session.advance(2)
    assert len(seen) == 500
    assert session.clock.now() == 2
