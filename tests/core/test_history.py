"""History: shallow and deep, defaults, per instance, across snapshot/restore."""

from __future__ import annotations

from statefleet.core import StateSpec, TransitionSpec
from tests.core._build import S, T, Trace, chart, traced


def _machine(kind: str, default: str | None = None) -> list[StateSpec]:
    h = StateSpec("h", kind="history", history=kind)  # type: ignore[arg-type]
    if default:
        h.transitions = [TransitionSpec(target=(default,))]
    return [
        S(
            "work",
            h,
            S("a", S("a1", on=[T("next", "a2")]), S("a2")),
            S("b", S("b1", on=[T("next", "b2")]), S("b2")),
            on=[T("pause", "paused"), T("to_b", "b")],
        ),
        S("paused", on=[T("resume", "h")]),
    ]


def test_deep_history_restores_the_deepest_leaf() -> None:
    s = chart(*_machine("deep")).start()
    s.send("next")
    assert s.configuration == {"work", "a", "a2"}
    s.send("pause")
    s.send("resume")
    assert s.configuration == {"work", "a", "a2"}


def test_shallow_history_reenters_remembered_child_with_its_default_descendants() -> None:
    s = chart(*_machine("shallow")).start()
    s.send("next")  # a1 -> a2
    s.send("pause")
    s.send("resume")
    # shallow: remembers "a" only, so a's default child a1 is entered
    assert s.configuration == {"work", "a", "a1"}


def test_history_without_memory_takes_its_default_transition() -> None:
    c = chart(*_machine("deep", default="b"))
    s = c.start()
    # enter paused first without ever leaving work: go through a fresh instance state
    s2 = c.restore(s.snapshot())
    s2.send("pause")
    s2.send("resume")
    assert s2.configuration == {"work", "a", "a1"}  # remembered on pause
    c2 = chart(
        S("paused", on=[T("resume", "h")]),
        S(
            "work",
            StateSpec("h", kind="history", transitions=[TransitionSpec(target=("b",))]),
            S("a"),
            S("b"),
        ),
    )
    s3 = c2.start()
    s3.send("resume")
    assert s3.configuration == {"work", "b"}


def test_history_default_actions_run_only_when_no_memory() -> None:
    tr = Trace()
    h = StateSpec(
        "h",
        kind="history",
        transitions=[TransitionSpec(target=("b",), actions=(tr.add("default"),))],
    )
    c = chart(
        S("off", on=[T("on", "h")]),
        S("work", h, S("a", on=[T("x", "b")]), S("b", on=[T("x", "a")]), on=[T("off", "off")]),
    )
    s = c.start()
    s.send("on")
    assert tr.take() == ["default"]
    s.send("x")  # b -> a
    s.send("off")
    s.send("on")
    assert tr.take() == []
    assert s.configuration == {"work", "a"}


def test_history_is_per_instance() -> None:
    c = chart(*_machine("deep"))
    one, two = c.start(), c.start()
    one.send("next")
    one.send("pause")
    two.send("pause")
    one.send("resume")
    two.send("resume")
    assert one.configuration == {"work", "a", "a2"}
    assert two.configuration == {"work", "a", "a1"}


def test_history_survives_snapshot_and_restore() -> None:
    c = chart(*_machine("deep"))
    s = c.start()
    s.send("to_b")
    s.send("next")
    s.send("pause")
    snap = s.snapshot()
    assert snap.history == {"h": ("b2",)}
    restored = c.restore(snap)
    restored.send("resume")
    assert restored.configuration == {"work", "b", "b2"}


def test_deep_history_in_parallel_restores_every_region() -> None:
    h = StateSpec("h", kind="history", history="deep")
    c = chart(
        S(
            "outer",
            h,
            S(
                "p",
                S("r1", S("r1a", on=[T("x", "r1b")]), S("r1b")),
                S("r2", S("r2a", on=[T("y", "r2b")]), S("r2b")),
                kind="parallel",
            ),
            on=[T("out", "away")],
        ),
        S("away", on=[T("back", "h")]),
    )
    s = c.start()
    s.send("x")
    s.send("y")
    s.send("out")
    s.send("back")
    assert s.configuration == {"outer", "p", "r1", "r1b", "r2", "r2b"}


def test_entering_via_history_runs_entry_actions_of_restored_states() -> None:
    tr = Trace()
    h = StateSpec("h", kind="history", history="deep")
    c = chart(
        traced(
            tr,
            "w",
            h,
            traced(tr, "a", traced(tr, "a1", on=[T("n", "a2")]), traced(tr, "a2")),
            on=[T("p", "z")],
        ),
        traced(tr, "z", on=[T("r", "h")]),
    )
    s = c.start()
    s.send("n")
    s.send("p")
    tr.take()
    s.send("r")
    assert tr.take() == ["exit z", "enter w", "enter a", "enter a2"]
