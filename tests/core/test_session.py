"""The sync Session: invocations, child charts, enabled events, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import InvalidEventError
from statefleet.core import Invocation, InvokeSpec
from tests.core._build import S, T, Trace, chart


def test_child_chart_invocation_runs_and_reports_done_after_its_events() -> None:
    seen: list[str] = []
    child = chart(
        S(
            "c1",
            entry=[lambda ctx: ctx.send("progress", {"n": ctx.context["n"]}, target="#_parent")],
            on=[T(None, "cdone")],
        ),
        S("cdone", kind="final", donedata=lambda ctx: {"total": ctx.context["n"] * 2}),
        id="child",
    )
    record = lambda ctx: seen.append(f"{ctx.event.name}:{ctx.event.data}")  # noqa: E731
    parent = chart(
        S(
            "working",
            invokes=[InvokeSpec(id="job", src=child, params=lambda ctx: {"n": 21})],
            on=[
                T("progress", None, actions=(record,)),
                T("done.invoke.job", "finished", actions=(record,)),
            ],
        ),
        S("finished"),
    )
    s = parent.start()
    assert seen == ["progress:{'n': 21}", "done.invoke.job:{'total': 42}"]
    assert s.configuration == {"finished"}


def test_events_to_child_and_cancellation_on_exit() -> None:
    tr = Trace()
    child = chart(
        S(
            "idle",
            on=[T("ping", None, actions=(lambda ctx: ctx.send("pong", target="#_parent"),))],
            exit=[tr.add("child exit")],
        ),
        id="child",
    )
    parent = chart(
        S(
            "a",
            invokes=[InvokeSpec(id="kid", src=child)],
            on=[
                T("poke", None, actions=(lambda ctx: ctx.send("ping", target="#_kid"),)),
                T("pong", "b"),
            ],
        ),
        S(
            "b",
            on=[
                T("poke", None, actions=(lambda ctx: ctx.send("ping", target="#_kid"),)),
                T("error.communication", "c"),
            ],
        ),
        S("c"),
    )
    s = parent.start()
    s.send("poke")
    assert s.configuration == {"b"}
    assert tr.take() == ["child exit"]  # leaving "a" cancelled the child
    s.send("poke")  # the child is gone: the send cannot be delivered
    assert s.configuration == {"c"}


def test_callable_service_result_and_failure() -> None:
    def charge(inv: Invocation) -> dict[str, str]:
        if inv.context["card"] == "bad":
            raise ValueError("declined")
        return {"tx": "TXN-1"}

    c = chart(
        S(
            "paying",
            invokes=[InvokeSpec(id="charge", src=charge)],
            on=[T("done.invoke.charge", "paid"), T("error.invoke.charge", "failed")],
        ),
        S("paid"),
        S("failed"),
    )
    assert c.start(context={"card": "ok"}).configuration == {"paid"}
    failed = c.start(context={"card": "bad"})
    assert failed.configuration == {"failed"}


def test_late_events_from_a_cancelled_invocation_are_dropped() -> None:
    sender: list[Any] = []

    def svc(inv: Invocation) -> None:
        sender.append(inv)

    c = chart(
        S("a", invokes=[InvokeSpec(id="svc", kind="activity", src=svc)], on=[T("leave", "b")]),
        S("b", on=[T("late", "c")]),
        S("c"),
    )
    s = c.start()
    s.send("leave")
    sender[0].send("late")
    assert s.configuration == {"b"}


def test_enabled_events_evaluates_guards_without_side_effects() -> None:
    c = chart(
        S(
            "a",
            on=[
                T("go", "b"),
                T("maybe", "b", cond=lambda ctx: ctx.context["ok"]),
                T("never", "b", cond=lambda ctx: 1 / 0),
            ],
        ),
        S("b"),
    )
    s = c.start(context={"ok": False})
    assert s.enabled_events() == ["go"]
    s.context["ok"] = True
    assert s.enabled_events() == ["go", "maybe"]
    assert s.configuration == {"a"}


def test_bad_events_are_rejected_with_a_typed_error() -> None:
    s = chart(S("a")).start()
    with pytest.raises(InvalidEventError):
        s.send("")
    with pytest.raises(InvalidEventError):
        s.send(42)  # type: ignore[arg-type]


def test_send_from_callback_while_processing_is_run_to_completion() -> None:
    order: list[str] = []
    c = chart(
        S("a", on=[T("one", "b", actions=(lambda ctx: ctx.owner.send("two"),))]),
        S(
            "b",
            entry=[lambda ctx: order.append("entered b")],
            on=[T("two", "c", actions=(lambda ctx: order.append("two"),))],
        ),
        S("c"),
    )
    s = c.start()
    s.send("one")
    assert order == ["entered b", "two"]
    assert s.configuration == {"c"}


def test_event_data_reaches_actions() -> None:
    got: list[Any] = []
    c = chart(S("a", on=[T("pay", None, actions=(lambda ctx: got.append(ctx.event.data),))]))
    c.start().send("pay", amount=10, currency="EUR")
    assert got == [{"amount": 10, "currency": "EUR"}]
