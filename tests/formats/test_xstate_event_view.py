"""What XState-style callbacks get as ``event`` (the reader's :class:`XEvent`).

It reads the raw event when asked (issue 16: one is made per event, so it keeps only the
raw event): every callback of one event gets the same view and the same ``data``; the next
event gets a fresh one, so a payload-less event's ``data`` dict changed by one event is
never seen by the next.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import anyio

from statefleet import EventData, from_dict
from statefleet.actors import ActorSystem
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


def test_the_start_event_gets_a_fresh_view_for_every_session() -> None:
    """The initial entry's callbacks see ``xstate.init``; what one session's entry writes into
    that view's data is never seen by another session's start. Run in a fresh interpreter:
    the reader keeps the last event's view, and this must hold before any event was sent."""
    code = textwrap.dedent(
        """
        from statefleet import from_dict

        seen = []

        def enter(context, event):
            seen.append((event.type, dict(event.data)))
            event.data["touched"] = True

        chart = from_dict(
            {"id": "m", "initial": "s", "states": {"s": {"entry": "enter"}}},
            actions={"enter": enter},
        )
        chart.start()
        chart.start()
        assert seen == [("xstate.init", {}), ("xstate.init", {})], seen
        """
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_views_compare_by_identity_and_read_their_event() -> None:
    from statefleet import EventData

    raw = EventData("go", {"k": 1})
    a, b = XEvent(raw), XEvent(raw)
    assert a != b and len({a, b, a}) == 2
    assert (a.type, a.name, a.payload, a["k"], a.get("x", 0)) == ("go", "go", {"k": 1}, 1, 0)
    a.data = {"k": 2}
    assert a["k"] == 2 and b["k"] == 1
    assert XEvent(None).type == "xstate.init" and XEvent(None).data == {}


def _marking_chart(seen: list[dict[str, Any]]) -> Any:
    """A chart whose guard and action both see the event's data; the guard writes into it."""

    def ok(context: dict[str, Any], event: XEvent) -> bool:
        seen.append(dict(event.data))
        event.data["marked"] = True
        return True

    def act(context: dict[str, Any], event: XEvent) -> None:
        seen.append(dict(event.data))

    return from_dict(
        {
            "id": "m",
            "initial": "s",
            "states": {"s": {"on": {"go": {"guard": "ok", "actions": "act"}}}},
        },
        guards={"ok": ok},
        actions={"act": act},
    )


def test_one_event_object_sent_twice_gives_each_delivery_its_own_data() -> None:
    # what a callback writes into one delivery's payload-less data is not seen by the next
    # delivery of the same EventData object, yet the step's later callbacks still see it
    seen: list[dict[str, Any]] = []
    session = _marking_chart(seen).start()
    ev = EventData("go")
    session.send(ev)
    session.send(ev)
    assert seen == [{}, {"marked": True}, {}, {"marked": True}]


def test_an_actors_repeated_payload_less_sends_do_not_share_data() -> None:
    # send_nowait("go") hands the actor one shared event object per name
    seen: list[dict[str, Any]] = []
    chart = _marking_chart(seen)

    async def main() -> None:
        async with ActorSystem() as system:
            ref = system.spawn(chart, id="a")
            ref.send_nowait("go")
            ref.send_nowait("go")
            ref.send_nowait("go")
            await ref.ask("go", k=1)

    anyio.run(main)
    assert seen == [{}, {"marked": True}] * 3 + [{"k": 1}, {"k": 1, "marked": True}]
