"""Core semantics bugs found by the W3C suite, pinned at the core level (no SCXML reader)."""

from __future__ import annotations

from typing import Any

from statefleet.core import InvokeSpec, VirtualClock, parse_descriptors
from tests.core._build import S, T, chart


def boom(ctx: Any) -> None:
    raise RuntimeError("boom")


def test_a_dot_star_descriptor_matches_every_event_and_is_not_eventless() -> None:
    # W3C 311/312: event=".*" used to parse to no descriptor at all, i.e. an eventless
    # transition taken at once
    assert parse_descriptors(".*") == ("*",)
    assert parse_descriptors("a .") == ("a", "*")
    c = chart(S("a", on=[T("error.execution", "b"), T(".*", "c")]), S("b"), S("c"))
    s = c.start()
    assert s.configuration == {"a"}
    s.send("anything")
    assert s.configuration == {"c"}


def test_a_history_exited_and_reentered_in_one_microstep_restores_what_was_recorded() -> None:
    # W3C 579: s02 -> s0 exits s0 (recording s02 in h) and enters s0 through h in the same
    # microstep; the entry set used to be computed from the history as it was before the exit
    c = chart(
        S(
            "s0",
            S("h", kind="history", on=[T(None, "s01")]),
            S("s01", on=[T("next", "s02")]),
            S("s02", on=[T("again", "s0")]),
            initial="h",
        ),
    )
    s = c.start()
    assert s.configuration == {"s0", "s01"}
    s.send("next")
    s.send("again")
    assert s.configuration == {"s0", "s02"}


def test_an_entry_action_failing_while_handling_error_execution_raises_it_again() -> None:
    # W3C 457: the state entered on error.execution fails in its onentry; that is a new
    # error.execution, handled like any other
    c = chart(
        S("a", entry=[boom], on=[T("error.execution", "b")]),
        S("b", entry=[boom], on=[T("error.execution", "c")]),
        S("c"),
    )
    assert c.start().configuration == {"c"}


def test_failures_that_would_loop_on_error_execution_are_still_only_recorded() -> None:
    c = chart(
        S("a", entry=[boom], on=[T("error.execution", None, cond=boom)]),
        S("b", entry=[boom], on=[T("error.execution", None, actions=(boom,))]),
    )
    assert c.start().configuration == {"a"}  # a guard failing on every error: no loop
    c2 = chart(S("b", entry=[boom], on=[T("error.execution", None, actions=(boom,))]))
    assert c2.start().configuration == {"b"}  # a targetless transition failing: no loop


def test_an_event_sent_without_an_id_carries_no_sendid() -> None:
    # W3C 351 / SCXML 5.10.1: the sendid field is the id the sender gave, else blank
    seen: list[Any] = []

    def record(ctx: Any) -> None:
        seen.append(ctx.event.sendid)

    ids: list[str] = []
    c = chart(
        S(
            "a",
            entry=[
                lambda ctx: ids.append(ctx.send("plain")),
                lambda ctx: ctx.send("named", sendid="mine"),
                lambda ctx: ctx.send("later", delay=1.0),
            ],
            on=[T("plain", None, actions=(record,)), T("named", None, actions=(record,))],
        ),
    )
    s = c.start(clock=VirtualClock())
    assert ids and ids[0]  # the generated id is still returned to the sender
    assert seen == [None, "mine"]
    # a delayed event keeps its generated id: its timer is matched by it
    assert [p.event.sendid for p in s.snapshot().pending] == [
        p.sendid for p in s.snapshot().pending
    ]


def test_an_error_from_a_failed_send_carries_the_send_id() -> None:
    # W3C 332: error events triggered by a failed send carry its sendid
    class SendFailed(Exception):
        sendid = "send-42"

    def fail_send(ctx: Any) -> None:
        raise SendFailed("bad target")

    got: list[Any] = []
    c = chart(
        S(
            "a",
            entry=[fail_send],
            on=[T("error.execution", "b", actions=(lambda ctx: got.append(ctx.event.sendid),))],
        ),
        S("b"),
    )
    c.start()
    assert got == ["send-42"]


def test_events_a_child_queued_before_its_invocation_was_cancelled_are_processed() -> None:
    # W3C 236: the child sends childToParent from its final state's onexit, then finishes;
    # the parent leaves the invoking state on childToParent and must still get done.invoke
    child = chart(
        S("end", kind="final", exit=[lambda ctx: ctx.send("childToParent", target="#_parent")])
    )
    parent = chart(
        S("s0", invokes=[InvokeSpec(id="kid", src=child)], on=[T("childToParent", "s1")]),
        S("s1", on=[T("done.invoke.kid", "s2")]),
        S("s2"),
    )
    assert parent.start().configuration == {"s2"}


def test_snapshot_of_a_datamodel_holding_ioprocessors() -> None:
    from statefleet import from_scxml

    doc = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="s0">
      <datamodel><data id="Var1" expr="_ioprocessors"/></datamodel>
      <state id="s0"/></scxml>"""
    session = from_scxml(doc).start()
    snap = session.snapshot()
    assert snap.configuration == ("s0",)
    assert snap.context["Var1"]["scxml"]["location"] == f"#_scxml_{session.session_id}"
