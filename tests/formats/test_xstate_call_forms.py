"""XState callbacks are called in their argument form by every path of the engine.

A guarded targetless transition (the counter's hot path) is run by the engine's specialised
step, which calls the user's guard and action itself in XState's argument forms (issue 16: no
adapter frame per event); a transition that moves is run by the full macrostep through the
reader's adapters. Each test runs both shapes and expects the same arguments, errors, async
results and event views.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import from_dict
from statefleet.actors import ActorSystem
from statefleet.compat.xstate import XEvent

#: the transition's shape: targetless (the specialised step) or moving to a sibling (the
#: full macrostep)
SHAPES = ["targetless", "moving"]


def _chart(shape: str, on: dict[str, Any], **logic: Any) -> Any:
    """A two-state chart whose ``s`` and ``t`` handle ``go`` as ``on`` says (moving: to the
    other state)."""

    def handler(other: str) -> Any:
        if shape == "targetless":
            return on
        if isinstance(on, list):
            return [{**c, "target": other} for c in on]
        return {**on, "target": other}

    return from_dict(
        {
            "id": "m",
            "initial": "s",
            "context": {"n": 0},
            "states": {
                "s": {"on": {"go": handler("t"), "error.execution": {"actions": "on_error"}}},
                "t": {"on": {"go": handler("s"), "error.execution": {"actions": "on_error"}}},
            },
        },
        **logic,
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_guards_and_actions_get_the_arguments_their_signatures_ask_for(shape: str) -> None:
    calls: list[tuple[Any, ...]] = []

    def g0() -> bool:
        calls.append(("g0",))
        return True

    def g1(context: Any) -> bool:
        calls.append(("g1", context))
        return True

    def g2(context: Any, event: Any) -> bool:
        calls.append(("g2", context, event))
        return True

    def g3(context: Any, event: Any, guard: Any) -> bool:
        calls.append(("g3", context, event, guard))
        return True

    def a0() -> None:
        calls.append(("a0",))

    def a1(context: Any) -> None:
        calls.append(("a1", context))

    def a2(context: Any, event: Any) -> None:
        calls.append(("a2", context, event))

    def a3(context: Any, event: Any, action: Any) -> None:
        calls.append(("a3", context, event, action))

    def a4(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        calls.append(("a4", interpreter, context, event, action))

    guards = {"g0": g0, "g1": g1, "g2": g2, "g3": g3}
    actions = {"a0": a0, "a1": a1, "a2": a2, "a3": a3, "a4": a4}
    for g in guards:
        for a in actions:
            calls.clear()
            on = {
                "guard": {"type": g, "limit": 3},
                "actions": {"type": a, "step": 2},
            }
            session = _chart(shape, on, guards=guards, actions={**actions, "on_error": a0}).start()
            session.send("go", k=1)
            calls.clear()  # (the engine plans an event on its first delivery: look at the next)
            session.send("go", k=1)
            (guard_call, action_call) = calls
            ctx = session.context
            views = [v for call in calls for v in call if isinstance(v, XEvent)]
            # one view per event: the guard's and the action's are the same object
            assert all(v is views[0] for v in views)
            view = views[0] if views else None
            if view is not None:
                assert (view.type, view.data) == ("go", {"k": 1})
            assert (
                guard_call
                == {
                    "g0": ("g0",),
                    "g1": ("g1", ctx),
                    "g2": ("g2", ctx, view),
                    "g3": ("g3", ctx, view, guard_call[-1]),
                }[g]
            )
            if g == "g3":
                assert (guard_call[-1].type, dict(guard_call[-1].params)) == ("g3", {"limit": 3})
            assert (
                action_call
                == {
                    "a0": ("a0",),
                    "a1": ("a1", ctx),
                    "a2": ("a2", ctx, view),
                    "a3": ("a3", ctx, view, action_call[-1]),
                    "a4": ("a4", session, ctx, view, action_call[-1]),
                }[a]
            )
            if a in ("a3", "a4"):
                assert (action_call[-1].type, dict(action_call[-1].params)) == (a, {"step": 2})


@pytest.mark.parametrize("shape", SHAPES)
def test_a_guard_raising_is_error_execution_and_the_next_candidate_is_tried(shape: str) -> None:
    seen: list[Any] = []

    def bad(context: Any, event: Any) -> bool:
        raise ValueError(f"bad guard on {event.type}")

    def second(context: Any, event: Any, action: Any) -> None:
        context["n"] += 1

    def on_error(context: Any, event: Any) -> None:
        seen.append(event.error)

    chart = _chart(
        shape,
        [{"guard": "bad", "actions": "second"}, {"actions": "second"}],
        guards={"bad": bad},
        actions={"second": second, "on_error": on_error},
    )
    session = chart.start()
    session.send("go")
    session.send("go")
    assert session.context["n"] == 2  # the second candidate, every time
    assert [str(e) for e in seen] == ["bad guard on go"] * 2
    assert all(isinstance(e, ValueError) for e in seen)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_guard_raising_alone_leaves_the_event_unhandled_after_error_execution(
    shape: str,
) -> None:
    seen: list[Any] = []

    def bad(context: Any) -> bool:
        raise KeyError("missing")

    def count(context: Any) -> None:
        context["n"] += 1

    def on_error(context: Any, event: Any) -> None:
        seen.append(type(event.error))

    session = _chart(
        shape,
        {"guard": "bad", "actions": "count"},
        guards={"bad": bad},
        actions={"count": count, "on_error": on_error},
    ).start()
    session.send("go")
    session.send("go")
    assert session.context["n"] == 0
    assert (seen, session.active_leaves) == ([KeyError, KeyError], ("m.s",))


@pytest.mark.parametrize("shape", SHAPES)
def test_an_action_raising_is_error_execution_and_keeps_what_it_wrote(shape: str) -> None:
    seen: list[Any] = []

    def half(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        context["n"] += 1
        raise RuntimeError(f"{action.type} failed on {event.type}")

    def on_error(context: Any, event: Any) -> None:
        seen.append(str(event.error))

    session = _chart(
        shape, {"actions": "half"}, actions={"half": half, "on_error": on_error}
    ).start()
    session.send("go")
    session.send("go")
    assert session.context["n"] == 2
    assert seen == ["half failed on go"] * 2


@pytest.mark.parametrize("shape", SHAPES)
def test_an_async_action_is_awaited_and_its_failure_is_error_execution(shape: str) -> None:
    seen: list[str] = []

    async def bump(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        context["n"] += event.data.get("by", 1)
        if context["n"] > 2:
            raise ValueError("too far")

    def ok(context: Any, event: Any) -> bool:
        return True

    def on_error(context: Any, event: Any) -> None:
        seen.append(str(event.error))

    session = _chart(
        shape,
        {"guard": "ok", "actions": "bump"},
        guards={"ok": ok},
        actions={"bump": bump, "on_error": on_error},
    ).start()
    session.send("go", by=2)
    assert (session.context["n"], seen) == (2, [])
    session.send("go")
    assert (session.context["n"], seen) == (3, ["too far"])


@pytest.mark.parametrize("shape", SHAPES)
def test_an_actors_repeated_sends_give_the_action_a_fresh_view(shape: str) -> None:
    # the guard takes no event, so the view is first made for the action; what the action
    # writes into a payload-less delivery's data is not seen by the next delivery
    seen: list[dict[str, Any]] = []

    def ok(context: Any) -> bool:
        return True

    def mark(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        seen.append(dict(event.data))
        event.data["marked"] = context["n"]
        context["n"] += 1

    chart = _chart(
        shape,
        {"guard": "ok", "actions": "mark"},
        guards={"ok": ok},
        actions={"mark": mark, "on_error": ok},
    )

    async def main() -> None:
        async with ActorSystem() as system:
            ref = system.spawn(chart, id="a")
            for _ in range(3):
                ref.send_nowait("go")
            await ref.ask("go", k=1)

    anyio.run(main)
    assert seen == [{}, {}, {}, {"k": 1}]
