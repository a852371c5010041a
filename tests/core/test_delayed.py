"""Delayed sends and `after` timers on the virtual clock; cancellation; snapshots keep them."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import StatefleetError
from statefleet.core import AfterSpec, RealClock, ScheduleEffect, TransitionSpec
from tests.core._build import S, T, chart


def _send_later(name: str, delay: float, sendid: str | None = None) -> Any:
    return lambda ctx: ctx.send(name, delay=delay, sendid=sendid)


def test_delayed_send_fires_when_the_clock_reaches_it() -> None:
    c = chart(
        S("a", entry=[_send_later("wake", 5.0)], on=[T("wake", "b")]),
        S("b"),
    )
    s = c.start()
    s.advance(4.999)
    assert s.configuration == {"a"}
    assert s.next_due == 5.0
    s.advance(0.001)
    assert s.configuration == {"b"}
    assert s.next_due is None


def test_delayed_events_fire_in_due_order_with_clock_at_due_time() -> None:
    seen: list[tuple[str, float]] = []
    c = chart(
        S(
            "a",
            entry=[_send_later("second", 2.0), _send_later("first", 1.0)],
            on=[
                T(
                    "first second",
                    None,
                    actions=(lambda ctx: seen.append((ctx.event.name, ctx.now)),),
                )
            ],
        ),
    )
    s = c.start()
    s.advance(10)
    assert seen == [("first", 1.0), ("second", 2.0)]


def test_after_timer_is_cancelled_when_its_state_exits() -> None:
    c = chart(
        S(
            "waiting",
            on=[T("answer", "answered")],
            after=[AfterSpec(30.0, TransitionSpec(target=("timed_out",)))],
        ),
        S("answered", on=[T("again", "waiting")]),
        S("timed_out"),
    )
    s = c.start()
    s.advance(10)
    s.send("answer")
    s.advance(100)
    assert s.configuration == {"answered"}
    s.send("again")  # re-entry schedules a fresh timer from now
    s.advance(29)
    assert s.configuration == {"waiting"}
    s.advance(1)
    assert s.configuration == {"timed_out"}


def test_every_timer_repeats_while_state_active() -> None:
    def tick(ctx: Any) -> None:
        ctx.context["ticks"] += 1

    c = chart(
        S(
            "running",
            on=[T("stop", "stopped")],
            after=[AfterSpec(1.0, TransitionSpec(actions=(tick,)), repeat=True)],
        ),
        S("stopped"),
    )
    s = c.start(context={"ticks": 0})
    s.advance(3.5)
    assert s.context["ticks"] == 3
    s.send("stop")
    s.advance(10)
    assert s.context["ticks"] == 3


def test_cancel_by_sendid() -> None:
    c = chart(
        S(
            "a",
            entry=[_send_later("wake", 5.0, sendid="alarm")],
            on=[T("wake", "b"), T("snooze", None, actions=(lambda ctx: ctx.cancel("alarm"),))],
        ),
        S("b"),
    )
    s = c.start()
    s.send("snooze")
    s.advance(10)
    assert s.configuration == {"a"}


def test_pending_timers_survive_snapshot_and_fire_at_original_due_time() -> None:
    c = chart(S("a", entry=[_send_later("wake", 5.0)], on=[T("wake", "b")]), S("b"))
    s = c.start()
    s.advance(2)
    snap = s.snapshot()
    assert [(p.due, p.event.name) for p in snap.pending] == [(5.0, "wake")]
    r = c.restore(snap)
    r.advance(2.9)  # the restored session has its own clock starting at 0
    assert r.configuration == {"a"}
    r.advance(2.1)
    assert r.configuration == {"b"}


def test_pure_step_reports_schedule_effect_and_keeps_timer_in_snapshot() -> None:
    c = chart(
        S("a", on=[T("arm", None, actions=(_send_later("wake", 3.0),)), T("wake", "b")]), S("b")
    )
    first = c.initial(now=100.0)
    step = c.transition(first.snapshot, "arm", now=100.0)
    eff = [e for e in step.effects if isinstance(e, ScheduleEffect)]
    assert len(eff) == 1 and eff[0].due == 103.0
    assert [p.sendid for p in step.snapshot.pending] == [eff[0].sendid]
    fired = c.transition(step.snapshot, eff[0].event, now=103.0)
    assert fired.snapshot.configuration == ("b",)
    assert fired.snapshot.pending == ()


def test_advance_needs_a_virtual_clock() -> None:
    s = chart(S("a")).start(clock=RealClock())
    with pytest.raises(StatefleetError, match="VirtualClock"):
        s.advance(1)
    assert s.poll() == 0


def test_an_event_from_another_session_with_the_same_sendid_does_not_cancel_a_timer() -> None:
    from statefleet.core import InvokeSpec

    child = chart(S("c", entry=[lambda ctx: ctx.send("hello", target="#_parent")]), id="child")
    parent = chart(
        S("a", on=[T("go", "b", actions=(_send_later("later", 5),))]),
        S("b", invokes=[InvokeSpec(id="kid", src=child)], on=[T("later", "c")]),
        S("c"),
        id="parent",
    )
    s = parent.start()
    s.send("go")  # parent's timer is send.1; the child's "hello" is also send.1
    assert [p.event.name for p in s.snapshot().pending] == ["later"]
    s.advance(5)
    assert s.configuration == {"c"}


def test_a_child_after_timer_never_fires_the_parents_with_dotted_ids() -> None:
    # "$after.0.p" must not match "$after.0.p.c" (dotted-prefix matching of descriptors)
    c = chart(
        S(
            "p",
            S(
                "p.c",
                after=[AfterSpec(1.0, TransitionSpec(target=("never",), cond=lambda ctx: False))],
            ),
            after=[AfterSpec(5.0, TransitionSpec(target=("late",)))],
        ),
        S("never"),
        S("late"),
    )
    s = c.start()
    s.advance(1.5)
    assert s.configuration == {"p", "p.c"}
    s.advance(3.5)
    assert s.configuration == {"late"}


def test_a_timer_names_its_event_and_tries_several_guarded_transitions_in_order() -> None:
    seen: list[str] = []
    timer = AfterSpec(
        1.0,
        event="tick(a)",
        transitions=[
            TransitionSpec(target=("never",), cond=lambda ctx: False),
            TransitionSpec(target=("b",), actions=(lambda ctx: seen.append(ctx.event.name),)),
            TransitionSpec(target=("never",)),
        ],
    )
    c = chart(S("a", after=[timer]), S("b"), S("never"))
    s = c.start()
    assert [d.event.name for d in s.snapshot().pending] == ["tick(a)"]
    s.advance(1.0)
    assert (s.configuration, seen) == ({"b"}, ["tick(a)"])


def test_a_timer_without_transitions_or_with_a_taken_event_name_is_a_definition_error() -> None:
    from statefleet import ChartDefinitionError

    with pytest.raises(ChartDefinitionError, match=r"a\.after\[0\]: a delayed transition needs"):
        chart(S("a", after=[AfterSpec(1.0)]))
    twice = [AfterSpec(1.0, TransitionSpec(target=("a",)), event="t") for _ in range(2)]
    with pytest.raises(ChartDefinitionError, match="event 't' is used twice"):
        chart(S("a", after=twice))


class _CountingClock(RealClock):
    """Real time, counting its reads."""

    __slots__ = ("reads",)

    def __init__(self) -> None:
        self.reads = 0

    def now(self) -> float:
        self.reads += 1
        return super().now()


def test_a_session_reads_its_clock_only_for_a_step_that_needs_the_time() -> None:
    # "tick" only counts; "later" schedules a timer 5 s after the time of its step
    c = chart(
        S(
            "a",
            on=[
                T("tick", actions=(lambda ctx: ctx.context.update(n=ctx.context["n"] + 1),)),
                T("later", actions=(_send_later("wake", 5.0, sendid="w"),)),
            ],
        )
    )
    clock = _CountingClock()
    s = c.start(context={"n": 0}, clock=clock)
    for _ in range(3):
        s.send("tick")
    assert s.context["n"] == 3
    reads = clock.reads
    for _ in range(100):
        s.send("tick")
    assert clock.reads == reads  # no step that only counts read the clock
    before = clock.now()
    s.send("later")
    after = clock.now()
    assert clock.reads == reads + 3  # one read by the step, the test's two
    due = s.next_due
    assert due is not None and before + 5.0 <= due <= after + 5.0
