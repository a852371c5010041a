"""Parallel regions: entry, exit order, one microstep per event, conflicts, completion."""

from __future__ import annotations

from tests.core._build import S, T, Trace, chart, traced


def _two_regions(tr: Trace) -> list:  # type: ignore[type-arg]
    return [
        traced(
            tr,
            "p",
            traced(tr, "r1", traced(tr, "r1a", traced(tr, "r1a1")), traced(tr, "r1b")),
            traced(tr, "r2", traced(tr, "r2a"), traced(tr, "r2b")),
            kind="parallel",
            on=[T("leave", "out")],
        ),
        traced(tr, "out"),
    ]


def test_entering_parallel_enters_every_region_initial_state() -> None:
    tr = Trace()
    s = chart(*_two_regions(tr)).start()
    assert s.configuration == {"p", "r1", "r1a", "r1a1", "r2", "r2a"}
    assert tr.take() == ["enter p", "enter r1", "enter r1a", "enter r1a1", "enter r2", "enter r2a"]


def test_leaving_parallel_exits_all_regions_in_reverse_document_order() -> None:
    tr = Trace()
    s = chart(*_two_regions(tr)).start()
    tr.take()
    s.send("leave")
    # reverse document order, not "deepest first": r2a exits before r1a1
    assert tr.take() == [
        "exit r2a",
        "exit r2",
        "exit r1a1",
        "exit r1a",
        "exit r1",
        "exit p",
        "enter out",
    ]
    assert s.configuration == {"out"}


def test_one_event_moves_every_region_in_one_microstep() -> None:
    regions = [
        S(f"r{i}", S(f"r{i}a", on=[T("flip", f"r{i}b")]), S(f"r{i}b", on=[T("flip", f"r{i}a")]))
        for i in range(4)
    ]
    c = chart(S("p", *regions, kind="parallel"))
    steps = []
    s = c.start(listeners=[steps.append])
    steps.clear()
    s.send("flip")
    assert s.configuration == {"p"} | {f"r{i}" for i in range(4)} | {f"r{i}b" for i in range(4)}
    assert len(steps) == 1 and len(steps[0].microsteps) == 1
    assert len(steps[0].microsteps[0].transitions) == 4


def test_transition_out_of_one_region_preempts_sibling_region_transitions() -> None:
    # r1a's transition leaves the parallel state; it conflicts with r2a's and, being first in
    # document order, wins
    c = chart(
        S(
            "p",
            S("r1", S("r1a", on=[T("e", "out")])),
            S("r2", S("r2a", on=[T("e", "r2b")]), S("r2b")),
            kind="parallel",
        ),
        S("out"),
    )
    s = c.start()
    s.send("e")
    assert s.configuration == {"out"}


def test_targeting_one_region_state_enters_other_regions_defaults() -> None:
    c = chart(
        S("start", on=[T("go", "r2b")]),
        S("p", S("r1", S("r1a"), S("r1b")), S("r2", S("r2a"), S("r2b")), kind="parallel"),
    )
    s = c.start()
    s.send("go")
    assert s.configuration == {"p", "r1", "r1a", "r2", "r2b"}


def test_multiple_targets_into_parallel_regions() -> None:
    c = chart(
        S("start", on=[T("go", "r1b r2b")]),
        S("p", S("r1", S("r1a"), S("r1b")), S("r2", S("r2a"), S("r2b")), kind="parallel"),
    )
    s = c.start()
    s.send("go")
    assert s.configuration == {"p", "r1", "r1b", "r2", "r2b"}


def test_parallel_done_when_all_regions_final_and_both_done_events_fire() -> None:
    seen: list[str] = []
    c = chart(
        S(
            "p",
            S("r1", S("r1a", on=[T("a", "r1f")]), S("r1f", kind="final")),
            S("r2", S("r2a", on=[T("b", "r2f")]), S("r2f", kind="final")),
            kind="parallel",
            on=[
                T("done.state.r2", None, actions=(lambda ctx: seen.append(ctx.event.name),)),
                T("done.state.p", "finished"),
            ],
        ),
        S("finished"),
    )
    s = c.start()
    s.send("a")
    assert s.configuration == {"p", "r1", "r1f", "r2", "r2a"}
    s.send("b")
    assert seen == ["done.state.r2"]
    assert s.configuration == {"finished"}
