"""Final states, done.state events with donedata, top-level completion."""

from __future__ import annotations

from typing import Any

from tests.core._build import S, T, Trace, chart, traced


def test_compound_done_event_carries_donedata() -> None:
    got: list[Any] = []
    c = chart(
        S(
            "job",
            S("run", on=[T("finish", "ok")]),
            S("ok", kind="final", donedata=lambda ctx: {"result": 42}),
            on=[T("done.state.job", "after", actions=(lambda ctx: got.append(ctx.event.data),))],
        ),
        S("after"),
    )
    s = c.start()
    s.send("finish")
    assert got == [{"result": 42}]
    assert s.configuration == {"after"}


def test_guarded_list_of_done_handlers_picks_first_enabled() -> None:
    c = chart(
        S(
            "review",
            S("pending", on=[T("approve", "approved"), T("reject", "rejected")]),
            S("approved", kind="final"),
            S("rejected", kind="final"),
            on=[
                T("done.state.review", "published", cond=lambda ctx: ctx.in_state("approved")),
                T("done.state.review", "returned"),
            ],
        ),
        S("published"),
        S("returned"),
    )
    s = c.start()
    s.send("reject")
    assert s.configuration == {"returned"}
    s2 = c.start()
    s2.send("approve")
    assert s2.configuration == {"published"}


def test_top_level_final_completes_session_and_runs_exits() -> None:
    tr = Trace()
    c = chart(
        traced(tr, "a", on=[T("end", "z")]),
        traced(tr, "z", kind="final"),
    )
    s = c.start()
    s.send("end")
    assert s.done and s.status == "done"
    assert s.configuration == {"z"}
    assert tr.take() == ["enter a", "exit a", "enter z", "exit z"]
    s.send("end")  # a done session ignores further events
    assert s.configuration == {"z"}


def test_top_level_donedata_is_the_session_result() -> None:
    c = chart(S("a", on=[T("end", "z")]), S("z", kind="final", donedata=lambda ctx: "bye"))
    s = c.start()
    s.send("end")
    assert s.done_data == "bye"
    assert s.snapshot().done_data == "bye"


def test_nested_final_inside_parallel_region_does_not_finish_parent_alone() -> None:
    c = chart(
        S(
            "p",
            S("r1", S("r1f", kind="final")),
            S("r2", S("r2a", on=[T("go", "r2f")]), S("r2f", kind="final")),
            kind="parallel",
            on=[T("done.state.p", "end")],
        ),
        S("end"),
    )
    s = c.start()
    assert "p" in s.configuration
    s.send("go")
    assert s.configuration == {"end"}
