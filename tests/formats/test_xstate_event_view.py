"""What XState-style callbacks get as ``event`` (the reader's :class:`XEvent`).

It reads the raw event when asked (issue 16: one is made per event, so it keeps only the
raw event): every callback of one event gets the same view and the same ``data``; the next
event gets a fresh one, so a payload-less event's ``data`` dict changed by one event is
never seen by the next.
"""

from __future__ import annotations

from typing import Any

from statefleet import from_dict
from statefleet.compat.xstate import XEvent


def test_callbacks_of_one_event_share_its_view_and_the_next_event_gets_a_fresh_one() -> None:
    seen: list[tuple[int, str, Any]] = []

    def ok(context: dict[str, Any], event: XEvent) -> bool:
        seen.append((id(event.data), event.type, dict(event.data)))
        event.data["marked"] = True  # a callback changing the payload-less event's data
        return True

    def act(context: dict[str, Any], event: XEvent) -> None:
        seen.append((id(event.data), event.name, dict(event.data)))

    chart = from_dict(
        {
            "id": "m",
            "initial": "s",
            "states": {"s": {"on": {"go": {"guard": "ok", "actions": "act"}}}},
        },
        guards={"ok": ok},
        actions={"act": act},
    )
    session = chart.start()
    session.send("go")
    session.send("go")
    session.send("go", k=1)
    first, first_act, second, second_act, third, third_act = seen
    assert first[1:] == ("go", {}) and first_act[1:] == ("go", {"marked": True})
    assert first[0] == first_act[0]  # one data dict for the whole event
    assert second[1:] == ("go", {})  # not the first event's dict
    assert second_act[1:] == ("go", {"marked": True})
    assert third[1:] == ("go", {"k": 1}) and third_act[1:] == ("go", {"k": 1, "marked": True})


def test_an_error_event_carries_the_exception_as_data_and_error() -> None:
    got: list[tuple[str, Any, Any]] = []

    def fail(context: dict[str, Any], event: XEvent) -> None:
        raise ValueError("boom")

    def record(context: dict[str, Any], event: XEvent) -> None:
        got.append((event.type, event.data, event.error))

    chart = from_dict(
        {
            "id": "m",
            "initial": "s",
            "states": {
                "s": {"on": {"go": {"actions": "fail"}, "error.execution": {"actions": "record"}}}
            },
        },
        actions={"fail": fail, "record": record},
    )
    chart.start().send("go")
    [(name, data, error)] = got
    assert name == "error.execution"
    assert isinstance(error, ValueError) and data is error
