"""An engine keeps what it rarely writes in one side object, shared until first written.

Issue 16 (idle actor bytes): an :class:`~statefleet.core._algorithm.Interpreter` holds its
hot fields in slots and the rest (history, pending timers, invocations, the step record,
errors, unhandled error events, status, done data, late-bound states, the send counter, a
reader's ``extra``, the internal queue, ``running``) in a :class:`Rare` that every engine
of a driver shares until it writes one of them. These tests check that an engine that
never writes them shares it, that each field still behaves once written (and only for
that engine), that the shared one is never written, and that the time is read from a
driver's clock only by a step that needs it.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.core import (
    ChartSpec,
    DataSpec,
    EventData,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.core._algorithm import BLANK, Interpreter, Rare
from tests.core._build import S, T, chart


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


def _boom(ctx: Any) -> None:
    raise ValueError("boom")


def _later(ctx: Any) -> None:
    ctx.send("tick", delay=5.0)
    ctx.send("tock", delay=7.0)


COUNTER = compile_chart(
    ChartSpec(
        id="counter",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                "s",
                transitions=[
                    TransitionSpec(event=("inc",), actions=(_inc,)),
                    TransitionSpec(event=("boom",), actions=(_boom,)),
                    TransitionSpec(event=("later",), actions=(_later,)),
                    TransitionSpec(event=("finish",), target=("end",)),
                ],
            ),
            StateSpec("end", kind="final"),
        ],
    )
)

_DEFAULTS = Rare()


def _pristine(rare: Rare) -> bool:
    """Does ``rare`` hold a fresh engine's values in every field but its settings?"""
    names = [n for n in Rare.__slots__ if n not in ("shared", "clock", "track_unhandled")]
    return all(getattr(rare, n) == getattr(_DEFAULTS, n) for n in names)


def _started(rare: Rare = BLANK) -> Interpreter:
    m = COUNTER.engine(rare)
    m.start(None)
    return m


def test_engines_that_write_no_rare_field_share_one() -> None:
    a, b = _started(), _started()
    for m in (a, b):
        m.macrostep(EventData("inc"))
        m.macrostep(EventData("inc"))
    assert a.x is BLANK and b.x is BLANK
    assert (a.context, b.context) == ({"n": 2}, {"n": 2})
    assert a.to_snapshot().version == 2 and a.handled
    assert _pristine(BLANK)


def test_an_event_nothing_takes_is_noted_for_that_engine_only() -> None:
    a, b = _started(), _started()
    a.macrostep(EventData("nothing-takes-this"))
    b.macrostep(EventData("inc"))
    assert (a.handled, b.handled) == (False, True)
    assert a.version == 0 and b.version == 1
    a.macrostep(EventData("inc"))
    assert a.handled
    assert _pristine(BLANK)


def test_a_write_gives_only_that_engine_its_own_copy() -> None:
    a, b = _started(), _started()
    a.macrostep(EventData("later"))
    assert a.x is not BLANK and not a.x.shared
    assert set(a.pending) == {"send.1", "send.2"}
    assert a.send_counter == 2
    assert b.x is BLANK and b.pending == {} and b.send_counter == 0
    assert _pristine(BLANK)


def test_the_shared_one_keeps_its_settings_in_the_copy() -> None:
    shared = Rare.shared_by(track_unhandled=True, clock=lambda: 42.0)
    m = _started(shared)
    m.clock_reading = None
    m.macrostep(EventData("later"))  # a private copy: pending written
    assert m.x is not shared
    assert m.x.track_unhandled and m.x.clock is shared.clock
    assert m.pending["send.1"].due == 47.0
    m.macrostep(EventData("error.platform"))  # an error event nothing takes: collected
    assert [e.name for e in m.unhandled or ()] == ["error.platform"]
    assert _pristine(shared)


def test_errors_and_status_and_running_are_per_engine() -> None:
    a, b = _started(), _started()
    a.macrostep(EventData("boom"))
    assert [str(e) for e in a.errors] == ["boom"]
    a.clear_errors()
    assert a.errors == []
    b.macrostep(EventData("finish"))
    assert (b.running, b.status) == (False, "done")
    assert (a.running, a.status) == (True, "active")
    assert _pristine(BLANK)


def test_history_is_recorded_per_engine_and_survives_a_snapshot() -> None:
    h = StateSpec("h", kind="history", history="deep")
    c = chart(
        S("work", h, S("a"), S("b"), on=[T("pause", "paused"), T("to_b", "b")]),
        S("paused", on=[T("resume", "h")]),
    )
    one, two = c.start(), c.start()
    one.send("to_b")
    one.send("pause")
    two.send("pause")
    snap = one.snapshot()
    assert snap.history == {"h": ("b",)}
    restored = c.restore(snap)
    restored.send("resume")
    two.send("resume")
    assert restored.configuration == {"work", "b"}
    assert two.configuration == {"work", "a"}
    assert _pristine(BLANK)


def test_a_kept_record_and_the_done_data_and_extra() -> None:
    m = _started()
    m.record = []
    m.macrostep(EventData("finish"))
    assert [r.entered for r in m.record] == [("end",)]
    m.extra = {"reader": 1}
    assert m.extra == {"reader": 1}
    assert _started().extra is None
    assert _pristine(BLANK)


def test_late_binding_and_invocations_round_trip_through_a_snapshot() -> None:
    c = compile_chart(
        ChartSpec(
            id="late",
            binding="late",
            states=[
                StateSpec("idle", transitions=[TransitionSpec(event=("go",), target=("busy",))]),
                StateSpec(
                    "busy",
                    data=[DataSpec("x", 1)],
                    invokes=[InvokeSpec(id="job", src="service")],
                ),
            ],
        )
    )
    m = c.engine()
    m.start(None)
    assert m.x is BLANK
    m.macrostep(EventData("go"))
    snap = m.to_snapshot()
    assert snap.bound == ("busy",)
    assert [r.invokeid for r in snap.invocations] == ["job"]
    again = c.engine()
    again.load_snapshot(snap, c.validate(snap))
    assert again.bound == {"busy"} and set(again.invocations) == {"job"}
    assert again.to_snapshot() == snap
    assert _pristine(BLANK)


def test_a_restored_idle_snapshot_keeps_the_shared_one() -> None:
    snap = _started().to_snapshot()
    m = COUNTER.engine()
    m.load_snapshot(snap, COUNTER.validate(snap))
    assert m.x is BLANK
    assert m.to_snapshot() == snap


@pytest.mark.parametrize("event", ["inc", "nothing-takes-this"])
def test_a_step_that_needs_no_time_reads_no_clock(event: str) -> None:
    calls: list[float] = []

    def clock() -> float:
        calls.append(10.0)
        return 10.0

    m = _started(Rare.shared_by(clock=clock))
    m.clock_reading = None
    m.macrostep(EventData(event))
    assert calls == [] and m.clock_reading is None


def test_a_step_that_needs_the_time_reads_the_clock_once() -> None:
    readings = iter([100.0, 200.0])
    m = _started(Rare.shared_by(clock=lambda: next(readings)))
    m.clock_reading = None
    m.macrostep(EventData("later"))  # two delayed sends: one reading
    assert [(d.sendid, d.due) for d in m.pending.values()] == [
        ("send.1", 105.0),
        ("send.2", 107.0),
    ]
    assert m.now == 100.0
    m.now = 300.0  # a driver's own reading wins
    m.macrostep(EventData("later"))
    assert m.pending["send.3"].due == 305.0
