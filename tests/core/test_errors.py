"""error.execution: errors in actions and guards become events and never escape send()."""

from __future__ import annotations

from typing import Any

from tests.core._build import S, T, Trace, chart, traced


def boom(ctx: Any) -> None:
    raise RuntimeError("boom")


def test_error_in_entry_action_stops_block_completes_microstep_and_raises_event() -> None:
    tr = Trace()
    seen: list[Any] = []
    c = chart(
        S("idle", on=[T("start", "work")]),
        S(
            "work",
            entry=[boom],
            on=[
                T(
                    "error.execution",
                    "failed",
                    actions=(lambda ctx: seen.append(ctx.event.error),),
                )
            ],
        ),
        traced(tr, "failed"),
    )
    s = c.start()
    s.send("start")  # does not raise
    assert s.configuration == {"failed"}
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError) and str(seen[0]) == "boom"


def test_error_stops_only_its_own_block() -> None:
    tr = Trace()
    st = S("a", on=[T("e", "b")])
    st.onexit = [(tr.add("x1"), boom, tr.add("never")), (tr.add("second block"),)]
    c = chart(st, S("b"))
    s = c.start()
    s.send("e")
    assert tr.take() == ["x1", "second block"]
    assert s.configuration == {"b"}


def test_error_in_guard_counts_as_false_and_raises_error_execution() -> None:
    c = chart(
        S(
            "a",
            on=[
                T("e", "b", cond=lambda ctx: 1 / 0),
                T("e", "c"),
            ],
        ),
        S("b"),
        S("c", on=[T("error.execution", "d")]),
        S("d"),
    )
    s = c.start()
    s.send("e")
    assert s.configuration == {"d"}


def test_finalize_after_block_runs_even_when_entry_failed() -> None:
    tr = Trace()
    c = chart(
        S("idle", on=[T("start", "work", after=(tr.add("released"),))]),
        S("work", entry=[boom], on=[T("error.execution", "idle")]),
    )
    s = c.start()
    s.send("start")
    assert tr.take() == ["released"]
    assert s.configuration == {"idle"}


def test_error_while_handling_error_execution_does_not_loop() -> None:
    c = chart(
        S("a", entry=[boom], on=[T("error.execution", None, actions=(boom,))]),
    )
    s = c.start()  # would loop forever if each failure raised a new error.execution
    assert s.configuration == {"a"}
    s.send("anything")
    assert s.status == "active"


def test_unhandled_error_leaves_a_consistent_configuration() -> None:
    c = chart(S("a", on=[T("e", "b", actions=(boom,))]), S("b"))
    s = c.start()
    s.send("e")
    assert s.configuration == {"b"}
    steps: list[Any] = []
    s2 = c.start(listeners=[steps.append])
    s2.send("e")
    assert [str(e) for e in steps[-1].errors] == ["boom"]
